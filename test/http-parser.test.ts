import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { corpus } from './http-corpus.js';
import { enc, parseBytewise, parseWhole, parseWithCuts, type ParsedEvent } from './http-parser-helpers.js';
import { HTTPParser, DEFAULT_MAX_HEADER_COUNT } from '../src/protocols/http/parser.js';

/** The status the client would get: the first error's, else 200. */
const firstOutcome = (events: ParsedEvent[]) => {
  const err = events.find((e) => e.type === 'error');
  return err?.type === 'error' ? { status: err.status, code: err.code } : { status: 200, code: undefined };
};

describe('HTTP parser corpus', () => {
  for (const c of corpus) {
    it(`${c.name}: ${c.status === 200 ? 'accepted' : `rejected with ${c.status}`}, same events at every split`, () => {
      const bytes = enc(c.raw);
      const whole = parseWhole(bytes);
      expect(firstOutcome(whole)).toEqual({ status: c.status, code: c.code });
      if (c.keepAlive !== undefined) expect(whole[0]).toMatchObject({ type: 'head', keepAlive: c.keepAlive });
      expect(parseBytewise(bytes)).toEqual(whole);
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }), (cuts) => {
          expect(
            parseWithCuts(
              bytes,
              cuts.sort((a, b) => a - b),
            ),
          ).toEqual(whole);
        }),
        { numRuns: 40 },
      );
    });
  }
});

describe('HTTP parser events', () => {
  it('a GET yields a head with case-kept names and a complete, nothing else', () => {
    const ev = parseWhole(enc('GET /a?b HTTP/1.1\r\nHost: h\r\nX-Y:  z \r\n\r\n'));
    expect(ev).toEqual([
      {
        type: 'head',
        method: 'GET',
        target: '/a?b',
        version: 'HTTP/1.1',
        headers: [
          ['Host', 'h'],
          ['X-Y', 'z'],
        ],
        keepAlive: true,
        expectContinue: false,
        chunked: false,
        contentLength: 0,
      },
      { type: 'complete', trailers: null },
    ]);
  });

  it('chunked body is decoded and trailers are reported', () => {
    const ev = parseWhole(
      enc(
        'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n',
      ),
    );
    expect(ev.slice(1)).toEqual([
      { type: 'body', data: 'abcde' },
      { type: 'complete', trailers: [['X-T', '1']] },
    ]);
  });

  it('pipelined requests come out in order, each complete', () => {
    const ev = parseWhole(enc('POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /2 HTTP/1.0\r\n\r\n'));
    expect(ev.map((e) => e.type)).toEqual(['head', 'body', 'complete', 'head', 'complete']);
    expect(ev[3]).toMatchObject({ target: '/2', version: 'HTTP/1.0', keepAlive: false });
  });

  it('keep-alive follows the version and Connection tokens', () => {
    const ka = (raw: string) => (parseWhole(enc(raw))[0] as { keepAlive: boolean }).keepAlive;
    expect(ka('GET / HTTP/1.1\r\nHost: h\r\n\r\n')).toBe(true);
    expect(ka('GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.0\r\n\r\n')).toBe(false);
    expect(ka('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')).toBe(true);
    expect(ka('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n')).toBe(false);
  });

  it('Expect: 100-continue is flagged on 1.1 with a body and ignored on 1.0', () => {
    const head = (raw: string) => parseWhole(enc(raw))[0] as { expectContinue: boolean };
    expect(head('PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n').expectContinue).toBe(
      true,
    );
    expect(head('PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n').expectContinue).toBe(false);
  });

  it('after an error no further events come, whatever is fed', () => {
    const events: string[] = [];
    const p = new HTTPParser({
      onHead: () => events.push('head'),
      onBody: () => events.push('body'),
      onComplete: () => events.push('complete'),
      onError: (e) => events.push(e.code),
    });
    p.feed(enc('BAD\r\n'));
    p.feed(enc('GET / HTTP/1.1\r\nHost: h\r\n\r\n'));
    expect(events).toEqual(['ERR_HTTP_BAD_REQUEST_LINE']);
    expect(p.failed).toBe(true);
  });
});

