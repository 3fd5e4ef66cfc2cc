/**
 * The response parser: every corpus response gives the same events whole, one
 * byte at a time and at random fast-check splits; framing by method and status
 * (RFC 9112 §6.3); limits; pausing; random valid responses round-trip.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ResponseParser, DEFAULT_MAX_STATUS_LINE_BYTES } from '../src/protocols/http/client/responseparser.js';
import {
  enc,
  parseResponse,
  parseResponseBytewise,
  parseResponseWithCuts,
  responseCorpus,
  type ResponseEvent,
} from './http-response-helpers.js';

const cutsOf = (len: number) =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, len - 1) }), { maxLength: 12 })
    .map((a) => a.sort((x, y) => x - y));

describe('response corpus at every split', () => {
  for (const c of responseCorpus) {
    it(`${c.name}: whole = byte-by-byte = random splits${c.error ? `, refused with ${c.error}` : ''}`, () => {
      const whole = parseResponse(c.raw, c.method);
      expect(parseResponseBytewise(c.raw, c.method)).toEqual(whole);
      const bytes = enc(c.raw);
      fc.assert(
        fc.property(cutsOf(bytes.length), (cuts) => {
          expect(parseResponseWithCuts(bytes, cuts, c.method)).toEqual(whole);
        }),
        { numRuns: 60 },
      );
      const last = whole[whole.length - 1]!;
      if (c.error) {
        expect(last).toEqual({ type: 'error', code: c.error });
        expect(whole.filter((e) => e.type === 'error')).toHaveLength(1);
      } else {
        expect(last.type).toBe('complete');
        expect(whole.some((e) => e.type === 'error')).toBe(false);
      }
    });
  }
});

const heads = (ev: ResponseEvent[]) =>
  ev.filter((e): e is Extract<ResponseEvent, { type: 'head' }> => e.type === 'head');
const bodies = (ev: ResponseEvent[]) => ev.filter((e) => e.type === 'body').map((e) => (e as { data: string }).data);

/** A 101 after a 100, and what the new protocol sent next (it looks like HTTP, but is not parsed as such). */
const SWITCH_HEAD =
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
const SWITCH_REST = '\x81\x05hello\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\x88\x00';

/**
 * Feed `raw` cut at `cuts`, resuming after each piece (as a connection whose reader
 * resumes would) and finishing at the end; the events, then what `takeBuffered()` returns.
 */
function feedSwitch(raw: Uint8Array, cuts: number[]): { events: string[]; rest: string } {
  const events: string[] = [];
  const parser = new ResponseParser({
    onInformational: (h) => events.push(`info ${h.code}`),
    onHead: (h) => events.push(`head ${h.code}`),
    onBody: () => events.push('body'),
    onComplete: () => events.push('complete'),
    onError: (e) => events.push(`error ${e.code}`),
  });
  let prev = 0;
  for (const c of [...cuts, raw.length]) {
    parser.feed(raw.subarray(prev, c));
    parser.resume();
    prev = c;
  }
  expect(parser.switched).toBe(true);
  expect(parser.bufferedBytes).toBe(raw.length - SWITCH_HEAD.length);
  const rest = Buffer.from(parser.takeBuffered()).toString('latin1');
  parser.feed(enc('more'));
  parser.finish();
  return { events, rest };
}

