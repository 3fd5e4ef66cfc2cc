/**
 * Interop on real sockets: the `ws` package's client against the same echo
 * written as a CPS WebSocketProtocol and as an iterator app, each hosted
 * natively, bridged into the other style (toIterApp / toCpsApp), and on
 * node:http (toNodeListener's upgrade), on 127.0.0.1 port 0. Text, binary, a
 * 16 MiB message, pings, close from either side, a client vanishing
 * mid-message; the reactor's counters back to zero afterwards.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { expectEchoes, openWsClient, settled } from './ws-client-helpers.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { Failure } from '../src/reactor/failure.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { acceptWebSocket } from '../src/protocols/websocket/accept.js';
import type { WebSocketClosedError } from '../src/protocols/websocket/errors.js';
import type { WebSocketMessage } from '../src/protocols/websocket/interfaces.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toCpsApp } from '../src/bridge/gateway.js';
import type { Chunk, Environ } from '../src/bridge/interfaces.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { toNodeListener } from '../src/bridge/nodehttp.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

class Echo extends WebSocketProtocol {
  static lost: WebSocketClosedError[] = [];
  static pongs: string[] = [];
  static last: Echo | null = null;
  override connectionMade(): void {
    Echo.last = this;
  }
  override messageReceived(data: WebSocketMessage): void {
    if (data === 'close please') return this.close(4002, 'server says bye');
    if (data === 'ping me') return this.ping('srv');
    this.sendMessage(data);
  }
  override pongReceived(payload: Uint8Array): void {
    Echo.pongs.push(Buffer.from(payload).toString());
    this.sendMessage('got pong');
  }
  override connectionLost(reason: Failure): void {
    Echo.lost.push(reason.value as WebSocketClosedError);
  }
}

/** The same echo as an iterator app; its endings are recorded as Echo.lost too. */
function* iterEcho(environ: Environ): Generator<Chunk> {
  const input = environ['spindle.websocket']!.accept()!;
  let resume: (() => void) | null = null;
  environ['wsgi.input_handler']!(input, () => resume?.());
  try {
    for (;;) {
      const m = input.receive();
      if (m === 'close please') input.close(4002, 'server says bye');
      else if (m !== null) yield m;
      else if (input.closed) return;
      else {
        resume = environ['wsgi.pause_output']!();
        yield '';
      }
    }
  } finally {
    Echo.lost.push({
      closeCode: input.closeCode,
      closeReason: input.closeReason,
      wasClean: input.closeCode !== 1006,
    } as WebSocketClosedError);
  }
}

const cpsEcho: CpsApp = (request: IRequest) => {
  if (request.path === '/ws') acceptWebSocket(request, new Echo());
  else {
    request.write('plain http');
    request.finish();
  }
};

/** Each way the echo is hosted: the app as written, and what spindle's server (or node:http) runs. */
const HOSTS = {
  cps: { written: 'cps', server: 'spindle', app: () => cpsEcho },
  iter: { written: 'iter', server: 'spindle', app: () => toCpsApp(iterEcho) },
  'cps bridged by toIterApp': { written: 'cps', server: 'spindle', app: () => toCpsApp(toIterApp(cpsEcho)) },
  'iter bridged by toCpsApp then toIterApp': {
    written: 'iter',
    server: 'spindle',
    app: () => toCpsApp(toIterApp(toCpsApp(iterEcho))),
  },
  'cps on node:http': { written: 'cps', server: 'node', app: () => cpsEcho },
  'iter on node:http': { written: 'iter', server: 'node', app: () => iterEcho },
} as const;
type HostName = keyof typeof HOSTS;
let hostName: HostName = 'cps';