describe('HTTP parser limits', () => {
  it('a request line past maxRequestLineBytes gets 414 before its end arrives', () => {
    const ev = parseWhole(enc(`GET /${'a'.repeat(200)}`), { maxRequestLineBytes: 100 });
    expect(ev).toEqual([{ type: 'error', status: 414, code: 'ERR_HTTP_URI_TOO_LONG' }]);
  });

  it('a request line exactly at the limit is accepted', () => {
    const line = `GET /${'a'.repeat(100 - 'GET / HTTP/1.1'.length)} HTTP/1.1`;
    expect(line.length).toBe(100);
    expect(parseWhole(enc(`${line}\r\nHost: h\r\n\r\n`), { maxRequestLineBytes: 100 })[0]!.type).toBe('head');
    expect(parseBytewise(enc(`${line}x\r\nHost: h\r\n\r\n`), { maxRequestLineBytes: 100 })).toEqual([
      { type: 'error', status: 414, code: 'ERR_HTTP_URI_TOO_LONG' },
    ]);
  });

  it('header bytes past maxHeaderBytes get 431, even with no line end in sight', () => {
    const ev = parseBytewise(enc(`GET / HTTP/1.1\r\nHost: h\r\nX: ${'v'.repeat(300)}`), { maxHeaderBytes: 256 });
    expect(ev).toEqual([{ type: 'error', status: 431, code: 'ERR_HTTP_HEADERS_TOO_LARGE' }]);
  });

  it('more than maxHeaderCount fields get 431', () => {
    const many = Array.from({ length: DEFAULT_MAX_HEADER_COUNT }, (_, i) => `X-${i}: v\r\n`).join('');
    expect(parseWhole(enc(`GET / HTTP/1.1\r\nHost: h\r\n${many}\r\n`))).toEqual([
      { type: 'error', status: 431, code: 'ERR_HTTP_TOO_MANY_HEADERS' },
    ]);
    expect(parseWhole(enc(`GET / HTTP/1.1\r\n${many}\r\n`), { maxHeaderCount: 100 })[0]!.type).toBe('error');
    const fewer = Array.from({ length: 99 }, (_, i) => `X-${i}: v\r\n`).join('');
    expect(parseWhole(enc(`GET / HTTP/1.1\r\nHost: h\r\n${fewer}\r\n`))[0]!.type).toBe('head');
  });

  it('a chunk-size line past maxChunkLineBytes is refused (extensions are bounded)', () => {
    const raw = `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(100)}`;
    expect(parseBytewise(enc(raw), { maxChunkLineBytes: 64 }).slice(1)).toEqual([
      { type: 'error', status: 400, code: 'ERR_HTTP_CHUNK_LINE_TOO_LONG' },
    ]);
  });

  it('trailers past maxTrailerBytes get 431', () => {
    const raw = `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${'t'.repeat(200)}\r\n\r\n`;
    expect(parseWhole(enc(raw), { maxTrailerBytes: 128 }).slice(1)).toEqual([
      { type: 'error', status: 431, code: 'ERR_HTTP_TRAILERS_TOO_LARGE' },
    ]);
  });

  it('a peer that never ends a line cannot grow the parser past its bound', () => {
    const p = new HTTPParser({ onHead() {}, onBody() {}, onComplete() {}, onError() {} });
    for (let i = 0; i < 10_000 && !p.failed; i++) p.feed(enc('aaaaaaaa'));
    expect(p.failed).toBe(true);
    expect(p.bufferedBytes).toBe(0);
  });
});

describe('HTTP parser pause/resume', () => {
  it('pause() in onComplete holds the next request until resume()', () => {
    const seen: string[] = [];
    const p: HTTPParser = new HTTPParser({
      onHead: (h) => seen.push(`head ${h.target}`),
      onBody: () => {},
      onComplete: () => (seen.push('complete'), p.pause()),
      onError: (e) => seen.push(e.code),
    });
    const two = enc('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n');
    p.feed(two);
    expect(seen).toEqual(['head /1', 'complete']);
    expect(p.bufferedBytes).toBe(two.length / 2);
    p.feed(enc('GET /3 HTTP/1.1\r\nHost: h\r\n\r\n'));
    expect(seen).toHaveLength(2);
    p.resume();
    expect(seen).toEqual(['head /1', 'complete', 'head /2', 'complete']);
    p.resume();
    expect(seen.slice(4)).toEqual(['head /3', 'complete']);
    expect(p.bufferedBytes).toBe(0);
  });

  it('pause() in onBody stops body delivery and keeps the rest', () => {
    const bodies: string[] = [];
    const p: HTTPParser = new HTTPParser({
      onHead: () => {},
      onBody: (d) => (bodies.push(Buffer.from(d).toString()), p.pause()),
      onComplete: () => bodies.push('end'),
      onError: () => {},
    });
    p.feed(enc('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n'));
    expect(bodies).toEqual(['ab']);
    p.resume();
    expect(bodies).toEqual(['ab', 'cd']);
    p.resume();
    expect(bodies).toEqual(['ab', 'cd', 'end']);
  });
});
