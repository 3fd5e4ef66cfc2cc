/**
 * WebSocket through reverseProxy on real sockets (127.0.0.1, port 0), with TLS
 * on neither hop, the client's (wss:// to a listenTLS proxy), the upstream's
 * (a wss/https upstream reached by an Agent with `tls`) or both: the `ws`
 * package's client and spindle's connectWebSocket talk through the proxy to
 * spindle's own WebSocket server and to a `ws` server. Text, binary and large
 * messages both ways, close codes from either side, a non-101 answer relayed,
 * either side vanishing closes the other. A raw protocol switch shows a FIN
 * passing as a half-close and a reset as a reset, and a client that stops
 * reading pausing the upstream (the upstream's producer is paused; it produced
 * a bounded amount, and no byte reached the tunnel after a pause).
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { Failure } from '../src/reactor/failure.js';
import { ConnectionDone, ConnectionLost } from '../src/reactor/errors.js';
import { Protocol } from '../src/protocols/protocol.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { reverseProxy } from '../src/protocols/http/client/proxy.js';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { acceptWebSocket } from '../src/protocols/websocket/accept.js';
import type { WebSocketClosedError } from '../src/protocols/websocket/errors.js';
import type { WebSocketMessage } from '../src/protocols/websocket/interfaces.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import { connectWebSocket } from '../src/protocols/websocket/client.js';
import { Flood } from './http-proxy-helpers.js';
import { CA, clientTLS, serverTLS } from './tls-fixtures.js';
import { expectEchoes, openWsClient, settled } from './ws-client-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** What the upstream saw end: the close code, or 1006 for a connection that just went. */
let upstreamClosed: (code: number) => void = () => {};
const nextUpstreamClose = () => new Promise<number>((r) => (upstreamClosed = r));

class Echo extends WebSocketProtocol {
  static last: Echo | null = null;
  override connectionMade(): void {
    Echo.last = this;
  }
  override messageReceived(data: WebSocketMessage): void {
    if (data === 'close please') return this.close(4002, 'server says bye');
    this.sendMessage(data);
  }
  override connectionLost(reason: Failure): void {
    upstreamClosed((reason.value as WebSocketClosedError).closeCode ?? 1006);
  }
}

const spindleUpstream: CpsApp = (request) => {
  if (request.path === '/ws') acceptWebSocket(request, new Echo());
  else {
    request.setResponseCode(404, 'Not Found');
    request.write('no socket here\n');
    request.finish();
  }
};

async function reactorRunning(): Promise<NodeReactor> {
  const reactor = new NodeReactor();
  reactor.run();
  cleanups.push(() => (reactor.running ? reactor.stop() : undefined));
  return reactor;
}

/**
 * Where TLS is: between the client and the proxy (`front`: a wss:// client, the proxy on
 * listenTLS), between the proxy and the upstream (`back`: a wss/https upstream, the proxy's Agent
 * with `tls`), both, or neither. The certificates are the committed test ones (for localhost).
 */
interface Layout {
  name: string;
  front: boolean;
  back: boolean;
}
const PLAIN: Layout = { name: 'ws:// both hops', front: false, back: false };
const FRONT: Layout = { name: 'wss:// to the proxy, ws:// upstream', front: true, back: false };
const BACK: Layout = { name: 'ws:// to the proxy, wss:// upstream', front: false, back: true };
const BOTH: Layout = { name: 'wss:// both hops', front: true, back: true };
const LAYOUTS = [PLAIN, FRONT, BACK, BOTH];

