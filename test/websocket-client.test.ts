/**
 * `connectWebSocket` against a server nobody here wrote (the `ws` package's
 * WebSocketServer, on ws: and wss:) and against spindle's own server: text,
 * binary, 16 MiB, pings both ways, close from either side; handshake answers
 * it must refuse; the handshake timeout on a MemoryReactor.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { TimeoutError } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import { connectWebSocket, MAX_HANDSHAKE_BYTES } from '../src/protocols/websocket/client.js';
import { WebSocketHandshakeError, type WebSocketClosedError } from '../src/protocols/websocket/errors.js';
import type { WebSocketMessage } from '../src/protocols/websocket/interfaces.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A client protocol that queues what arrives, for `await next()`. */
class Client extends WebSocketProtocol {
  messages: WebSocketMessage[] = [];
  pongs: string[] = [];
  lost: WebSocketClosedError | null = null;
  private waiter: (() => void) | null = null;
  private lostWaiter: (() => void) | null = null;
  override messageReceived(data: WebSocketMessage): void {
    this.messages.push(data);
    this.waiter?.();
  }
  override pongReceived(payload: Uint8Array): void {
    this.pongs.push(Buffer.from(payload).toString());
    this.waiter?.();
  }
  override connectionLost(reason: Failure): void {
    this.lost = reason.value as WebSocketClosedError;
    this.lostWaiter?.();
  }
  next(): Promise<WebSocketMessage> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.messages.length > 0) {
          this.waiter = null;
          resolve(this.messages.shift()!);
        }
      };
      this.waiter = check;
      check();
    });
  }
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => cond() && (resolve(), (this.waiter = null));
      this.waiter = check;
      check();
    });
  }
  closed(): Promise<WebSocketClosedError> {
    return new Promise((resolve) => {
      if (this.lost) return resolve(this.lost);
      this.lostWaiter = () => resolve(this.lost!);
    });
  }
}

/** Wait for an event-driven condition, turn by turn (no timers). */
function until(cond: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => (cond() ? resolve() : setImmediate(check));
    check();
  });
}

function reactor() {
  const r = new NodeReactor();
  r.run();
  cleanups.push(() => r.stop());
  return r;
}

