/**
 * reverseProxy and protocol switches (RFC 9110 §7.8), in memory: an Upgrade
 * request goes upstream with Upgrade and Connection: Upgrade; a 101 becomes a
 * tunnel (bytes both ways, early bytes in order, FIN and close passed on, a
 * stalled reader pausing the other side, maxBuffered enforced); any other
 * answer is relayed as a response; Upgrade with a body, on HTTP/1.0 or with
 * `upgrade: false` is proxied as a plain request.
 */
import { describe, expect, it } from 'vitest';
import { Protocol } from '../src/protocols/protocol.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { Tunnel } from '../src/protocols/http/client/tunnel.js';
import { reverseProxy } from '../src/protocols/http/client/proxy.js';
import { ConnectionDone, ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { Flood, proxyWorld } from './http-proxy-helpers.js';

const UPGRADE_REQUEST = (extra = '') =>
  `GET /chat?room=1 HTTP/1.1\r\nHost: site.example\r\nUpgrade: echo\r\nConnection: keep-alive, Upgrade\r\nKeep-Alive: timeout=5\r\n${extra}\r\n`;

/**
 * The upstream's protocol after its 101: greets, echoes with a prefix, records FIN and
 * the close. On FIN it writes its last words and closes, as a server does.
 */
class Echo extends Protocol {
  static last: Echo | null = null;
  got = '';
  fin = false;
  lost: Failure | null = null;
  override connectionMade() {
    Echo.last = this;
    this.transport.write(Buffer.from('welcome;'));
  }
  override dataReceived(d: Uint8Array) {
    this.got += Buffer.from(d).toString('latin1');
    this.transport.write(Buffer.concat([Buffer.from('echo:'), d]));
  }
  readConnectionLost() {
    this.fin = true;
    this.transport.write(Buffer.from(';bye'));
    this.transport.loseConnection();
  }
  override connectionLost(reason: Failure) {
    this.lost = reason;
  }
}

/** An upstream that switches to Echo when asked for `Upgrade: echo`, and answers 426 otherwise. */
function upstream(seen: IRequest[] = []): CpsApp {
  return (req) => {
    seen.push(req);
    if (req.headers.get('upgrade') !== 'echo' || !req.upgrade) {
      req.setResponseCode(426, 'Upgrade Required');
      req.setHeader('Upgrade', 'echo');
      req.setHeader('Content-Length', '9');
      req.write('use echo\n');
      req.finish();
      return;
    }
    req.setHeader('Upgrade', 'echo');
    req.setHeader('Connection', 'Upgrade');
    req.setHeader('X-Session', '42');
    req.setHeader('Keep-Alive', 'timeout=1');
    req.upgrade(new Echo());
  };
}

/** An upstream that switches every request to `protocol` with `Upgrade: echo` (RFC 9110 §15.2.2: a 101 names it). */
const switchTo =
  (protocol: () => Protocol): CpsApp =>
  (req) => {
    req.setHeader('Upgrade', 'echo');
    req.setHeader('Connection', 'Upgrade');
    req.upgrade!(protocol());
  };

/** A proxy world with one client switched through to an Echo upstream. */
function switched(options: Parameters<typeof proxyWorld>[1] = {}) {
  const w = proxyWorld(upstream(), options);
  const c = w.client();
  c.send(UPGRADE_REQUEST());
  w.settle();
  return { w, c, echo: Echo.last! };
}

const afterHead = (text: string) => text.slice(text.indexOf('\r\n\r\n') + 4);

describe('reverseProxy: an Upgrade request the upstream switches', () => {
  it('forwards Upgrade and Connection: Upgrade (other hop-by-hop fields dropped, Forwarded added) on a connection of its own', () => {
    const seen: IRequest[] = [];
    const w = proxyWorld(upstream(seen));
    const plain = w.client();
    plain.send('GET /first HTTP/1.1\r\nHost: site.example\r\n\r\n');
    w.settle();
    const c = w.client();
    c.send(UPGRADE_REQUEST());
    w.settle();
    const r = seen[1]!;
    expect(r.uri).toBe('/chat?room=1');
    expect(r.headers.get('upgrade')).toBe('echo');
    expect(r.headers.get('connection')).toBe('Upgrade');
    expect(r.headers.has('keep-alive')).toBe(false);
    expect(r.headers.get('forwarded')).toBe('for=198.51.100.7;proto=http;host="site.example"');
    expect(r.headers.get('x-forwarded-for')).toBe('198.51.100.7');
    // The first request's kept-alive connection was not used for the switch.
    expect(w.upstreamPumps).toHaveLength(2);
  });

  it('the client gets the 101 with the upstream\u2019s end-to-end fields, then bytes flow both ways, early ones in order', () => {
    const w = proxyWorld(upstream());
    const c = w.client();
    c.send(UPGRADE_REQUEST() + 'early');
    w.settle();
    const head = c.text.slice(0, c.text.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head).toContain('\r\nUpgrade: echo');
    expect(head).toContain('\r\nConnection: Upgrade');
    expect(head).toContain('\r\nX-Session: 42');
    expect(head).not.toContain('Keep-Alive');
    expect(afterHead(c.text)).toBe('welcome;echo:early');
    c.send('ping');
    w.settle();
    expect(afterHead(c.text)).toBe('welcome;echo:earlyecho:ping');
    expect(Echo.last!.got).toBe('earlyping');
  });

  it('the client leaving closes the upstream connection (a FIN, then the close); an abort aborts it', () => {
    for (const abort of [false, true]) {
      const { w, c, echo } = switched();
      if (abort) c.transport.abortConnection();
      else c.transport.loseConnection();
      w.settle();
      expect(echo.fin).toBe(!abort);
      expect(echo.lost?.check(abort ? ConnectionLost : ConnectionDone)).toBeTruthy();
      expect(w.upstreamPumps.every((p) => p.aTransport.lost && p.bTransport.lost)).toBe(true);
    }
  });

  it('the upstream closing closes the client connection after what it wrote; an abort aborts it', () => {
    for (const abort of [false, true]) {
      const { w, c, echo } = switched();
      echo.transport.write(Buffer.from('bye'));
      if (abort) echo.transport.abortConnection();
      else echo.transport.loseConnection();
      w.settle();
      if (!abort) {
        // A FIN first (half-close); RawClient has no readConnectionLost, so its transport closes.
        expect(afterHead(c.text)).toBe('welcome;bye');
        expect(c.lost?.check(ConnectionDone)).toBeTruthy();
      } else expect(c.lost?.check(ConnectionLost)).toBeTruthy();
      expect(w.clientPumps.every((p) => p.aTransport.lost && p.bTransport.lost)).toBe(true);
      expect(w.upstreamPumps.every((p) => p.aTransport.lost && p.bTransport.lost)).toBe(true);
    }
  });

  it('a half-close passes through: the client\u2019s FIN reaches the upstream, which can still answer', () => {
    const { w, c, echo } = switched();
    c.send('last words');
    c.transport.loseWriteConnection();
    w.settle();
    expect(echo.fin).toBe(true);
    expect(echo.got).toBe('last words');
    // After the FIN the upstream still wrote (its echo and last words); then both closed cleanly.
    expect(afterHead(c.text)).toBe('welcome;echo:last words;bye');
    expect(c.lost?.check(ConnectionDone)).toBeTruthy();
    expect(echo.lost?.check(ConnectionDone)).toBeTruthy();
  });
});

describe('reverseProxy: the tunnel idle timeout (tunnelIdleTimeout, on the reactor clock)', () => {
  it('none by default: a silent tunnel stays open and leaves no timer', () => {
    const { w, c, echo } = switched();
    w.proxyReactor.advance(24 * 3600);
    w.settle();
    expect(c.lost).toBe(null);
    expect(echo.lost).toBe(null);
    expect(w.proxyReactor.getDelayedCalls()).toEqual([]);
  });

  it('closes both connections once no byte went either way for that long; traffic either way restarts the wait', () => {
    const { w, c, echo } = switched({ tunnelIdleTimeout: 30 });
    w.proxyReactor.advance(29);
    w.settle();
    c.send('still here');
    w.settle();
    w.proxyReactor.advance(29);
    w.settle();
    echo.transport.write(Buffer.from('me too'));
    w.settle();
    w.proxyReactor.advance(29);
    w.settle();
    expect(c.lost).toBe(null);
    expect(echo.lost).toBe(null);
    w.proxyReactor.advance(1);
    w.settle();
    expect(c.lost?.check(ConnectionDone)).toBeTruthy();
    expect(echo.lost).not.toBe(null);
    expect(afterHead(c.text)).toBe('welcome;echo:still hereme too');
    expect(w.proxyReactor.getDelayedCalls()).toEqual([]);
  });

  it('a tunnel that closes first cancels its timer; a timeout that is not a positive number is refused at once', () => {
    const { w, c } = switched({ tunnelIdleTimeout: 30 });
    c.transport.loseConnection();
    w.settle();
    expect(w.proxyReactor.getDelayedCalls()).toEqual([]);
    for (const bad of [0, -1, Number.NaN, Infinity])
      expect(() => reverseProxy('http://up.test', { tunnelIdleTimeout: bad })).toThrow(/tunnelIdleTimeout/);
  });
});

describe('reverseProxy: Upgrade requests that are not switched', () => {
  it('a non-101 answer (426) is relayed as an ordinary response, and the client connection stays HTTP', () => {
    const w = proxyWorld((req) => {
      req.setResponseCode(426, 'Upgrade Required');
      req.setHeader('Upgrade', 'websocket');
      req.setHeader('Content-Length', '8');
      req.write('use ws!\n');
      req.finish();
    });
    const c = w.client();
    c.send(UPGRADE_REQUEST());
    w.settle();
    expect(c.text).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
    expect(c.text.endsWith('use ws!\n')).toBe(true);
    c.text = '';
    c.send('GET /again HTTP/1.1\r\nHost: site.example\r\n\r\n');
    w.settle();
    expect(c.text).toMatch(/^HTTP\/1\.1 426 /);
  });

  it('upgrade: false, a request with a body, and HTTP/1.0 go upstream without Upgrade (the 426 comes back)', () => {
    const cases: Array<[string, Parameters<typeof proxyWorld>[1]]> = [
      [UPGRADE_REQUEST(), { upgrade: false }],
      [UPGRADE_REQUEST('Content-Length: 2\r\n') + 'hi', {}],
      [UPGRADE_REQUEST().replace('HTTP/1.1', 'HTTP/1.0'), {}],
      [UPGRADE_REQUEST().replace('keep-alive, Upgrade', 'keep-alive'), {}],
    ];
    for (const [raw, options] of cases) {
      const seen: IRequest[] = [];
      const w = proxyWorld(upstream(seen), options);
      const c = w.client();
      c.send(raw);
      w.settle();
      expect(seen[0]!.headers.has('upgrade')).toBe(false);
      expect(c.text).toMatch(/^HTTP\/1\.[01] 426 Upgrade Required\r\n/);
    }
  });

  it('a 101 from an upstream that was not asked to switch is a 502', () => {
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override dataReceived() {
            this.transport.write(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n\r\n'));
          }
        })(),
      { upgrade: false },
    );
    const c = w.client();
    c.send(UPGRADE_REQUEST());
    w.settle();
    expect(c.text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
  });
});