/** Listen with `app` on 127.0.0.1, TLS or not; the base URL (localhost for TLS, the certificate's name). */
async function listen(reactor: NodeReactor, factory: HTTPFactory, tls: boolean): Promise<string> {
  const port = tls
    ? await reactor.listenTLS(0, factory, { ...serverTLS, host: '127.0.0.1' })
    : await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${port.getHost().port}`;
}

/** The upstream (spindle's server, or a `ws` server that echoes the same way) and the proxy in front of it. */
async function world(kind: 'spindle' | 'ws', layout: Layout = PLAIN) {
  const reactor = await reactorRunning();
  let upstream: string;
  let terminateUpstream: () => void;
  if (kind === 'spindle') {
    upstream = await listen(reactor, new HTTPFactory(spindleUpstream, { reactor }), layout.back);
    terminateUpstream = () => Echo.last!.transport.abortConnection();
  } else {
    const server = layout.back ? https.createServer(serverTLS) : http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const wss = new WebSocketServer({ server, path: '/ws' });
    let last: WebSocket | null = null;
    wss.on('connection', (sock) => {
      last = sock;
      sock.on('message', (data, isBinary) => {
        if (!isBinary && data.toString() === 'close please') return sock.close(4002, 'server says bye');
        sock.send(data, { binary: isBinary });
      });
      sock.on('close', (code) => upstreamClosed(code));
    });
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          wss.clients.forEach((c) => c.terminate());
          wss.close();
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const port = (server.address() as AddressInfo).port;
    upstream = layout.back ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
    terminateUpstream = () => last!.terminate();
  }
  const pool = new HTTPConnectionPool(reactor);
  const agent = new Agent(reactor, { pool, ...(layout.back ? { tls: clientTLS } : {}) });
  const front = await listen(reactor, new HTTPFactory(reverseProxy(upstream, { agent }), { reactor }), layout.front);
  cleanups.push(() => pool.closeCachedConnections());
  return { reactor, pool, url: front.replace(/^http/, 'ws'), terminateUpstream };
}

/** A `ws` client through the proxy (trusting the test CA); an error before opening is the test's to see through `opened`. */
function open(url: string) {
  const c = openWsClient(url, cleanups, { ca: CA });
  c.ws.on('error', () => {});
  return c;
}

describe.each(
  LAYOUTS.flatMap((layout) => (['spindle', 'ws'] as const).map((kind) => ({ layout, kind, name: layout.name }))),
)('ws client → reverseProxy → $kind WebSocket server, $name', ({ kind, layout }) => {
  it('text and binary both ways, a large message whole; the client’s close code reaches the server', async () => {
    const { url, reactor } = await world(kind, layout);
    const c = open(`${url}/ws`);
    await c.opened;
    await expectEchoes(c, 4 * 1024 * 1024);
    const serverSaw = nextUpstreamClose();
    c.ws.close(4001, 'client bye');
    expect((await c.closed).code).toBe(4001);
    expect(await serverSaw).toBe(4001);
    await settled(reactor);
  });

  it('the server’s close code and reason reach the client', async () => {
    const { url, reactor } = await world(kind, layout);
    const c = open(`${url}/ws`);
    await c.opened;
    c.ws.send('close please');
    expect(await c.closed).toEqual({ code: 4002, reason: 'server says bye' });
    await settled(reactor);
  });

  it('a client that vanishes closes the upstream connection (the server sees it)', async () => {
    const { url, reactor } = await world(kind, layout);
    const c = open(`${url}/ws`);
    await c.opened;
    const serverSaw = nextUpstreamClose();
    c.ws.terminate();
    expect(await serverSaw).toBe(1006);
    await settled(reactor);
  });

  it('an upstream that vanishes closes the client connection', async () => {
    const { url, reactor, terminateUpstream } = await world(kind, layout);
    const c = open(`${url}/ws`);
    await c.opened;
    terminateUpstream();
    expect((await c.closed).code).toBe(1006);
    await settled(reactor);
  });

  it('a non-101 answer is relayed as it is', async () => {
    const { url, reactor, pool } = await world(kind, layout);
    const ws = new WebSocket(`${url}/elsewhere`, { ca: CA });
    ws.on('error', () => {});
    cleanups.push(() => ws.terminate());
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), res.resume()));
      ws.once('open', () => reject(new Error('opened')));
    });
    expect(status).toBe(kind === 'spindle' ? 404 : 400);
    ws.terminate();
    // spindle's upstream kept its connection alive: after a non-101 answer it is an ordinary pooled one.
    await pool.closeCachedConnections();
    await settled(reactor);
  });
});

describe('spindle\u2019s own WebSocket client (connectWebSocket) through reverseProxy', () => {
  it.each(
    LAYOUTS.flatMap((layout) => (['spindle', 'ws'] as const).map((kind) => ({ layout, kind, name: layout.name }))),
  )(
    'to a $kind server, $name: text and binary echo, then its close code reaches the server',
    async ({ kind, layout }) => {
      const { url, reactor } = await world(kind, layout);
      const got: WebSocketMessage[] = [];
      let gotMessage: () => void = () => {};
      let lost: (code: number | null) => void = () => {};
      const closed = new Promise<number | null>((r) => (lost = r));
      const client = new (class extends WebSocketProtocol {
        override messageReceived(data: WebSocketMessage): void {
          got.push(data);
          gotMessage();
        }
        override connectionLost(reason: Failure): void {
          lost((reason.value as WebSocketClosedError).closeCode);
        }
      })();
      await connectWebSocket(reactor, `${url}/ws`, client, { tls: clientTLS });
      const two = new Promise<void>((r) => (gotMessage = () => got.length === 2 && r()));
      client.sendMessage('über');
      client.sendMessage(new Uint8Array([9, 8, 7]));
      await two;
      expect(got[0]).toBe('über');
      expect(Buffer.from(got[1] as Uint8Array)).toEqual(Buffer.from([9, 8, 7]));
      const serverSaw = nextUpstreamClose();
      client.close(4003, 'spindle bye');
      expect(await serverSaw).toBe(4003);
      expect(await closed).toBe(4003);
      await settled(reactor);
    },
  );
});

/**
 * A raw protocol switch through the proxy: the upstream (spindle's server) answers 101 and hands
 * its connection to `protocol()`; the client is a raw Node socket (TLS when `layout.front`) that
 * half-closes, resets or stops reading as the test says.
 */
async function rawWorld(layout: Layout, protocol: () => Protocol) {
  const reactor = await reactorRunning();
  const upstreamApp: CpsApp = (req) => {
    req.setHeader('Upgrade', 'raw');
    req.setHeader('Connection', 'Upgrade');
    req.upgrade!(protocol());
  };
  const upstream = await listen(reactor, new HTTPFactory(upstreamApp, { reactor }), layout.back);
  const agent = new Agent(reactor, {
    pool: new HTTPConnectionPool(reactor),
    ...(layout.back ? { tls: clientTLS } : {}),
  });
  // maxBuffered 1: on real sockets (TLS too) no byte reaches a side after its pause, so even a
  // one-byte bound never aborts the tunnel; a byte that did would show as a reset here.
  const proxy = reverseProxy(upstream, { agent, maxBuffered: 1 });
  const front = new URL(await listen(reactor, new HTTPFactory(proxy, { reactor }), layout.front));
  /** Connect, send the Upgrade request; `head` resolves with the 101's head, `onData` gets the tunnel's bytes. */
  function connect(onData: (d: Buffer) => void = () => {}) {
    const raw = net.connect({ host: '127.0.0.1', port: Number(front.port), allowHalfOpen: true });
    // A TLS socket cannot be reset itself: a reset goes through the TCP socket under it (`raw`),
    // whose allowHalfOpen it takes.
    const sock = layout.front ? tls.connect({ socket: raw, servername: 'localhost', ca: CA }) : raw;
    raw.on('error', () => {});
    sock.on('error', () => {});
    cleanups.push(() => sock.destroy());
    let pending: Buffer | null = Buffer.alloc(0);
    const head = new Promise<string>((resolve) => {
      sock.on('data', (d: Buffer) => {
        if (pending === null) return onData(d);
        pending = Buffer.concat([pending, d]);
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const rest = pending.subarray(end + 4);
        resolve(pending.subarray(0, end).toString('latin1'));
        pending = null;
        if (rest.length > 0) onData(rest);
      });
    });
    sock.write('GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n');
    return { sock, raw, head };
  }
  return { reactor, connect };
}

/** An upgraded upstream connection that echoes, says `bye` and closes once its peer half-closes, and records how it ended. */
class HalfCloseEcho extends Protocol {
  static last: HalfCloseEcho | null = null;
  readonly lost: Promise<Failure>;
  private onLost: (f: Failure) => void = () => {};
  constructor() {
    super();
    HalfCloseEcho.last = this;
    this.lost = new Promise((r) => (this.onLost = r));
  }
  override dataReceived(d: Uint8Array) {
    this.transport.write(d);
  }
  readConnectionLost() {
    this.transport.write(Buffer.from('bye'));
    this.transport.loseConnection();
  }
  override connectionLost(reason: Failure) {
    this.onLost(reason);
  }
}

describe.each(LAYOUTS)('real sockets, a raw protocol switch, $name', (layout) => {
  it('a FIN passes as a half-close both ways: the upstream still answers after the client’s FIN, then its close ends the client’s read side', async () => {
    const { reactor, connect } = await rawWorld(layout, () => new HalfCloseEcho());
    let got = '';
    let echoed: () => void = () => {};
    const { sock, head } = connect((d) => ((got += d.toString('latin1')), got === 'ping' && echoed()));
    const ended = new Promise<void>((r) => sock.once('end', () => r()));
    expect(await head).toMatch(/^HTTP\/1\.1 101 /);
    sock.write('ping');
    await new Promise<void>((r) => (echoed = r));
    sock.end();
    await ended;
    expect(got).toBe('pingbye');
    expect((await HalfCloseEcho.last!.lost).check(ConnectionDone)).toBeTruthy();
    await settled(reactor);
  });

  it('an abort passes as an abort both ways: a client reset reaches the upstream unclean, an upstream abort resets the client', async () => {
    const { reactor, connect } = await rawWorld(layout, () => new HalfCloseEcho());
    const first = connect();
    expect(await first.head).toMatch(/^HTTP\/1\.1 101 /);
    const upstreamOfFirst = HalfCloseEcho.last!;
    first.raw.resetAndDestroy();
    const reason = await upstreamOfFirst.lost;
    expect(reason.check(ConnectionDone)).toBeNull();
    expect(reason.check(ConnectionLost)).toBeTruthy();

    const second = connect();
    const error = new Promise<NodeJS.ErrnoException>((r) => second.sock.once('error', r));
    expect(await second.head).toMatch(/^HTTP\/1\.1 101 /);
    HalfCloseEcho.last!.transport.abortConnection();
    expect((await error).code).toBe('ECONNRESET');
    await settled(reactor);
  });

  it('a client that stops reading pauses the upstream’s producer by its socket, after a bounded amount; reading again drains it all', async () => {
    const total = 64 * 1024 * 1024;
    let flood: Flood | null = null;
    const { reactor, connect } = await rawWorld(
      layout,
      () =>
        new (class extends Protocol {
          override connectionMade() {
            // Done, it unregisters, so the connection can close when the client leaves.
            flood = new Flood(
              (d) => this.transport.write(d),
              total,
              64 * 1024,
              () => this.transport.unregisterProducer(),
            );
            this.transport.registerProducer(flood, true);
            flood.run();
          }
        })(),
    );
    let received = 0;
    let allIn: () => void = () => {};
    const { sock, head } = connect((d) => {
      received += d.length;
      if (received === total) allIn();
    });
    expect(await head).toMatch(/^HTTP\/1\.1 101 /);
    sock.pause();
    // Two producers are paused by full transports at once: the upstream's flood (its socket is full
    // because the proxy stopped reading it) and the tunnel side registered on the proxy's
    // client-facing transport (the client stopped reading). Waited for by reactor turns, not time.
    while (reactor.stats.pausedProducers < 2) await new Promise((r) => setImmediate(r));
    expect(flood!.paused).toBe(true);
    // Everything produced sits in socket buffers (the kernel's and the transports' 64 KiB): far from all of it.
    expect(flood!.produced).toBeLessThan(total / 2);
    const done = new Promise<void>((r) => (allIn = r));
    sock.resume();
    await done;
    expect(received).toBe(total);
    sock.end();
    await settled(reactor);
  });
});