async function serve() {
  const reactor = new NodeReactor();
  reactor.run();
  cleanups.push(() => (reactor.running ? reactor.stop() : undefined));
  Echo.lost = [];
  Echo.pongs = [];
  const host = HOSTS[hostName];
  if (host.server === 'node') {
    const listener = toNodeListener(host.app() as CpsApp, { reactor, style: host.written });
    const server = http.createServer(listener);
    server.on('upgrade', listener.upgrade);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    return { reactor, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws` };
  }
  const port = await reactor.listenTCP(0, new HTTPFactory(host.app() as CpsApp, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return { reactor, url: `ws://127.0.0.1:${port.getHost().port}/ws` };
}

describe.each(Object.keys(HOSTS) as HostName[])('ws client ↔ echo: %s', (name) => {
  const which = HOSTS[name].written;
  beforeEach(() => {
    hostName = name;
  });

  it('echoes text and binary, keeps their kinds, and echoes a 16 MiB message whole', async () => {
    const { url } = await serve();
    const c = openWsClient(url, cleanups);
    await c.opened;
    await expectEchoes(c, 16 * 1024 * 1024);
    c.ws.close();
    await c.closed;
  });

  it('answers the client’s pings, and (CPS) hears the client’s pong to its own', async () => {
    const { url } = await serve();
    const c = openWsClient(url, cleanups);
    await c.opened;
    const pong = new Promise<string>((r) => c.ws.once('pong', (d) => r(d.toString())));
    c.ws.ping('cli');
    expect(await pong).toBe('cli');
    if (which === 'iter' || name.includes('bridged')) return;
    c.ws.send('ping me');
    expect(await c.next()).toEqual(['got pong']);
    expect(Echo.pongs).toEqual(['srv']);
    c.ws.close();
    await c.closed;
  });

  it('the client closes: the server hears a clean close with the client’s code and reason', async () => {
    const { url, reactor } = await serve();
    const c = openWsClient(url, cleanups);
    await c.opened;
    c.ws.close(4001, 'client bye');
    expect(await c.closed).toEqual({ code: 4001, reason: '' });
    await settled(reactor);
    expect(Echo.lost).toHaveLength(1);
    expect(Echo.lost[0]).toMatchObject({ closeCode: 4001, closeReason: 'client bye', wasClean: true });
  });

  it('the server closes: the client sees its code and reason, and the server a clean close', async () => {
    const { url, reactor } = await serve();
    const c = openWsClient(url, cleanups);
    await c.opened;
    c.ws.send('close please');
    expect(await c.closed).toEqual({ code: 4002, reason: 'server says bye' });
    await settled(reactor);
    expect(Echo.lost[0]).toMatchObject({ closeCode: 4002, wasClean: true });
    expect(reactor.stats).toMatchObject({ openConnections: 0, pausedProducers: 0 });
  });

  it('a WebSocket request the app does not take is answered as an ordinary request', async () => {
    if (which !== 'cps' || name.includes('bridged')) return; // only the CPS echo answers other paths over HTTP
    const { url } = await serve();
    const ws = new WebSocket(url.replace('/ws', '/plain'));
    ws.on('error', () => undefined); // terminate() before an open is reported as an error
    cleanups.push(() => ws.terminate());
    const answer = await new Promise<{ status: number; body: string }>((resolve) =>
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }),
    );
    expect(answer).toEqual({ status: 200, body: 'plain http' });
  });

  it('reactor shutdown closes open WebSockets with 1001 and waits for the closing handshake', async () => {
    const { url, reactor } = await serve();
    const c = openWsClient(url, cleanups);
    await c.opened;
    c.ws.send('still here');
    await c.next();
    await reactor.stop();
    expect(await c.closed).toEqual({ code: 1001, reason: 'going away' });
    expect(Echo.lost[0]).toMatchObject({ closeCode: 1001, wasClean: true });
  });

  it('a client that vanishes mid-message is a 1006 close and frees the connection', async () => {
    const { url, reactor } = await serve();
    const c = openWsClient(url, cleanups);
    await c.opened;
    // Half a frame, then the socket is destroyed.
    (c.ws as unknown as { _socket: import('node:net').Socket })._socket.write(
      Buffer.from([0x82, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 5]),
    );
    c.ws.terminate();
    await settled(reactor);
    expect(Echo.lost[0]).toMatchObject({ closeCode: 1006, wasClean: false });
  });
});
