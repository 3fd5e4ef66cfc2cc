/**
 * reverseProxy in memory: what it forwards and adds, 502/504, cancellation
 * both ways, and the bound: a stalled side stops the reads on the other, and
 * the bytes in flight stay under a fixed bound however much is offered.
 */
import { describe, expect, it } from 'vitest';
import { Protocol } from '../src/protocols/protocol.js';
import type { Failure } from '../src/reactor/failure.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { Flood, proxyWorld } from './http-proxy-helpers.js';

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: site.example\r\n${extra}\r\n`;

function status(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

describe('reverseProxy forwards', () => {
  it('method, path, query, end-to-end fields; drops hop-by-hop ones; adds Forwarded and X-Forwarded-*', () => {
    let seen: IRequest | null = null;
    const w = proxyWorld((req) => {
      seen = req;
      req.setHeader('X-Up', 'yes');
      req.setHeader('Keep-Alive', 'timeout=5');
      req.write('from upstream');
      req.finish();
    });
    const c = w.client();
    c.send(
      GET(
        '/a/b?c=d',
        'X-Custom: 1\r\nConnection: keep-alive, X-Drop\r\nX-Drop: secret\r\nTE: trailers\r\nX-Forwarded-For: 203.0.113.9\r\n',
      ),
    );
    w.settle();
    const r = seen as IRequest | null;
    expect(r!.method).toBe('GET');
    expect(r!.uri).toBe('/a/b?c=d');
    expect(r!.headers.get('host')).toBe('site.example');
    expect(r!.headers.get('x-custom')).toBe('1');
    expect(r!.headers.has('x-drop')).toBe(false);
    expect(r!.headers.has('te')).toBe(false);
    expect(r!.headers.get('forwarded')).toBe('for=198.51.100.7;proto=http;host="site.example"');
    expect(r!.headers.get('x-forwarded-for')).toBe('203.0.113.9, 198.51.100.7');
    expect(r!.headers.get('x-forwarded-host')).toBe('site.example');
    expect(r!.headers.get('x-forwarded-proto')).toBe('http');
    expect(status(c.text)).toBe(200);
    expect(c.text).toContain('X-Up: yes');
    expect(c.text).not.toContain('Keep-Alive');
    expect(c.text.endsWith('from upstream')).toBe(true);
  });

  it('rewriteHost sends the upstream authority as Host', () => {
    let host = '';
    const w = proxyWorld(
      (req) => {
        host = req.headers.get('host')!;
        req.finish();
      },
      { rewriteHost: true },
    );
    w.client().send(GET('/'));
    w.settle();
    expect(host).toBe('upstream.test:8080');
  });

  it('streams request bodies upstream, Content-Length and chunked', () => {
    const bodies: string[] = [];
    const w = proxyWorld((req) => {
      req.readBody().addCallback((b) => {
        bodies.push(
          `${req.headers.get('content-length') ?? req.headers.get('transfer-encoding')}:${Buffer.from(b).toString()}`,
        );
        req.write('ok');
        req.finish();
      });
    });
    const c = w.client();
    c.send('POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello');
    w.settle();
    c.send('POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    w.settle();
    expect(bodies).toEqual(['5:hello', 'chunked:abcde']);
    expect(c.text.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
  });

  it('keeps upstream connections alive across client requests', () => {
    const w = proxyWorld((req) => {
      req.write('x');
      req.finish();
    });
    const c = w.client();
    for (let i = 0; i < 3; i++) {
      c.send(GET(`/${i}`));
      w.settle();
    }
    expect(c.text.match(/HTTP\/1\.1 200/g)).toHaveLength(3);
    expect(w.proxyReactor.tcpClients).toHaveLength(1);
  });
});

describe('reverseProxy failures', () => {
  it('upstream down: 502 with a body naming the upstream', () => {
    const w = proxyWorld((req) => req.finish());
    w.refuseConnections();
    const c = w.client();
    c.send(GET('/'));
    w.settle();
    expect(status(c.text)).toBe(502);
    expect(c.text).toContain('upstream http://upstream.test:8080 failed');
  });

  it('upstream answers garbage: 502', () => {
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override dataReceived() {
            this.transport.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'));
          }
        })(),
    );
    const c = w.client();
    c.send(GET('/'));
    w.settle();
    expect(status(c.text)).toBe(502);
  });

  it('upstream silent: 504 after the timeout on the injected clock, and the upstream connection is closed', () => {
    const lost: Failure[] = [];
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override connectionLost(r: Failure) {
            lost.push(r);
          }
        })(),
      { timeout: 10 },
    );
    const c = w.client();
    c.send(GET('/'));
    w.settle();
    w.proxyReactor.advance(9.9);
    w.settle();
    expect(c.text).toBe('');
    w.proxyReactor.advance(0.2);
    w.settle();
    expect(status(c.text)).toBe(504);
    expect(c.text).toContain('did not answer within 10 s');
    expect(lost).toHaveLength(1);
  });

  it('the client leaving before the head cancels the upstream request (the upstream sees the disconnect)', () => {
    const lost: Failure[] = [];
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override connectionLost(r: Failure) {
            lost.push(r);
          }
        })(),
    );
    const c = w.client();
    c.send(GET('/'));
    w.settle();
    expect(lost).toHaveLength(0);
    c.transport.abortConnection();
    w.settle();
    expect(lost).toHaveLength(1);
    expect(w.proxyReactor.getDelayedCalls().filter((d) => d.active())).toHaveLength(0);
  });

  it('the client leaving mid-download closes the upstream connection', () => {
    let flood: Flood | null = null;
    const lost: Failure[] = [];
    const w = proxyWorld(() => {
      const p = new (class extends Protocol {
        override dataReceived() {
          this.transport.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n'));
          flood = new Flood((d) => this.transport.write(d), 100_000_000);
          this.transport.registerProducer(flood, true);
          flood.run();
        }
        override connectionLost(r: Failure) {
          lost.push(r);
        }
      })();
      return p;
    });
    const c = w.client();
    c.send(GET('/big'));
    c.transport.pauseProducing();
    w.settle();
    expect(flood!.paused).toBe(true);
    c.transport.abortConnection();
    w.settle();
    expect(lost).toHaveLength(1);
    expect(flood!.produced).toBeLessThan(1_000_000);
  });

  it('the upstream breaking off mid-body aborts the client connection (no short response that looks complete)', () => {
    let upstream: Protocol | null = null;
    const w = proxyWorld(
      () =>
        (upstream = new (class extends Protocol {
          override dataReceived() {
            this.transport.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial'));
          }
        })()),
    );
    const c = w.client();
    c.send(GET('/'));
    w.settle();
    expect(c.text).toContain('partial');
    expect(c.lost).toBeNull();
    upstream!.transport.abortConnection();
    w.settle();
    expect(c.lost).not.toBeNull();
    expect(c.text.endsWith('partial')).toBe(true);
  });
});

describe('reverseProxy bounds what it holds', () => {
  const MiB = 1024 * 1024;

  it('download: a client that stops reading stops the upstream; bytes in flight stay bounded', () => {
    let flood: Flood | null = null;
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override dataReceived() {
            this.transport.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${64 * MiB}\r\n\r\n`));
            flood = new Flood((d) => this.transport.write(d), 64 * MiB);
            this.transport.registerProducer(flood, true);
            flood.run();
          }
        })(),
    );
    const c = w.client();
    c.keep = false;
    c.send(GET('/big'));
    c.transport.pauseProducing();
    w.settle();
    expect(flood!.paused).toBe(true);
    // Everything produced and not yet read by the client is held somewhere on the way: bounded by
    // the two socket buffers (64 KiB each here), one parser read and the proxy's own maxBuffered.
    const bound = 2 * 64 * 1024 + 64 * 1024 + 256 * 1024;
    expect(flood!.produced - c.received).toBeLessThan(bound);
    // Reading again lets it all through, still bounded at every step.
    let steps = 0;
    while (flood!.produced < 64 * MiB && steps++ < 10_000) {
      c.transport.resumeProducing();
      w.settle();
      c.transport.pauseProducing();
      expect(flood!.produced - c.received).toBeLessThan(bound);
      w.settle();
    }
    c.transport.resumeProducing();
    w.settle();
    expect(c.received).toBeGreaterThan(64 * MiB);
  });

  it('upload: an upstream that stops reading stops reading the client; bytes in flight stay bounded', () => {
    let upstreamTransport: { pauseProducing(): void; resumeProducing(): void } | null = null;
    let got = 0;
    const app: CpsApp = (req) => {
      req.deliverBody({
        makeConnection: (t) => {
          upstreamTransport = t;
          t.pauseProducing();
        },
        dataReceived: (d) => void (got += d.length),
        connectionLost: () => {
          req.write(`got ${got}`);
          req.finish();
        },
      });
    };
    const w = proxyWorld(app);
    const c = w.client();
    c.send(`POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
    const flood = new Flood((d) => c.transport.write(d), 64 * MiB);
    c.transport.registerProducer(flood, true);
    flood.run();
    w.settle();
    expect(flood.paused).toBe(true);
    const bound = 4 * 64 * 1024 + 64 * 1024 + 256 * 1024;
    expect(flood.produced - got).toBeLessThan(bound);
    expect(got).toBe(0);
    let steps = 0;
    while (got < 64 * MiB && steps++ < 10_000) {
      upstreamTransport!.resumeProducing();
      w.settle();
      upstreamTransport!.pauseProducing();
      expect(flood.produced - got).toBeLessThan(bound);
      w.settle();
    }
    upstreamTransport!.resumeProducing();
    w.settle();
    expect(got).toBe(64 * MiB);
    expect(c.text).toContain(`got ${64 * MiB}`);
  });

  it('maxBuffered 0 still streams to a slow client: no byte reaches a paused side (the pause holds it in the socket)', () => {
    let flood: Flood | null = null;
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override dataReceived() {
            this.transport.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${8 * MiB}\r\n\r\n`));
            flood = new Flood((d) => this.transport.write(d), 8 * MiB);
            this.transport.registerProducer(flood, true);
            flood.run();
          }
        })(),
      { maxBuffered: 0 },
    );
    const c = w.client();
    c.keep = false;
    c.send(GET('/big'));
    for (let i = 0; i < 10_000 && c.received < 8 * MiB; i++) {
      c.transport.pauseProducing();
      w.settle();
      c.transport.resumeProducing();
      w.settle();
    }
    expect(c.lost).toBeNull();
    expect(c.received).toBeGreaterThan(8 * MiB);
  });
});