describe('framing (RFC 9112 §6.3)', () => {
  it('reads Content-Length bodies and keeps the connection', () => {
    const ev = parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    expect(heads(ev)[0]).toMatchObject({
      code: 200,
      phrase: 'OK',
      framing: 'length',
      contentLength: 5,
      keepAlive: true,
    });
    expect(bodies(ev)).toEqual(['hello']);
  });
  it('decodes chunked bodies and reports trailers', () => {
    const ev = parseResponse(responseCorpus.find((c) => c.name === 'chunked with trailers')!.raw);
    expect(bodies(ev)).toEqual(['hello world']);
    expect(ev[ev.length - 1]).toEqual({ type: 'complete', trailers: [['X-Sum', '42']] });
  });
  it('reads a body without framing until the connection closes, and does not keep the connection', () => {
    const ev = parseResponseWithCuts(enc('HTTP/1.1 200 OK\r\n\r\nabc'), [], 'GET', false);
    expect(heads(ev)[0]).toMatchObject({ framing: 'close', keepAlive: false });
    expect(ev[ev.length - 1]).toEqual({ type: 'body', data: 'abc' });
    expect(parseResponse('HTTP/1.1 200 OK\r\n\r\nabc').pop()).toEqual({ type: 'complete', trailers: null });
  });
  it('HEAD, 204 and 304 end at the empty line whatever Content-Length says', () => {
    for (const [raw, method] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', 'HEAD'],
      ['HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n', 'GET'],
      ['HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET'],
    ] as const) {
      const ev = parseResponseWithCuts(enc(raw), [], method, false);
      expect(heads(ev)[0]).toMatchObject({ framing: 'none', contentLength: 0, keepAlive: true });
      expect(ev[ev.length - 1]).toEqual({ type: 'complete', trailers: null });
    }
  });
  it('skips 1xx responses and reports them as informational', () => {
    const ev = parseResponse(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
    );
    expect(ev.map((e) => e.type)).toEqual(['info', 'info', 'head', 'body', 'complete']);
  });
  it('101 is final, has no body and ends the HTTP connection', () => {
    const ev = parseResponseWithCuts(
      enc('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'),
      [],
      'GET',
      false,
    );
    expect(heads(ev)[0]).toMatchObject({ code: 101, framing: 'none', keepAlive: false });
  });
  it('101 stops parsing: the bytes after its head are held, not parsed as HTTP, and handed over whole', () => {
    const raw = enc(SWITCH_HEAD + SWITCH_REST);
    const whole = feedSwitch(raw, []);
    expect(whole.events).toEqual(['info 100', 'head 101']);
    expect(whole.rest).toBe(SWITCH_REST);
    for (let i = 1; i < raw.length; i++) expect(feedSwitch(raw, [i])).toEqual(whole);
    expect(feedSwitch(raw, [...raw.keys()].slice(1))).toEqual(whole);
    fc.assert(
      fc.property(cutsOf(raw.length), (cuts) => {
        expect(feedSwitch(raw, cuts)).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });
  it('101 with nothing after its head hands over nothing', () => {
    expect(feedSwitch(enc(SWITCH_HEAD), [5, 40])).toEqual({ events: ['info 100', 'head 101'], rest: '' });
  });
  it('honours Connection: close on 1.1 and keep-alive on 1.0', () => {
    expect(
      heads(parseResponse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'))[0]!.keepAlive,
    ).toBe(false);
    expect(heads(parseResponse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'))[0]!.keepAlive).toBe(false);
    expect(
      heads(parseResponse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'))[0]!.keepAlive,
    ).toBe(true);
  });
  it('a method switch between responses frames each by its own request', () => {
    const events: string[] = [];
    const p = new ResponseParser({
      onHead: (h) => events.push(`head ${h.framing}`),
      onBody: () => events.push('body'),
      onComplete: () => events.push('end'),
      onError: (e) => events.push(e.code),
    });
    p.expectResponseTo('HEAD');
    p.feed(enc('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n'));
    p.expectResponseTo('GET');
    p.feed(enc('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'));
    expect(events).toEqual(['head none', 'end', 'head length', 'body', 'end']);
  });
});

describe('limits', () => {
  it('refuses a status line past maxStatusLineBytes, even before it ends', () => {
    const long = `HTTP/1.1 200 ${'x'.repeat(DEFAULT_MAX_STATUS_LINE_BYTES)}`;
    expect(parseResponseWithCuts(enc(long), [], 'GET', false)).toEqual([
      { type: 'error', code: 'ERR_HTTP_STATUS_LINE_TOO_LONG' },
    ]);
  });
  it('refuses header bytes and counts past their limits', () => {
    const many = `HTTP/1.1 200 OK\r\n${'X: y\r\n'.repeat(5)}\r\n`;
    expect(parseResponseWithCuts(enc(many), [], 'GET', true, { maxHeaderCount: 4 }).pop()).toEqual({
      type: 'error',
      code: 'ERR_HTTP_TOO_MANY_HEADERS',
    });
    const big = `HTTP/1.1 200 OK\r\nX: ${'y'.repeat(100)}\r\n\r\n`;
    expect(parseResponseWithCuts(enc(big), [], 'GET', true, { maxHeaderBytes: 64 }).pop()).toEqual({
      type: 'error',
      code: 'ERR_HTTP_HEADERS_TOO_LARGE',
    });
  });
  it('refuses trailers past maxTrailerBytes', () => {
    const raw = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${'y'.repeat(100)}\r\n\r\n`;
    expect(parseResponseWithCuts(enc(raw), [], 'GET', true, { maxTrailerBytes: 32 }).pop()).toEqual({
      type: 'error',
      code: 'ERR_HTTP_TRAILERS_TOO_LARGE',
    });
  });
  it('reports errors with status 502, what a gateway answers', () => {
    let status = 0;
    const p = new ResponseParser({ onHead() {}, onBody() {}, onComplete() {}, onError: (e) => (status = e.status) });
    p.feed(enc('HTTP/1.1 200 OK\r\nX : y\r\n\r\n'));
    expect(status).toBe(502);
  });
});

describe('pausing', () => {
  it('holds bytes while paused and delivers them on resume, in order', () => {
    const out: string[] = [];
    const p: ResponseParser = new ResponseParser({
      onHead: () => out.push('head'),
      onBody: (d) => (out.push(Buffer.from(d).toString()), p.pause()),
      onComplete: () => out.push('end'),
      onError: (e) => out.push(e.code),
    });
    p.feed(enc('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n'));
    expect(out).toEqual(['head', 'a']);
    expect(p.bufferedBytes).toBeGreaterThan(0);
    p.resume();
    expect(out).toEqual(['head', 'a', 'b']);
    p.resume();
    expect(out).toEqual(['head', 'a', 'b', 'end']);
  });
});

/** A random valid response, its expected body, and how it is framed. */
const validResponse = fc
  .record({
    code: fc.constantFrom(200, 201, 203, 404, 500),
    phrase: fc.stringMatching(/^[A-Za-z ]{0,12}$/),
    fields: fc.array(
      fc.tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,8}$/), fc.stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/)),
      { maxLength: 5 },
    ),
    chunks: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 5 }),
    framing: fc.constantFrom('length', 'chunked', 'close'),
  })
  .map((r) => {
    const body = Buffer.concat(r.chunks);
    let head = `HTTP/1.1 ${r.code} ${r.phrase}\r\n${r.fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}`;
    let tail: Buffer;
    if (r.framing === 'length') ((head += `Content-Length: ${body.length}\r\n\r\n`), (tail = body));
    else if (r.framing === 'chunked') {
      head += 'Transfer-Encoding: chunked\r\n\r\n';
      tail = Buffer.concat([
        ...r.chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), Buffer.from(c), Buffer.from('\r\n')]),
        Buffer.from('0\r\n\r\n'),
      ]);
    } else ((head += '\r\n'), (tail = body));
    return {
      ...r,
      body: body.toString('latin1'),
      bytes: new Uint8Array(Buffer.concat([Buffer.from(head, 'latin1'), tail])),
    };
  });

describe('random valid responses', () => {
  it('parse to their fields and body at any split', () => {
    fc.assert(
      fc.property(validResponse, fc.array(fc.nat(), { maxLength: 10 }), (r, rawCuts) => {
        const cuts = [...new Set(rawCuts.map((c) => c % (r.bytes.length + 1)))].sort((a, b) => a - b);
        const ev = parseResponseWithCuts(r.bytes, cuts);
        expect(ev[ev.length - 1]!.type).toBe('complete');
        const h = heads(ev)[0]!;
        expect(h.code).toBe(r.code);
        expect(h.framing).toBe(r.framing);
        expect(h.headers.slice(0, r.fields.length)).toEqual(r.fields);
        expect(bodies(ev).join('')).toBe(r.body);
      }),
      { numRuns: 300 },
    );
  });
});