/** A `ws` echo server; 'close me' makes it close with 4003. */
async function wsServer(tls = false) {
  let server: https.Server | undefined;
  const fixtures = new URL('./fixtures/tls/', import.meta.url);
  if (tls) {
    server = https.createServer({
      key: readFileSync(new URL('server-key.pem', fixtures)),
      cert: readFileSync(new URL('server.pem', fixtures)),
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  }
  const wss = tls ? new WebSocketServer({ server: server! }) : new WebSocketServer({ port: 0, host: '127.0.0.1' });
  if (!tls) await new Promise<void>((r) => wss.once('listening', () => r()));
  const closes: { code: number; reason: string }[] = [];
  wss.on('connection', (sock: WsSocket) => {
    sock.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close me') sock.close(4003, 'ws server bye');
      else if (!isBinary && data.toString() === 'ping me') sock.ping('from ws');
      else sock.send(data, { binary: isBinary });
    });
    sock.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
  });
  cleanups.push(
    () =>
      new Promise<void>(
        (r) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => (server ? server.close(() => r()) : r()))),
      ),
  );
  const port = ((server ?? wss).address() as AddressInfo).port;
  return {
    url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}/echo`,
    closes,
    ca: readFileSync(new URL('ca.pem', fixtures), 'utf8'),
  };
}

describe.each([false, true])('spindle client ↔ ws server (tls: %s)', (tls) => {
  it('sends and receives text, binary and a 16 MiB message', async () => {
    const { url, ca } = await wsServer(tls);
    const c = new Client();
    await connectWebSocket(reactor(), url, c, { tls: { ca } });
    c.sendMessage('héllo');
    expect(await c.next()).toBe('héllo');
    c.sendMessage(new Uint8Array([1, 2, 3]));
    expect(new Uint8Array((await c.next()) as Uint8Array)).toEqual(new Uint8Array([1, 2, 3]));
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    c.sendMessage(big);
    const back = (await c.next()) as Uint8Array;
    expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(big)).toBe(true);
    c.close();
    expect(await c.closed()).toMatchObject({ closeCode: 1000, wasClean: true });
  });

  it('pings both ways and closes from the server side', async () => {
    const { url, closes, ca } = await wsServer(tls);
    const c = new Client();
    await connectWebSocket(reactor(), url, c, { tls: { ca } });
    c.ping('from spindle');
    c.sendMessage('ping me');
    await c.until(() => c.pongs.length > 0);
    expect(c.pongs).toEqual(['from spindle']);
    c.sendMessage('close me');
    expect(await c.closed()).toMatchObject({ closeCode: 4003, closeReason: 'ws server bye', wasClean: true });
    await until(() => closes.length > 0);
    expect(closes).toEqual([{ code: 4003, reason: '' }]);
  });

  it('closes from the client side with its code and reason', async () => {
    const { url, closes, ca } = await wsServer(tls);
    const c = new Client();
    const r = reactor();
    await connectWebSocket(r, url, c, { tls: { ca } });
    c.close(4004, 'spindle bye');
    expect(await c.closed()).toMatchObject({ closeCode: 4004, wasClean: true });
    await until(() => closes.length > 0 && r.stats.openConnections === 0);
    expect(closes).toEqual([{ code: 4004, reason: 'spindle bye' }]);
  });
});

describe('spindle client ↔ spindle server, both styles', () => {
  it('echoes through a CPS protocol and an iterator app on one server, with the offered subprotocol', async () => {
    const { HTTPFactory } = await import('../src/protocols/http/factory.js');
    const { acceptWebSocket } = await import('../src/protocols/websocket/accept.js');
    const { toCpsApp } = await import('../src/bridge/gateway.js');
    const r = reactor();
    class Echo extends WebSocketProtocol {
      override messageReceived(data: WebSocketMessage): void {
        this.sendMessage(data);
      }
    }
    const iter = toCpsApp(function* (environ) {
      const input = environ['spindle.websocket']!.accept({ protocols: ['echo'] })!;
      let resume: (() => void) | null = null;
      environ['wsgi.input_handler']!(input, () => resume?.());
      for (;;) {
        const m = input.receive();
        if (m !== null) yield m;
        else if (input.closed) return;
        else {
          resume = environ['wsgi.pause_output']!();
          yield '';
        }
      }
    });
    const app = (request: import('../src/protocols/http/interfaces.js').IRequest) =>
      request.path === '/iter' ? iter(request) : void acceptWebSocket(request, new Echo(), { protocols: ['echo'] });
    const port = await r.listenTCP(0, new HTTPFactory(app, { reactor: r }), { host: '127.0.0.1' });
    cleanups.push(() => port.stopListening());
    for (const path of ['/cps', '/iter']) {
      const c = new Client();
      await connectWebSocket(r, `ws://127.0.0.1:${port.getHost().port}${path}`, c, { protocols: ['other', 'echo'] });
      expect(c.transport.subprotocol).toBe('echo');
      c.sendMessage(`via ${path}`);
      expect(await c.next()).toBe(`via ${path}`);
      c.close();
      expect(await c.closed()).toMatchObject({ closeCode: 1000, wasClean: true });
    }
    await until(() => r.stats.openConnections === 0);
  });
});

describe('wss: on spindle’s own TLS server', () => {
  it('the ws client and spindle’s client both talk to a CPS echo behind listenTLS', async () => {
    const { HTTPFactory } = await import('../src/protocols/http/factory.js');
    const { acceptWebSocket } = await import('../src/protocols/websocket/accept.js');
    const fixtures = new URL('./fixtures/tls/', import.meta.url);
    const r = reactor();
    class Echo extends WebSocketProtocol {
      override messageReceived(data: WebSocketMessage): void {
        this.sendMessage(data);
      }
    }
    const app = (request: import('../src/protocols/http/interfaces.js').IRequest) =>
      void acceptWebSocket(request, new Echo());
    const port = await r.listenTLS(0, new HTTPFactory(app, { reactor: r }), {
      key: readFileSync(new URL('server-key.pem', fixtures)),
      cert: readFileSync(new URL('server.pem', fixtures)),
    });
    cleanups.push(() => port.stopListening());
    const url = `wss://127.0.0.1:${port.getHost().port}/`;
    const ca = readFileSync(new URL('ca.pem', fixtures), 'utf8');
    const { default: WebSocket } = await import('ws');
    const theirs = new WebSocket(url, { ca });
    await new Promise((done, fail) => theirs.once('open', done).once('error', fail));
    const echoed = new Promise<string>((done) => theirs.once('message', (d) => done(d.toString())));
    theirs.send('over tls');
    expect(await echoed).toBe('over tls');
    theirs.close();
    const ours = new Client();
    await connectWebSocket(r, url, ours, { tls: { ca } });
    ours.sendMessage('spindle to spindle over tls');
    expect(await ours.next()).toBe('spindle to spindle over tls');
    ours.close();
    expect(await ours.closed()).toMatchObject({ closeCode: 1000, wasClean: true });
  });
});

