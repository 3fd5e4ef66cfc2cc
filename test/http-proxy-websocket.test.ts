/**
 * WebSocket through reverseProxy on real sockets (127.0.0.1, port 0): the `ws`
 * package's client talks through the proxy to spindle's own WebSocket server
 * and to a `ws` server. Text and binary both ways, close codes from either
 * side, a non-101 answer relayed, either side vanishing closes the other, and
 * a client that stops reading pauses the upstream (the upstream's producer is
 * paused; it produced a bounded amount).
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { Failure } from '../src/reactor/failure.js';
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

/** The upstream (spindle's server, or a `ws` server that echoes the same way) and the proxy in front of it. */
async function world(kind: 'spindle' | 'ws') {
  const reactor = await reactorRunning();
  let upstream: string;
  let terminateUpstream: () => void;
  if (kind === 'spindle') {
    const port = await reactor.listenTCP(0, new HTTPFactory(spindleUpstream, { reactor }), { host: '127.0.0.1' });
    cleanups.push(() => port.stopListening());
    upstream = `http://127.0.0.1:${port.getHost().port}`;
    terminateUpstream = () => Echo.last!.transport.abortConnection();
  } else {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    let last: WebSocket | null = null;
    wss.on('connection', (sock) => {
      last = sock;
      sock.on('message', (data, isBinary) => {
        if (!isBinary && data.toString() === 'close please') return sock.close(4002, 'server says bye');
        sock.send(data, { binary: isBinary });
      });
      sock.on('close', (code) => upstreamClosed(code));
    });
    cleanups.push(() => new Promise<void>((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => r()))));
    upstream = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    terminateUpstream = () => last!.terminate();
  }
  const pool = new HTTPConnectionPool(reactor);
  const app = reverseProxy(upstream, { agent: new Agent(reactor, { pool }) });
  const proxy = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => proxy.stopListening());
  cleanups.push(() => pool.closeCachedConnections());
  return { reactor, pool, url: `ws://127.0.0.1:${proxy.getHost().port}`, terminateUpstream };
}

/** A `ws` client through the proxy; an error before opening is the test's to see through `opened`. */
function open(url: string) {
  const c = openWsClient(url, cleanups);
  c.ws.on('error', () => {});
  return c;
}

describe.each(['spindle', 'ws'] as const)('ws client → reverseProxy → %s WebSocket server', (kind) => {
  it('text and binary both ways, a large message whole; the client’s close code reaches the server', async () => {
    const { url, reactor } = await world(kind);
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
    const { url, reactor } = await world(kind);
    const c = open(`${url}/ws`);
    await c.opened;
    c.ws.send('close please');
    expect(await c.closed).toEqual({ code: 4002, reason: 'server says bye' });
    await settled(reactor);
  });

  it('a client that vanishes closes the upstream connection (the server sees it)', async () => {
    const { url, reactor } = await world(kind);
    const c = open(`${url}/ws`);
    await c.opened;
    const serverSaw = nextUpstreamClose();
    c.ws.terminate();
    expect(await serverSaw).toBe(1006);
    await settled(reactor);
  });

  it('an upstream that vanishes closes the client connection', async () => {
    const { url, reactor, terminateUpstream } = await world(kind);
    const c = open(`${url}/ws`);
    await c.opened;
    terminateUpstream();
    expect((await c.closed).code).toBe(1006);
    await settled(reactor);
  });

  it('a non-101 answer is relayed as it is', async () => {
    const { url, reactor, pool } = await world(kind);
    const ws = new WebSocket(`${url}/elsewhere`);
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
  it.each(['spindle', 'ws'] as const)(
    'to a %s server: text and binary echo, then its close code reaches the server',
    async (kind) => {
      const { url, reactor } = await world(kind);
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
      await connectWebSocket(reactor, `${url}/ws`, client);
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

describe('real sockets: a client that stops reading pauses the upstream', () => {
  it('the upstream’s producer is paused by its socket and has produced a bounded amount; reading again drains it all', async () => {
    const reactor = await reactorRunning();
    const total = 64 * 1024 * 1024;
    let flood: Flood | null = null;
    const upstreamApp: CpsApp = (req) => {
      req.setHeader('Upgrade', 'flood');
      req.setHeader('Connection', 'Upgrade');
      req.upgrade!(
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
    };
    const up = await reactor.listenTCP(0, new HTTPFactory(upstreamApp, { reactor }), { host: '127.0.0.1' });
    cleanups.push(() => up.stopListening());
    const proxy = await reactor.listenTCP(
      0,
      new HTTPFactory(reverseProxy(`http://127.0.0.1:${up.getHost().port}`), { reactor }),
      { host: '127.0.0.1' },
    );
    cleanups.push(() => proxy.stopListening());
    const sock = net.connect(proxy.getHost().port, '127.0.0.1');
    cleanups.push(() => sock.destroy());
    let received = 0;
    let head = '';
    const allIn = new Promise<void>((resolve) => {
      sock.on('data', (d: Buffer) => {
        if (head === '') {
          const end = d.indexOf('\r\n\r\n');
          head = d.subarray(0, end).toString('latin1');
          d = d.subarray(end + 4);
          sock.pause();
        }
        received += d.length;
        if (received === total) resolve();
      });
    });
    sock.write('GET /f HTTP/1.1\r\nHost: x\r\nUpgrade: flood\r\nConnection: Upgrade\r\n\r\n');
    // Two producers are paused by full transports at once: the upstream's flood (its socket is full
    // because the proxy stopped reading it) and the tunnel side registered on the proxy's
    // client-facing transport (the client stopped reading). Waited for by reactor turns, not time.
    while (reactor.stats.pausedProducers < 2) await new Promise((r) => setImmediate(r));
    expect(flood!.paused).toBe(true);
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    // Everything produced sits in socket buffers (the kernel's and the transports' 64 KiB): far from all of it.
    const held = flood!.produced;
    expect(held).toBeLessThan(total / 2);
    sock.resume();
    await allIn;
    expect(received).toBe(total);
    sock.end();
    await settled(reactor);
  });
});
