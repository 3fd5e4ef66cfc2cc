/**
 * A reverse proxy world in memory: a raw client ⇄ (loopback) ⇄ spindle's server
 * running `reverseProxy` ⇄ (loopback, through the proxy's Agent) ⇄ an upstream
 * (spindle's server with an app, or a raw protocol). Three MemoryReactors; no
 * real time and no sockets.
 */
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { reverseProxy, type ReverseProxyOptions } from '../src/protocols/http/client/proxy.js';
import { Protocol } from '../src/protocols/protocol.js';
import { Failure } from '../src/reactor/failure.js';
import { ConnectionRefusedError } from '../src/reactor/errors.js';
import type { IProtocol, IPushProducer } from '../src/reactor/interfaces.js';
import { loopback, type LoopbackPump } from '../src/reactor/loopback.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';

/** A client that sends raw bytes and counts/keeps what comes back; it can stop reading. */
export class RawClient extends Protocol {
  received = 0;
  text = '';
  keep = true;
  lost: Failure | null = null;
  override dataReceived(d: Uint8Array) {
    this.received += d.length;
    if (this.keep) this.text += Buffer.from(d).toString('latin1');
  }
  override connectionLost(reason: Failure) {
    this.lost = reason;
  }
  send(s: string | Uint8Array) {
    this.transport.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }
}

/** A push producer writing `total` bytes in `chunk`-sized pieces to `write` while not paused. */
export class Flood implements IPushProducer {
  produced = 0;
  paused = false;
  stopped = false;
  maxInFlightSeen = 0;
  constructor(
    private readonly write: (d: Uint8Array) => void,
    private readonly total: number,
    private readonly chunk = 16 * 1024,
    private readonly onDone: () => void = () => {},
  ) {}
  pauseProducing() {
    this.paused = true;
  }
  resumeProducing() {
    this.paused = false;
    this.run();
  }
  stopProducing() {
    this.stopped = true;
  }
  run() {
    const piece = Buffer.alloc(this.chunk, 0x61);
    while (!this.paused && !this.stopped && this.produced < this.total) {
      const n = Math.min(this.chunk, this.total - this.produced);
      this.produced += n;
      this.write(n === this.chunk ? piece : piece.subarray(0, n));
    }
    if (this.produced === this.total && !this.stopped) {
      this.stopped = true;
      this.onDone();
    }
  }
}

/**
 * `front` builds the app the client talks to from the proxy's reactor (default:
 * `reverseProxy('http://upstream.test:8080', options)`); its outgoing
 * connections reach `upstream`.
 */
export function proxyWorld(
  upstream: CpsApp | (() => IProtocol),
  options: ReverseProxyOptions = {},
  bufferLimit = 64 * 1024,
  front?: (reactor: MemoryReactor) => CpsApp,
) {
  const proxyReactor = new MemoryReactor();
  const upstreamReactor = new MemoryReactor();
  const rawUpstream = upstream.length === 0 ? (upstream as () => IProtocol) : null;
  const upstreamFactory = rawUpstream ? null : new HTTPFactory(upstream as CpsApp, { reactor: upstreamReactor });
  const proxyFactory = new HTTPFactory(
    front ? front(proxyReactor) : reverseProxy('http://upstream.test:8080', options),
    { reactor: proxyReactor },
  );
  const upstreamPumps: LoopbackPump[] = [];
  const upstreamProtocols: IProtocol[] = [];
  const clientPumps: LoopbackPump[] = [];
  let connected = 0;
  /** Connections the proxy may not make (the upstream is down): refuse them. */
  let refuse = false;
  function settle(): void {
    for (let i = 0; i < 100_000; i++) {
      let moved = false;
      while (connected < proxyReactor.tcpClients.length) {
        const c = proxyReactor.tcpClients[connected++]!;
        if (c.connector.state !== 'connecting') continue;
        if (refuse) {
          c.factory.clientConnectionFailed(c.connector, new Failure(new ConnectionRefusedError(c.host, c.port)));
          moved = true;
          continue;
        }
        const client = c.factory.buildProtocol({ host: c.host, port: c.port })!;
        const server = rawUpstream
          ? rawUpstream()
          : upstreamFactory!.buildProtocol({ host: '10.0.0.2', port: 50000 + connected })!;
        upstreamProtocols.push(server);
        upstreamPumps.push(loopback(client, server, { bufferLimit }));
        moved = true;
      }
      for (const p of [...clientPumps, ...upstreamPumps]) if (p.pump()) moved = true;
      proxyReactor.advance(0);
      upstreamReactor.advance(0);
      if (!moved) return;
    }
    throw new Error('settle(): still moving');
  }
  function client(): RawClient {
    const c = new RawClient();
    const server = proxyFactory.buildProtocol({ host: '198.51.100.7', port: 6000 + clientPumps.length })!;
    clientPumps.push(
      loopback(c, server, {
        bufferLimit,
        aAddress: { host: '198.51.100.7', port: 6000 },
        bAddress: { host: '10.0.0.1', port: 80 },
      }),
    );
    return c;
  }
  return {
    proxyReactor,
    upstreamReactor,
    upstreamPumps,
    upstreamProtocols,
    clientPumps,
    settle,
    client,
    refuseConnections: () => void (refuse = true),
  };
}

/** Write `body` to `out` in 64 KiB pieces as fast as it takes them (waiting for 'drain'), then end it. */
export function writeAllThenEnd(
  out: { write(b: Uint8Array): boolean; end(): unknown; once(e: 'drain', f: () => void): unknown; destroyed: boolean },
  body: Uint8Array,
): void {
  let off = 0;
  const more = (): void => {
    while (off < body.length && !out.destroyed) {
      const ok = out.write(body.subarray(off, off + 64 * 1024));
      off += 64 * 1024;
      if (!ok) return void out.once('drain', more);
    }
    out.end();
  };
  more();
}