describe('handshake answers the client refuses', () => {
  async function rawServer(answer: (key: string) => string) {
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined); // the client aborts after a bad answer
      let text = '';
      sock.on('data', (d) => {
        text += d.toString('latin1');
        const m = /Sec-WebSocket-Key: (\S+)/.exec(text);
        if (text.includes('\r\n\r\n') && m) sock.end(answer(m[1]!));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('a 404 errbacks with WebSocketHandshakeError carrying the status', async () => {
    const url = await rawServer(() => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    const err = await connectWebSocket(reactor(), url, new Client())
      .asPromise()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebSocketHandshakeError);
    expect(err).toMatchObject({ status: 404, code: 'ERR_WS_HANDSHAKE' });
  });

  it('a wrong Sec-WebSocket-Accept is refused', async () => {
    const url = await rawServer(
      () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n',
    );
    const err = await connectWebSocket(reactor(), url, new Client())
      .asPromise()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/Sec-WebSocket-Accept does not match/);
  });

  it('a subprotocol that was not offered is refused', async () => {
    const { acceptKey } = await import('../src/protocols/websocket/frame.js');
    const url = await rawServer(
      (key) =>
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Protocol: other\r\n\r\n`,
    );
    const err = await connectWebSocket(reactor(), url, new Client(), { protocols: ['mine'] })
      .asPromise()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/was not offered/);
  });

  it('a server that never answers times out on the reactor clock', () => {
    const r = new MemoryReactor();
    const d = connectWebSocket(r, 'ws://example.test/x', new Client(), { handshakeTimeout: 10 });
    const proto = r.tcpClients[0]!.factory.buildProtocol({ host: 'example.test', port: 80 })!;
    const t = new StringTransport();
    proto.makeConnection(t);
    expect(Buffer.from(t.value()).toString('latin1')).toMatch(
      /^GET \/x HTTP\/1\.1\r\nHost: example\.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: [A-Za-z0-9+/]{22}==\r\nSec-WebSocket-Version: 13\r\n\r\n$/,
    );
    let failure: Failure | null = null;
    d.addErrback((f: Failure) => void (failure = f));
    r.advance(9.9);
    expect(failure).toBeNull();
    r.advance(0.2);
    expect(failure!.value).toBeInstanceOf(TimeoutError);
    expect(t.aborted).toBe(true);
  });

  it('an answer head past MAX_HANDSHAKE_BYTES is refused, not buffered on', () => {
    const r = new MemoryReactor();
    const d = connectWebSocket(r, 'ws://example.test/', new Client());
    const proto = r.tcpClients[0]!.factory.buildProtocol({ host: 'example.test', port: 80 })!;
    const t = new StringTransport();
    proto.makeConnection(t);
    let failure: Failure | null = null;
    d.addErrback((f: Failure) => void (failure = f));
    proto.dataReceived(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n'));
    for (let i = 0; i < 1000 && failure === null; i++)
      proto.dataReceived(Buffer.from('X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'));
    expect(failure!.value).toMatchObject({ code: 'ERR_WS_HANDSHAKE', status: 0 });
    expect((failure!.value as Error).message).toContain(`${MAX_HANDSHAKE_BYTES} bytes`);
    expect(t.aborted).toBe(true);
    // The bound is an option too.
    const small = new MemoryReactor();
    let smallFailure: Failure | null = null;
    connectWebSocket(small, 'ws://example.test/', new Client(), { maxHandshakeBytes: 100 }).addErrback(
      (f: Failure) => void (smallFailure = f),
    );
    const p2 = small.tcpClients[0]!.factory.buildProtocol({ host: 'example.test', port: 80 })!;
    p2.makeConnection(new StringTransport());
    p2.dataReceived(Buffer.from(`HTTP/1.1 101 Switching Protocols\r\n${'X: y\r\n'.repeat(20)}`));
    expect((smallFailure!.value as Error).message).toContain('longer than 100 bytes');
  });

  it('refuses URLs that are not ws: or wss:', () => {
    expect(() => connectWebSocket(new MemoryReactor(), 'http://x/', new Client())).toThrow(/ws: and wss:/);
  });
});
