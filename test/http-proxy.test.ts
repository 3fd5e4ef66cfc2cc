/**
 * reverseProxy in memory: what it forwards and adds, 502/504, cancellation
 * both ways, and the bound: a stalled side stops the reads on the other, and
 * the bytes in flight stay under a fixed bound however much is offered.
 */
import { describe, expect, it } from 'vitest';
import { Protocol } from '../src/protocols/protocol.js';
import { Failure } from '../src/reactor/failure.js';
import { ResponseDone } from '../src/reactor/errors.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { captureLogs, Logger, LogPublisher, type LogEvent } from '../src/reactor/log.js';
import { Flood, proxyWorld } from './http-proxy-helpers.js';
import { succeed } from '../src/reactor/deferred.js';
import { Headers } from '../src/protocols/http/headers.js';
import { PROXY_ERROR_BODIES, reverseProxy } from '../src/protocols/http/client/proxy.js';
import type { IAgent, IResponse } from '../src/protocols/http/client/interfaces.js';
import type { IProtocol, ITransport } from '../src/reactor/interfaces.js';

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
  /** A logger of its own, so the test reads what the proxy logged and nothing else. */
  function logged() {
    const publisher = new LogPublisher();
    const cap = captureLogs(publisher);
    return { logger: new Logger('spindle.http.proxy', publisher), events: cap.events };
  }
  const body = (text: string) => text.slice(text.indexOf('\r\n\r\n') + 4);
  /** What no client of the proxy may see: the upstream's name or address, and error text. */
  function expectNothingInternal(text: string) {
    expect(text).not.toMatch(/upstream\.test|8080|10\.0\.0|ECONNREFUSED|refused|duplicate|ERR_/i);
  }
  function detailsOf(events: LogEvent[]) {
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.level).toBe('warn');
    expect(e.namespace).toBe('spindle.http.proxy');
    return e;
  }

  it('upstream down: 502 with a generic body; the upstream URL and the error are logged, not sent', () => {
    const { logger, events } = logged();
    const w = proxyWorld((req) => req.finish(), { logger });
    w.refuseConnections();
    const c = w.client();
    c.send(GET('/private/path?q=1'));
    w.settle();
    expect(status(c.text)).toBe(502);
    expect(c.text).toContain('Content-Type: text/plain; charset=utf-8');
    expect(body(c.text)).toBe(`${PROXY_ERROR_BODIES.unreachable}\n`);
    expectNothingInternal(c.text);
    const e = detailsOf(events);
    expect(e.upstream).toBe('http://upstream.test:8080/private/path?q=1');
    expect(e.method).toBe('GET');
    expect(e.path).toBe('/private/path?q=1');
    expect(e.client).toBe('198.51.100.7');
    expect(e.status).toBe(502);
    // The text line an operator reads carries the same details.
    expect(e.message).toBe(
      'GET /private/path?q=1 from 198.51.100.7: upstream http://upstream.test:8080/private/path?q=1 failed (unreachable); answered 502',
    );
    expect(String((e.failure as { value: Error }).value.message)).toMatch(/refused/i);
  });

  it('upstream answers garbage: 502 saying the response was not valid; the parse error is logged', () => {
    const { logger, events } = logged();
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override dataReceived() {
            this.transport.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'));
          }
        })(),
      { logger },
    );
    const c = w.client();
    c.send(GET('/'));
    w.settle();
    expect(status(c.text)).toBe(502);
    expect(body(c.text)).toBe(`${PROXY_ERROR_BODIES.invalid}\n`);
    expectNothingInternal(c.text);
    const e = detailsOf(events);
    expect(e.path).toBe('/');
    expect(e.message).toContain('invalid');
    expect(String((e.failure as { value: Error }).value.message)).toMatch(/Content-Length/);
  });

  it('upstream hangs up without answering: 502 saying so', () => {
    const { logger, events } = logged();
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override dataReceived() {
            this.transport.loseConnection();
          }
        })(),
      { logger },
    );
    const c = w.client();
    c.send(GET('/x'));
    w.settle();
    expect(status(c.text)).toBe(502);
    expect(body(c.text)).toBe(`${PROXY_ERROR_BODIES.closed}\n`);
    expect(detailsOf(events).status).toBe(502);
  });

  it('upstream silent: 504 after the timeout on the injected clock, and the upstream connection is closed', () => {
    const { logger, events } = logged();
    const lost: Failure[] = [];
    const w = proxyWorld(
      () =>
        new (class extends Protocol {
          override connectionLost(r: Failure) {
            lost.push(r);
          }
        })(),
      { timeout: 10, logger },
    );
    const c = w.client();
    c.send(GET('/slow'));
    w.settle();
    w.proxyReactor.advance(9.9);
    w.settle();
    expect(c.text).toBe('');
    expect(events).toHaveLength(0);
    w.proxyReactor.advance(0.2);
    w.settle();
    expect(status(c.text)).toBe(504);
    expect(body(c.text)).toBe(`${PROXY_ERROR_BODIES.timeout}\n`);
    expectNothingInternal(c.text);
    expect(lost).toHaveLength(1);
    const e = detailsOf(events);
    expect(e.status).toBe(504);
    expect(e.path).toBe('/slow');
    expect(e.upstream).toBe('http://upstream.test:8080/slow');
    expect(e.message).toContain('10 s');
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

  /**
   * An upstream whose body ignores pauseProducing (a caller's agent that buffers, or a
   * transport that cannot stop): the test pushes chunks itself and sees what the proxy does.
   */
  function pushyUpstream(total: number) {
    const state = { pauses: 0, resumes: 0, stopped: false, protocol: null as IProtocol | null };
    const transport = {
      pauseProducing: () => void state.pauses++,
      resumeProducing: () => void state.resumes++,
      stopProducing: () => void (state.stopped = true),
    } as unknown as ITransport;
    const response = {
      version: 'HTTP/1.1',
      code: 200,
      phrase: 'OK',
      headers: Headers.fromPairs([['Content-Length', String(total)]]),
      length: total,
      url: 'http://upstream.test:8080/big',
      previousResponse: null,
      trailers: null,
      deliverBody(p: IProtocol) {
        state.protocol = p;
        p.makeConnection(transport);
      },
    } as unknown as IResponse;
    const agent: IAgent = { request: () => succeed(response) };
    return { state, agent };
  }

  it('maxBuffered is enforced: an upstream that ignores the pause gets cut off once maxBuffered more arrived; the proxy held no more', () => {
    const total = 64 * MiB;
    const chunk = 16 * 1024;
    const maxBuffered = 128 * 1024;
    const up = pushyUpstream(total);
    const w = proxyWorld(
      (req) => req.finish(),
      {},
      64 * 1024,
      () => reverseProxy('http://upstream.test:8080', { agent: up.agent, maxBuffered }),
    );
    const c = w.client();
    c.send(GET('/big'));
    w.settle();
    c.transport.pauseProducing(); // the client stops reading
    const piece = Buffer.alloc(chunk, 0x62);
    let pushed = 0;
    let pushedAtPause = -1;
    let peakHeld = 0;
    while (pushed < total && !up.state.stopped) {
      up.state.protocol!.dataReceived(piece);
      pushed += chunk;
      w.settle();
      if (pushedAtPause < 0 && up.state.pauses > 0) pushedAtPause = pushed;
      // Bytes the proxy took from the upstream that the client has not read: all held by the proxy.
      const headBytes = c.text.indexOf('\r\n\r\n') + 4;
      peakHeld = Math.max(peakHeld, pushed - (headBytes > 3 ? c.received - headBytes : 0));
    }
    // The proxy asked the upstream side to pause once its socket to the client was full...
    expect(pushedAtPause).toBeGreaterThan(0);
    expect(pushedAtPause).toBeLessThanOrEqual(64 * 1024 + 2 * chunk);
    // ...and when bytes kept coming, it stopped the upstream body past maxBuffered instead of holding them.
    expect(up.state.stopped).toBe(true);
    expect(pushed - pushedAtPause).toBeLessThanOrEqual(maxBuffered + chunk);
    expect(peakHeld).toBeLessThanOrEqual(pushedAtPause + maxBuffered + chunk);
    // The client's response is cut (aborted), never ended as if complete.
    c.transport.resumeProducing();
    w.settle();
    expect(c.lost).not.toBeNull();
    expect(c.received).toBeLessThan(total);
  });

  it('maxBuffered is per pause: bytes that come while paused count from zero again after each resume', () => {
    const total = 4 * MiB;
    const chunk = 16 * 1024;
    const up = pushyUpstream(total);
    const w = proxyWorld(
      (req) => req.finish(),
      {},
      64 * 1024,
      () => reverseProxy('http://upstream.test:8080', { agent: up.agent, maxBuffered: 64 * 1024 }),
    );
    const c = w.client();
    c.keep = false;
    c.send(GET('/big'));
    w.settle();
    const piece = Buffer.alloc(chunk, 0x62);
    // A client that reads in bursts: each pause lets in at most maxBuffered more, then it reads everything.
    let pushed = 0;
    while (pushed < total) {
      c.transport.pauseProducing();
      for (let i = 0; i < 8 && pushed < total; i++) {
        up.state.protocol!.dataReceived(piece);
        pushed += chunk;
        w.settle();
      }
      c.transport.resumeProducing();
      w.settle();
    }
    expect(up.state.stopped).toBe(false);
    expect(up.state.pauses).toBeGreaterThan(10);
    expect(up.state.resumes).toBe(up.state.pauses);
    up.state.protocol!.connectionLost(new Failure(new ResponseDone()));
    w.settle();
    expect(c.lost).toBeNull();
    expect(c.received).toBeGreaterThan(total);
  });
});
