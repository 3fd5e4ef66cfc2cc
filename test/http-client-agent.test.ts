/**
 * The Agent against spindle's own server over loopback, on a MemoryReactor:
 * requests and bodies both ways, keep-alive reuse, the pool bound and idle
 * timeout, stale-connection retry, HEAD/204/304.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { ResponseNeverReceived } from '../src/protocols/http/client/errors.js';
import { UNKNOWN_LENGTH, type IBodyProducer, type IResponse } from '../src/protocols/http/client/interfaces.js';
import type { Deferred } from '../src/reactor/deferred.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { Protocol } from '../src/protocols/protocol.js';
import { pushProducer, serverWorld, text } from './http-client-helpers.js';

/** Resolve a Deferred that must already have fired (MemoryReactor tests settle synchronously). */
function result<T>(d: Deferred<T>): T {
  let out: { v: T } | null = null;
  let err: unknown = null;
  d.addCallbacks(
    (v) => void (out = { v }),
    (f) => void (err = f.value),
  );
  if (err) throw err;
  if (!out) throw new Error('Deferred has not fired');
  return (out as { v: T }).v;
}

const echo: CpsApp = (req) => {
  req.readBody({ limit: 1 << 20 }).addCallback((body) => {
    req.setHeader('X-Method', req.method);
    req.setHeader('X-Uri', req.uri);
    req.setHeader('X-Got-Length', req.headers.get('content-length') ?? 'none');
    req.setHeader('X-Got-TE', req.headers.get('transfer-encoding') ?? 'none');
    req.write(body.length > 0 ? body : `hello ${req.method}`);
    req.finish();
  });
};

function get(
  world: ReturnType<typeof serverWorld>,
  url = 'http://example.test/x?y=1',
  method = 'GET',
  body?: Uint8Array | string | IBodyProducer,
) {
  const d = world.agent.request(method, url, { 'X-Test': '1' }, body);
  world.settle();
  const response = result(d);
  const bodyD = readBody(response);
  world.settle();
  return { response, body: text(result(bodyD)) };
}