describe('the tunnel bounds what it holds', () => {
  const MiB = 1024 * 1024;

  it('a client that stops reading pauses the upstream socket; bytes in flight stay bounded, then all arrive', () => {
    let flood: Flood | null = null;
    const w = proxyWorld(
      switchTo(
        () =>
          new (class extends Protocol {
            override connectionMade() {
              flood = new Flood((d) => this.transport.write(d), 16 * MiB);
              this.transport.registerProducer(flood, true);
              flood.run();
            }
          })(),
      ),
    );
    const c = w.client();
    c.keep = false;
    c.send(UPGRADE_REQUEST());
    c.transport.pauseProducing();
    w.settle();
    // The proxy stopped reading its upstream connection, so the upstream's socket filled and paused the flood.
    const proxyUpstreamSide = w.upstreamPumps[0]!.aTransport as unknown as { readPaused: boolean };
    expect(proxyUpstreamSide.readPaused).toBe(true);
    expect(flood!.paused).toBe(true);
    const bound = 2 * 64 * 1024 + 64 * 1024;
    expect(flood!.produced - c.received).toBeLessThan(bound);
    let steps = 0;
    while (c.received < 16 * MiB + 60 && steps++ < 10_000) {
      c.transport.resumeProducing();
      w.settle();
      c.transport.pauseProducing();
      expect(flood!.produced - c.received).toBeLessThan(bound);
      w.settle();
    }
    expect(c.received).toBeGreaterThan(16 * MiB);
  });

  it('an upstream that stops reading pauses the client socket', () => {
    let upstreamTransport: { pauseProducing(): void } | null = null;
    let got = 0;
    const w = proxyWorld(
      switchTo(
        () =>
          new (class extends Protocol {
            override connectionMade() {
              upstreamTransport = this.transport;
              this.transport.pauseProducing();
            }
            override dataReceived(d: Uint8Array) {
              got += d.length;
            }
          })(),
      ),
    );
    const c = w.client();
    c.send(UPGRADE_REQUEST());
    w.settle();
    expect(upstreamTransport).not.toBe(null);
    const flood = new Flood((d) => c.transport.write(d), 16 * MiB);
    c.transport.registerProducer(flood, true);
    flood.run();
    w.settle();
    const proxyClientSide = w.clientPumps[0]!.bTransport as unknown as { readPaused: boolean };
    expect(proxyClientSide.readPaused).toBe(true);
    expect(flood.paused).toBe(true);
    expect(got).toBe(0);
    expect(flood.produced).toBeLessThan(4 * 64 * 1024);
  });

  it('maxBuffered: a side that keeps delivering while paused is cut off once maxBuffered more came', () => {
    const tunnel = new Tunnel(100_000);
    const client = new StringTransport({ highWater: 64 * 1024 });
    const up = new StringTransport();
    tunnel.client.makeConnection(client);
    tunnel.upstream.makeConnection(up);
    const piece = new Uint8Array(16 * 1024);
    let delivered = 0;
    // The upstream transport ignores its pause (a StringTransport only records it): bytes keep coming.
    while (!up.aborted && delivered < 64 * MiB) {
      tunnel.upstream.dataReceived(piece);
      delivered += piece.length;
    }
    expect(up.producerState).toBe('paused');
    expect(up.aborted && client.aborted).toBe(true);
    // Held: up to the client's high-water mark, then at most maxBuffered and one piece.
    expect(delivered).toBeLessThanOrEqual(64 * 1024 + piece.length + 100_000 + piece.length);
  });

  it('bytes a side reads before the other is handed over are passed on first, in order', () => {
    const tunnel = new Tunnel(1024);
    const client = new StringTransport();
    const up = new StringTransport();
    tunnel.client.makeConnection(client);
    tunnel.client.dataReceived(Buffer.from('one,'));
    tunnel.client.dataReceived(Buffer.from('two,'));
    tunnel.upstream.makeConnection(up);
    tunnel.client.dataReceived(Buffer.from('three'));
    expect(up.valueString()).toBe('one,two,three');
    tunnel.client.connectionLost(new Failure(new ConnectionDone()));
    expect(up.disconnecting && !up.aborted).toBe(true);
  });
});
