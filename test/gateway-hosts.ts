/**
 * Two ways to host an iterator app through spindle's gateway, as
 * `GatewayHost`s for the conformance suite and for the server tests:
 * - `memoryHost`: HTTPFactory + StringTransport + MemoryReactor (deterministic);
 * - `tcpHost`: HTTPFactory on a NodeReactor listening on 127.0.0.1:0, reached
 *   with node:net (the socket is the point).
 */
import net from 'node:net';
import { ConnectionDone } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { Logger, LogPublisher } from '../src/reactor/log.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import type { IListeningPort, IProtocol } from '../src/reactor/interfaces.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import { toCpsApp, type GatewayCpsApp, type GatewayOptions } from '../src/bridge/gateway.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import {
  parseResponse,
  rawRequest,
  type GatewayHost,
  type ParsedResponse,
  type SuiteRequest,
  type SuiteServer,
} from './gateway-suite.js';

/** A logger that keeps quiet (the suite provokes app failures on purpose). */
export const quietLogger = (): Logger => new Logger('test.gateway', new LogPublisher());

/** The bytes one GET gets from `app` on spindle's server (MemoryReactor: the same Date every time). */
export function oneGetWire(app: CpsApp): string {
  const reactor = new MemoryReactor();
  const transport = new StringTransport();
  const protocol = new HTTPFactory(app, { reactor, logger: quietLogger() }).buildProtocol(transport.getPeer())!;
  protocol.makeConnection(transport);
  protocol.dataReceived(Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n', 'latin1'));
  reactor.advance(0);
  return transport.valueString();
}

/** One connection on a memory server: feed bytes, turn the clock, read the answer. */
export class MemoryConnection {
  readonly transport: StringTransport;
  readonly protocol: IProtocol;
  constructor(
    readonly factory: HTTPFactory,
    readonly reactor: MemoryReactor,
    highWater?: number,
  ) {
    this.transport = new StringTransport(highWater === undefined ? {} : { highWater });
    this.protocol = factory.buildProtocol(this.transport.getPeer())!;
    this.protocol.makeConnection(this.transport);
  }
  send(data: Uint8Array | string): void {
    this.protocol.dataReceived(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }
  /** Turn the clock and let promises settle until `done()` or `turns` run out. */
  async settle(done: () => boolean = () => false, turns = 200): Promise<void> {
    for (let i = 0; i < turns && !done(); i++) {
      this.reactor.advance(0);
      await new Promise((r) => setImmediate(r));
    }
  }
  response(method = 'GET'): ParsedResponse | null {
    return parseResponse(this.transport.value(), method, this.transport.disconnecting);
  }
  close(): void {
    this.protocol.connectionLost(new Failure(new ConnectionDone()));
  }
}

export function memoryServer(app: IterApp, options: Omit<GatewayOptions, 'reactor'> = {}) {
  const reactor = new MemoryReactor();
  const cps: GatewayCpsApp = toCpsApp(app, { reactor, logger: quietLogger(), ...options });
  const factory = new HTTPFactory(cps, { reactor, logger: quietLogger() });
  return { reactor, cps, factory, connect: (highWater?: number) => new MemoryConnection(factory, reactor, highWater) };
}

export const memoryHost: GatewayHost = {
  async start(app) {
    const server = memoryServer(app);
    const open: MemoryConnection[] = [];
    return {
      async fetch(req: SuiteRequest) {
        const conn = server.connect();
        open.push(conn);
        conn.send(rawRequest(req));
        const method = req.method ?? 'GET';
        await conn.settle(() => conn.response(method) !== null || conn.transport.disconnecting);
        const r = conn.response(method);
        if (!r)
          throw new Error(`no complete response; got ${JSON.stringify(conn.transport.valueString().slice(0, 200))}`);
        return r;
      },
      async close() {
        for (const c of open) c.close();
      },
    };
  },
};

/** A spindle HTTP server on a real socket. */
export async function tcpServer(app: IterApp, options: Omit<GatewayOptions, 'reactor'> = {}) {
  const reactor = new NodeReactor();
  const cps = toCpsApp(app, { reactor, logger: quietLogger(), ...options });
  const factory = new HTTPFactory(cps, { reactor, logger: quietLogger() });
  const port: IListeningPort = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
  const sockets = new Set<net.Socket>();
  return {
    reactor,
    cps,
    factory,
    port: port.getHost().port,
    connect(): Promise<net.Socket> {
      return new Promise((resolve, reject) => {
        const s = net.connect(port.getHost().port, '127.0.0.1', () => resolve(s));
        sockets.add(s);
        s.on('error', reject);
        s.on('close', () => sockets.delete(s));
      });
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await port.stopListening();
    },
  };
}

/** Read responses from `socket` until `count` parsed or the socket ends. */
export function readResponses(socket: net.Socket, count: number, method = 'GET'): Promise<ParsedResponse[]> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const out: ParsedResponse[] = [];
    const tryParse = (eof: boolean) => {
      for (;;) {
        if (out.length === count) break;
        const r = parseResponse(buf, method, eof);
        if (!r) break;
        out.push(r);
        buf = buf.subarray(r.consumed);
        if (eof && buf.length === 0) break;
      }
      if (out.length === count || eof) {
        socket.off('data', onData);
        resolve(out);
      }
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    };
    socket.on('data', onData);
    socket.once('close', () => tryParse(true));
  });
}

/** Send one suite request on a fresh socket, read its one response, and close the socket. */
export async function exchange(socket: net.Socket, req: SuiteRequest): Promise<ParsedResponse> {
  socket.write(rawRequest(req));
  const [r] = await readResponses(socket, 1, req.method ?? 'GET');
  socket.destroy();
  if (!r) throw new Error('no response');
  return r;
}

/** `app` behind spindle's gateway and HTTP server on a real socket, as a suite server (one connection per request). */
export async function tcpSuiteServer(app: IterApp): Promise<SuiteServer> {
  const server = await tcpServer(app);
  return {
    fetch: async (req: SuiteRequest) => exchange(await server.connect(), req),
    close: () => server.close(),
  };
}

export const tcpHost: GatewayHost = {
  start: (app) => tcpSuiteServer(app),
};