describe("Agent over loopback to spindle's server", () => {
  it('sends method, target, Host and fields; reads status, case-insensitive headers and body', () => {
    const w = serverWorld(echo);
    const { response, body } = get(w);
    expect(response.code).toBe(200);
    expect(response.phrase).toBe('OK');
    expect(response.version).toBe('HTTP/1.1');
    expect(response.headers.get('x-uri')).toBe('/x?y=1');
    expect(response.headers.get('X-METHOD')).toBe('GET');
    expect(response.length).toBe('hello GET'.length);
    expect(body).toBe('hello GET');
  });

  it('uploads bytes with Content-Length and a producer of unknown length chunked', () => {
    const w = serverWorld(echo);
    const a = get(w, 'http://example.test/', 'POST', 'payload');
    expect(a.response.headers.get('x-got-length')).toBe('7');
    expect(a.body).toBe('payload');
    const producer = pushProducer(['ab', 'cde', '', 'f'], UNKNOWN_LENGTH);
    const b = get(w, 'http://example.test/', 'PUT', producer);
    expect(b.response.headers.get('x-got-te')).toBe('chunked');
    expect(b.body).toBe('abcdef');
  });

  it('uploads arrive intact however the producer splits them, chunked or with Content-Length', () => {
    const w = serverWorld(echo);
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[ -~]{0,40}$/), { maxLength: 8 }), fc.boolean(), (parts, known) => {
        const whole = parts.join('');
        const r = get(w, 'http://example.test/', 'PUT', pushProducer(parts, known ? whole.length : UNKNOWN_LENGTH));
        expect(r.body).toBe(whole.length > 0 ? whole : 'hello PUT');
        expect(r.response.headers.get(known ? 'x-got-length' : 'x-got-te')).toBe(
          known ? String(whole.length) : 'chunked',
        );
      }),
      { numRuns: 100 },
    );
    expect(w.reactor.tcpClients).toHaveLength(1);
  });

  it('a POST without a body says Content-Length: 0; a GET says nothing', () => {
    const w = serverWorld(echo);
    expect(get(w, 'http://example.test/', 'POST').response.headers.get('x-got-length')).toBe('0');
    expect(get(w, 'http://example.test/', 'GET').response.headers.get('x-got-length')).toBe('none');
  });

  it('keeps the connection alive: N sequential requests use one connection', () => {
    const w = serverWorld(echo);
    const stackLimit = Error.stackTraceLimit;
    for (let i = 0; i < 5; i++) expect(get(w, `http://example.test/${i}`).body).toBe('hello GET');
    // The end-of-body reason is made without a stack trace; the global limit is left as it was.
    expect(Error.stackTraceLimit).toBe(stackLimit);
    expect(w.reactor.tcpClients).toHaveLength(1);
    expect(w.clients[0]!.requestCount).toBe(5);
    expect(w.pool.cachedCount()).toBe(1);
  });

  it('a non-persistent pool sends Connection: close and closes each connection', () => {
    const w = serverWorld(echo, { persistent: false });
    get(w);
    get(w);
    expect(w.reactor.tcpClients).toHaveLength(2);
    expect(w.open()).toBe(0);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('keeps at most maxPersistentPerHost idle connections per host', () => {
    const w = serverWorld(echo, { maxPersistentPerHost: 2 });
    const ds = [1, 2, 3, 4].map((i) => w.agent.request('GET', `http://example.test/${i}`));
    w.settle();
    const responses = ds.map(result);
    expect(w.reactor.tcpClients).toHaveLength(4);
    responses.forEach((r) => readBody(r));
    w.settle();
    expect(w.pool.cachedCount()).toBe(2);
    expect(w.open()).toBe(2);
    // Another host has its own bound.
    get(w, 'http://other.test/');
    expect(w.pool.cachedCount()).toBe(3);
  });

  it('closes an idle connection after cachedConnectionTimeout on the injected clock, leaving no timer', () => {
    const w = serverWorld(echo, { cachedConnectionTimeout: 10 });
    get(w);
    expect(w.open()).toBe(1);
    w.reactor.advance(9.9);
    w.settle();
    expect(w.open()).toBe(1);
    w.reactor.advance(0.2);
    w.settle();
    expect(w.open()).toBe(0);
    expect(w.pool.cachedCount()).toBe(0);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('a cached connection the server closes leaves the pool', () => {
    const w = serverWorld(echo);
    get(w);
    w.pumps[0]!.bTransport.abortConnection();
    w.settle();
    expect(w.pool.cachedCount()).toBe(0);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
    expect(get(w).body).toBe('hello GET');
    expect(w.reactor.tcpClients).toHaveLength(2);
  });

  it('HEAD, 204 and 304 have no body and keep the connection', () => {
    const app: CpsApp = (req) => {
      if (req.path === '/204') req.setResponseCode(204);
      if (req.path === '/304') req.setResponseCode(304);
      req.write('twelve bytes');
      req.finish();
    };
    const w = serverWorld(app);
    const head = get(w, 'http://example.test/', 'HEAD');
    expect(head.response.headers.get('content-length')).toBe('12');
    expect(head.body).toBe('');
    expect(get(w, 'http://example.test/204').response.code).toBe(204);
    expect(get(w, 'http://example.test/304').body).toBe('');
    expect(get(w, 'http://example.test/').body).toBe('twelve bytes');
    expect(w.reactor.tcpClients).toHaveLength(1);
  });

  it('async iteration reads the body', async () => {
    const w = serverWorld((req) => {
      for (let i = 0; i < 5; i++) req.write(`part${i};`);
      req.finish();
    });
    const d = w.agent.request('GET', 'http://example.test/');
    w.settle();
    const response = result(d) as IResponse;
    const parts: string[] = [];
    const it = response[Symbol.asyncIterator]();
    w.settle();
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      parts.push(text(r.value));
      w.settle();
    }
    expect(parts.join('')).toBe('part0;part1;part2;part3;part4;');
  });
});

describe('stale connections', () => {
  /** A server that answers one request per connection, then closes the next one without answering. */
  function oneShotServer() {
    return () =>
      new (class extends Protocol {
        count = 0;
        override dataReceived(data: Uint8Array) {
          if (!text(data).includes('\r\n\r\n')) return;
          if (this.count++ === 0) this.transport.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
          else this.transport.loseConnection();
        }
      })();
  }

  it('retries an idempotent request once on a fresh connection', () => {
    const w = serverWorld(oneShotServer());
    expect(get(w).body).toBe('ok');
    expect(get(w).body).toBe('ok');
    expect(w.reactor.tcpClients).toHaveLength(2);
  });

  it('does not retry a POST: it fails with ResponseNeverReceived', () => {
    const w = serverWorld(oneShotServer());
    get(w);
    const d = w.agent.request('POST', 'http://example.test/', null, 'x');
    w.settle();
    expect(() => result(d)).toThrow(ResponseNeverReceived);
    expect(w.reactor.tcpClients).toHaveLength(1);
  });

  it('does not retry when retryAutomatically is false', () => {
    const w = serverWorld(oneShotServer(), { retryAutomatically: false });
    get(w);
    const d = w.agent.request('GET', 'http://example.test/');
    w.settle();
    expect(() => result(d)).toThrow(expect.objectContaining({ code: 'ERR_HTTP_RESPONSE_NEVER_RECEIVED' }));
  });
});
