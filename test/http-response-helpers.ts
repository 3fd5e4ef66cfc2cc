/**
 * Test helpers for the response parser: run bytes through a `ResponseParser`
 * at a given split (then the end of the connection) and collect its events in
 * a split-independent form (adjacent body pieces merged), plus the corpus of
 * valid and malicious responses the split, fuzz and differential tests share.
 */
import { ResponseParser, type ResponseParserLimits } from '../src/protocols/http/client/responseparser.js';

export type ResponseEvent =
  | { type: 'info'; code: number }
  | {
      type: 'head';
      code: number;
      phrase: string;
      version: string;
      headers: Array<[string, string]>;
      keepAlive: boolean;
      framing: string;
      contentLength: number;
    }
  | { type: 'body'; data: string }
  | { type: 'complete'; trailers: Array<[string, string]> | null }
  | { type: 'error'; code: string };

export const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** Feed `bytes` cut at `cuts` (sorted offsets), then end the connection when `eof`; return the events. */
export function parseResponseWithCuts(
  bytes: Uint8Array,
  cuts: number[],
  method = 'GET',
  eof = true,
  limits?: ResponseParserLimits,
): ResponseEvent[] {
  const events: ResponseEvent[] = [];
  const parser = new ResponseParser(
    {
      onInformational: (h) => events.push({ type: 'info', code: h.code }),
      onHead: (h) =>
        events.push({
          type: 'head',
          code: h.code,
          phrase: h.phrase,
          version: h.version,
          headers: h.headers.rawPairs().map(([n, v]) => [n, v]),
          keepAlive: h.keepAlive,
          framing: h.framing,
          contentLength: h.contentLength,
        }),
      onBody: (d) => {
        const last = events[events.length - 1];
        const s = Buffer.from(d).toString('latin1');
        if (last?.type === 'body') last.data += s;
        else events.push({ type: 'body', data: s });
      },
      onComplete: (t) => {
        events.push({ type: 'complete', trailers: t ? t.rawPairs().map(([n, v]) => [n, v]) : null });
        parser.expectResponseTo(method);
      },
      onError: (e) => events.push({ type: 'error', code: e.code }),
    },
    limits,
  );
  parser.expectResponseTo(method);
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > prev) parser.feed(bytes.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  if (eof) parser.finish();
  return events;
}

export const parseResponse = (raw: string, method = 'GET', eof = true) =>
  parseResponseWithCuts(enc(raw), [], method, eof);
export const parseResponseBytewise = (raw: string, method = 'GET', eof = true) => {
  const b = enc(raw);
  return parseResponseWithCuts(
    b,
    Array.from({ length: b.length }, (_, i) => i),
    method,
    eof,
  );
};

export interface ResponseCase {
  name: string;
  raw: string;
  method?: string;
  /** The error code spindle reports, or undefined when the response is valid. */
  error?: string;
  /** Why spindle refuses what Node's client parser accepts (only for such cases). */
  stricter?: string;
  /** Why spindle accepts a valid response Node's client parser refuses (only for such cases). */
  nodeRefuses?: string;
}

/** Responses every test feeds: valid ones first, then malformed and malicious ones. */
export const responseCorpus: ResponseCase[] = [
  { name: 'content-length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello' },
  {
    name: 'chunked with trailers',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n',
  },
  {
    name: 'chunked, upper-case hex',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n',
  },
  { name: 'close-delimited', raw: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end' },
  { name: 'close-delimited without Connection', raw: 'HTTP/1.1 200 OK\r\nX: y\r\n\r\nrest of stream' },
  { name: 'HTTP/1.0 with keep-alive', raw: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok' },
  { name: '204 ignores its Content-Length', raw: 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n' },
  { name: '304 no body', raw: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n' },
  { name: 'HEAD has no body', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', method: 'HEAD' },
  { name: '100 then 200', raw: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi' },
  {
    name: '103 with fields then 200',
    raw: 'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
  },
  { name: 'no reason phrase, no SP', raw: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n' },
  { name: 'empty reason phrase', raw: 'HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n' },
  { name: 'obs-text in phrase and value', raw: 'HTTP/1.1 200 \xe9t\xe9\r\nX-L: caf\xe9\r\nContent-Length: 0\r\n\r\n' },
  {
    name: 'OWS around values',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length:  3 \t\r\nX:\t\r\n\r\nabc',
    nodeRefuses:
      'llhttp refuses HTAB after a Content-Length; RFC 9112 §5 strips OWS (SP or HTAB) around every field value',
  },
  {
    name: 'two responses on one connection',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb',
  },
  // Malformed and malicious.
  {
    name: 'CL.TE',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    error: 'ERR_HTTP_CONTENT_LENGTH_AND_TRANSFER_ENCODING',
  },
  {
    name: 'TE.CL',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    error: 'ERR_HTTP_CONTENT_LENGTH_AND_TRANSFER_ENCODING',
  },
  {
    name: 'duplicate differing Content-Length',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    error: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'duplicate equal Content-Length',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    error: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'Content-Length list',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello',
    error: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'negative Content-Length',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    error: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'Content-Length with plus',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello',
    error: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'bad chunk size',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunk size with 0x prefix',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunk size overflow',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunk data longer than its size',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'space before chunk extension',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;x\r\nhello\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunked not final',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc',
    error: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
    stricter: 'RFC 9112 §6.3 would read a body until close; spindle refuses a framing it cannot decode',
  },
  {
    name: 'chunked twice',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
    stricter: 'RFC 9112 §7: chunked MUST NOT be applied more than once',
  },
  { name: 'bare LF line ends', raw: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', error: 'ERR_HTTP_BARE_LF' },
  {
    name: 'bare CR in a value',
    raw: 'HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n',
    error: 'ERR_HTTP_BARE_CR',
  },
  { name: 'obs-fold', raw: 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n', error: 'ERR_HTTP_OBS_FOLD' },
  {
    name: 'space before colon',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello',
    error: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'NUL in a value',
    raw: 'HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n',
    error: 'ERR_HTTP_BAD_HEADER_VALUE',
  },
  {
    name: 'bad version',
    raw: 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n',
    error: 'ERR_HTTP_VERSION_NOT_SUPPORTED',
    stricter: 'an HTTP/1.1 connection answered with another major version is not HTTP/1.1 framing (RFC 9112 §2.3)',
  },
  {
    name: 'lower-case version',
    raw: 'http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    error: 'ERR_HTTP_BAD_STATUS_LINE',
  },
  { name: 'two-digit status', raw: 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n', error: 'ERR_HTTP_BAD_STATUS_LINE' },
  {
    name: 'status 600',
    raw: 'HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n',
    error: 'ERR_HTTP_BAD_STATUS_LINE',
    stricter: 'RFC 9110 §15 defines 100-599 only',
  },
  {
    name: 'TE in HTTP/1.0',
    raw: 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    error: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
    stricter: 'RFC 9112 §6.1: Transfer-Encoding in a 1.0 message is faulty framing',
  },
  {
    name: 'truncated Content-Length body',
    raw: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
    error: 'ERR_HTTP_INCOMPLETE_MESSAGE',
  },
  {
    name: 'truncated chunked body',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel',
    error: 'ERR_HTTP_INCOMPLETE_MESSAGE',
  },
  { name: 'truncated head', raw: 'HTTP/1.1 200 OK\r\nContent-Le', error: 'ERR_HTTP_INCOMPLETE_MESSAGE' },
];
