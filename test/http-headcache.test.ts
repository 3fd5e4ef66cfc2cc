/**
 * The server's last-head cache (src/protocols/http/headcache.ts, issue 17):
 * whatever sequence of responses a server sends, each head is byte for byte
 * the one framing.ts builds from scratch, with the same framing decision; a
 * head is reused as bytes only once it repeated. On the wire: a keep-alive
 * connection whose responses change status, headers, length and Date between
 * requests gets each one right.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planHead, type HeadInput } from '../src/protocols/http/framing.js';
import { HeadCache } from '../src/protocols/http/headcache.js';
import { makeServer } from './http-channel-helpers.js';

const text = (head: Uint8Array | string): string =>
  typeof head === 'string' ? head : Buffer.from(head).toString('latin1');

function viaCache(cache: HeadCache, h: HeadInput) {
  const head = cache.head(
    h.method,
    h.version,
    h.code,
    h.phrase,
    h.names,
    h.values,
    h.keepAlive,
    h.knownLength,
    h.date,
    h.serverName,
  );
  return { head, text: text(head), framing: cache.framing, lengthOut: cache.lengthOut, keepAlive: cache.keepAlive };
}

const hello: HeadInput = {
  method: 'GET',
  version: 'HTTP/1.1',
  code: 200,
  phrase: 'OK',
  names: ['Content-Type'],
  values: ['text/plain'],
  keepAlive: true,
  knownLength: 12,
  date: 'Sun, 06 Nov 1994 08:49:37 GMT',
  serverName: undefined,
};

describe('HeadCache', () => {
  it('gives planHead’s head; text the first time, the same bytes from the second repeat on', () => {
    const cache = new HeadCache();
    const want = planHead(hello);
    const first = viaCache(cache, hello);
    expect(first).toMatchObject({ text: want.text, framing: 'length', lengthOut: 12, keepAlive: true });
    expect(typeof first.head).toBe('string');
    const second = viaCache(cache, { ...hello, names: ['Content-Type'], values: ['text/plain'] });
    const third = viaCache(cache, hello);
    expect(second.text).toBe(want.text);
    expect(second.head).toBeInstanceOf(Uint8Array);
    expect(third.head).toBe(second.head);
  });

  it('a change anywhere (Date, a value, the length, HEAD, HTTP/1.0, keep-alive) gives the new head', () => {
    const cache = new HeadCache();
    for (const h of [
      { ...hello, date: 'Sun, 06 Nov 1994 08:49:38 GMT' },
      { ...hello, values: ['text/html'] },
      { ...hello, knownLength: 13 },
      { ...hello, method: 'HEAD' },
      { ...hello, version: 'HTTP/1.0' as const },
      { ...hello, keepAlive: false },
      { ...hello, names: ['Content-Type', 'Connection'], values: ['text/plain', 'close'] },
      { ...hello, code: 404, phrase: 'Not Found' },
      hello,
    ]) {
      viaCache(cache, hello);
      viaCache(cache, hello); // the hello's bytes are cached now: the change must not reuse them
      const want = planHead(h);
      const got = viaCache(cache, h);
      expect(got).toMatchObject({
        text: want.text,
        framing: want.framing,
        lengthOut: want.lengthOut,
        keepAlive: want.keepAlive,
      });
    }
  });

  it('over any sequence of responses, every head and framing is planHead’s (property)', () => {
    const input: fc.Arbitrary<HeadInput> = fc
      .record({
        method: fc.constantFrom('GET', 'HEAD', 'POST'),
        version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
        code: fc.constantFrom(200, 204, 205, 304, 404),
        phrase: fc.constantFrom('OK', 'x'),
        names: fc.constant(['Content-Type', 'Content-Length']),
        values: fc.tuple(fc.constantFrom('text/plain', 'a/b'), fc.constantFrom('3', '5')),
        keepAlive: fc.boolean(),
        knownLength: fc.constantFrom(-1, 0, 3),
        date: fc.constantFrom('d1', 'd2'),
        serverName: fc.constantFrom(undefined, 'spindle'),
      })
      .map((h) => (h.knownLength === 0 ? { ...h, names: ['Content-Type'], values: [h.values[0]!] } : h));
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 12 }), (seq) => {
        const cache = new HeadCache();
        for (const h of seq) {
          const want = planHead(h);
          const got = viaCache(cache, h);
          expect([got.text, got.framing, got.lengthOut, got.keepAlive]).toEqual([
            want.text,
            want.framing,
            want.lengthOut,
            want.keepAlive,
          ]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on one keep-alive connection, responses that change between requests each get their own head', () => {
    let n = 0;
    const s = makeServer((req) => {
      n++;
      req.setHeader('Content-Type', n === 3 ? 'text/html' : 'text/plain');
      if (n === 4) req.setResponseCode(404);
      req.write(n === 5 ? 'longer body' : 'body');
      req.finish();
    });
    for (let i = 0; i < 6; i++) {
      s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      s.reactor.advance(0);
      if (i === 1) s.reactor.advance(1); // the Date moves on a second
    }
    const got = s.responses().map((r) => [r.status, r.headers['content-type'], r.headers['content-length'], r.body]);
    expect(got).toEqual([
      [200, 'text/plain', '4', 'body'],
      [200, 'text/plain', '4', 'body'],
      [200, 'text/html', '4', 'body'],
      [404, 'text/plain', '4', 'body'],
      [200, 'text/plain', '11', 'longer body'],
      [200, 'text/plain', '4', 'body'],
    ]);
    const dates = s.responses().map((r) => r.headers.date);
    expect(dates[1]).toBe(dates[0]);
    expect(dates[2]).not.toBe(dates[1]);
  });
});
