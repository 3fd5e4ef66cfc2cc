/**
 * `HTTPParser`: an incremental, strict HTTP/1.1 request parser (RFC 9112). It
 * does no I/O: bytes go in through `feed()`, events come out through a
 * `ParserHandler`. Any split of the byte stream gives the same events.
 *
 * The incremental machinery (line splitting, fields, chunked bodies, pausing)
 * is message.ts's `MessageParser`, shared with the response parser; the line
 * grammar lives in head.ts. This file holds what only a request has: the
 * request line, Host, Expect, and the request's framing rules.
 */
import type { Buffer } from 'node:buffer';
import { ParseErrorCodes as E } from './errors.js';
import { Headers } from './headers.js';
import {
  checkHost,
  chunkedCoding,
  connectionOptions,
  contentLength as parseContentLength,
  fail,
  parseRequestLine,
  type RequestHead,
  type RequestLine,
} from './head.js';
import { MessageParser, type MessageHandler, type MessageLimits } from './message.js';
import { trimOWS } from './syntax.js';

export type { RequestHead, HTTPVersion } from './head.js';

/** Longest request line, CRLF excluded; past it 414 (RFC 9112 §3). */
export const DEFAULT_MAX_REQUEST_LINE_BYTES = 8 * 1024;
/** Most bytes of header field lines (CRLFs included); past it 431 (RFC 6585 §5). */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** Most header fields (and trailer fields); past it 431. */
export const DEFAULT_MAX_HEADER_COUNT = 100;
/** Longest chunk-size line, extensions included (RFC 9112 §7.1.1 lets us bound them). */
export const DEFAULT_MAX_CHUNK_LINE_BYTES = 4 * 1024;
/** Most bytes of trailer field lines; past it 431. */
export const DEFAULT_MAX_TRAILER_BYTES = 8 * 1024;
export { MAX_LEADING_EMPTY_LINES, MAX_CHUNK_SIZE_DIGITS } from './message.js';
export { MAX_CONTENT_LENGTH_DIGITS } from './rules.js';

export interface ParserLimits {
  maxRequestLineBytes?: number;
  maxHeaderBytes?: number;
  maxHeaderCount?: number;
  maxChunkLineBytes?: number;
  maxTrailerBytes?: number;
}

/** The request parser's events: `onHead`, `onBody`, `onComplete`, `onError` (see message.ts). */
export type ParserHandler = MessageHandler<RequestHead>;

/** The limits both parsers share, defaults filled in; `maxStartLineBytes` is each parser's own. */
export function messageLimits(
  limits: Omit<ParserLimits, 'maxRequestLineBytes'>,
  maxStartLineBytes: number,
): MessageLimits {
  return {
    maxStartLineBytes,
    maxHeaderBytes: limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    maxHeaderCount: limits.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT,
    maxChunkLineBytes: limits.maxChunkLineBytes ?? DEFAULT_MAX_CHUNK_LINE_BYTES,
    maxTrailerBytes: limits.maxTrailerBytes ?? DEFAULT_MAX_TRAILER_BYTES,
  };
}

export class HTTPParser extends MessageParser<RequestHead, RequestLine> {
  constructor(handler: ParserHandler, limits: ParserLimits = {}) {
    super(handler, messageLimits(limits, limits.maxRequestLineBytes ?? DEFAULT_MAX_REQUEST_LINE_BYTES));
  }

  protected parseStartLine(buf: Buffer, s: number, e: number): RequestLine {
    return parseRequestLine(buf, s, e);
  }

  protected startLineTooLong(max: number): never {
    fail(E.URI_TOO_LONG, 414, `request line is longer than ${max} bytes; shorten the URI or raise maxRequestLineBytes`);
  }

  protected endOfHead(): void {
    const line = this.line!;
    const v11 = line.version === 'HTTP/1.1';
    const raw = this.raw;
    const lower = this.lower;
    let hosts = 0,
      host = '';
    let cls = 0,
      cl = '';
    let te: string | null = null;
    let connection: string | null = null;
    let expect: string | null = null;
    for (let i = 0; i < lower.length; i++) {
      const n = lower[i]!;
      if (n.length < 4 || n.length > 17) continue;
      const v = raw[2 * i + 1]!;
      if (n === 'host') (hosts++, (host = v));
      else if (n === 'content-length') (cls++, (cl = v));
      else if (n === 'transfer-encoding') te = te === null ? v : `${te},${v}`;
      else if (n === 'connection') connection = connection === null ? v : `${connection},${v}`;
      else if (n === 'expect') expect = expect === null ? v : `${expect},${v}`;
    }
    // RFC 9112 §3.2: a 1.1 request without Host, or any request with more than one, gets 400.
    if (hosts > 1) fail(E.DUPLICATE_HOST, 400, 'more than one Host header (RFC 9112 §3.2); send exactly one');
    if (hosts === 0 && v11)
      fail(E.MISSING_HOST, 400, 'HTTP/1.1 request without a Host header (RFC 9112 §3.2); add "Host: name[:port]"');
    if (hosts === 1) checkHost(host);
    let chunked = false;
    let contentLength = 0;
    if (te !== null) {
      // RFC 9112 §6.1: TE in an HTTP/1.0 message means faulty framing.
      if (!v11)
        fail(
          E.BAD_TRANSFER_ENCODING,
          400,
          'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1); use Content-Length',
        );
      // RFC 9112 §6.1 lets a server reject CL together with TE; that pair is the classic smuggling vector.
      if (cls > 0)
        fail(E.CL_AND_TE, 400, 'request has both Content-Length and Transfer-Encoding (RFC 9112 §6.1); send only one');
      chunked = chunkedCoding(te);
      contentLength = -1;
    } else if (cls > 0) contentLength = parseContentLength(cls, cl);
    const conn = connectionOptions(connection);
    // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" (RFC 9112 §C.2.2).
    const keepAlive = !conn.close && (v11 || conn.keepAlive);
    let expectContinue = false;
    // RFC 9110 §10.1.1: 100-continue is the only expectation; others MAY get 417; 1.0 ignores Expect.
    if (expect !== null && v11) {
      // Only SP/HTAB is trimmed (RFC 9110 §5.6.3): "\xa0100-continue" is another expectation.
      if (trimOWS(expect).toLowerCase() !== '100-continue')
        fail(
          E.EXPECTATION_FAILED,
          417,
          `unsupported expectation ${JSON.stringify(expect.slice(0, 32))}; only "100-continue" is supported`,
        );
      expectContinue = contentLength !== 0;
    }
    const head: RequestHead = {
      method: line.method,
      target: line.target,
      version: line.version,
      headers: new Headers(raw, lower),
      keepAlive,
      expectContinue,
      chunked,
      contentLength,
    };
    this.line = null;
    const noBody = this.beginBody(chunked ? 'chunked' : 'length', contentLength);
    this.handler.onHead(head);
    if (noBody) this.complete(null);
  }
}
