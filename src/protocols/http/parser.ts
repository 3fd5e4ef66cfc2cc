/**
 * `HTTPParser`: an incremental, strict HTTP/1.1 request parser (RFC 9112). It
 * does no I/O: bytes go in through `feed()`, events come out through a
 * `ParserHandler`. Any split of the byte stream gives the same events.
 *
 * One piece because the framing states share the partial-line buffer and the
 * pause machinery; the line grammar itself lives in head.ts.
 *
 * Line endings: CRLF only. A bare LF is rejected (400), like llhttp in strict
 * mode: RFC 9112 §2.2 allows a recipient to accept a lone LF, but a server that
 * reads line ends differently from a proxy in front of it is how requests get
 * smuggled. A lone CR anywhere in the head or a chunk line is rejected too.
 *
 * Pausing: `pause()` stops the delivery of further bytes; what arrives or is
 * left over is stored (the caller bounds it via `bufferedBytes`) and parsed on
 * `resume()`. The end of a message that needs no more bytes is still reported.
 */
import { Buffer } from 'node:buffer';
import { CR, FIELD_VALUE, HEX, LF } from './chars.js';
import { HTTPParseError, ParseErrorCodes as E } from './errors.js';
import { Headers } from './headers.js';
import { checkHost, fail, listElements, parseFieldLine, parseRequestLine, type HTTPVersion, type RequestHead } from './head.js';

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
/** Empty lines ignored before a request line (RFC 9112 §2.2 says ignore at least one). */
export const MAX_LEADING_EMPTY_LINES = 8;
/** Hex digits in a chunk size: 13 keeps every size below 2^52, exact in a double. */
export const MAX_CHUNK_SIZE_DIGITS = 13;
/** Digits in a Content-Length: 15 keeps it below Number.MAX_SAFE_INTEGER. */
export const MAX_CONTENT_LENGTH_DIGITS = 15;

export interface ParserLimits {
  maxRequestLineBytes?: number;
  maxHeaderBytes?: number;
  maxHeaderCount?: number;
  maxChunkLineBytes?: number;
  maxTrailerBytes?: number;
}

export interface ParserHandler {
  /** A head was parsed and accepted. */
  onHead(head: RequestHead): void;
  /** Decoded body bytes (a view into the fed buffer: copy it to keep it past the call). */
  onBody(data: Uint8Array): void;
  /** The message ended; `trailers` for a chunked body that had any. */
  onComplete(trailers: Headers | null): void;
  /** The stream cannot be parsed further; no more events follow. */
  onError(error: HTTPParseError): void;
}

const HEAD = 0, BODY = 1, CHUNK_SIZE = 2, CHUNK_DATA = 3, CHUNK_END = 4, TRAILER = 5, DEAD = 6;

const asBuffer = (d: Uint8Array): Buffer => (Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength));

export class HTTPParser {
  private readonly maxLine: number;
  private readonly maxHeaderBytes: number;
  private readonly maxHeaderCount: number;
  private readonly maxChunkLine: number;
  private readonly maxTrailerBytes: number;

  private state = HEAD;
  private paused = false;
  private executing = false;
  /** The unfinished line at the end of the last buffer. */
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes that came while paused. */
  private stored: Buffer[] = [];
  private storedLen = 0;
  private remaining = 0;
  // Head under construction.
  private line: { method: string; target: string; version: HTTPVersion } | null = null;
  private emptyLines = 0;
  private fieldBytes = 0;
  private raw: string[] = [];
  private lower: string[] = [];

  constructor(private readonly handler: ParserHandler, limits: ParserLimits = {}) {
    this.maxLine = limits.maxRequestLineBytes ?? DEFAULT_MAX_REQUEST_LINE_BYTES;
    this.maxHeaderBytes = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.maxHeaderCount = limits.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT;
    this.maxChunkLine = limits.maxChunkLineBytes ?? DEFAULT_MAX_CHUNK_LINE_BYTES;
    this.maxTrailerBytes = limits.maxTrailerBytes ?? DEFAULT_MAX_TRAILER_BYTES;
  }

  /** Bytes held and not yet parsed (stored while paused, or an unfinished line). */
  get bufferedBytes(): number {
    return this.storedLen + this.pendingLen;
  }

  /** True between the first byte of a message and its end. */
  get inMessage(): boolean {
    return this.state !== HEAD || this.line !== null || this.pendingLen > 0;
  }

  get failed(): boolean {
    return this.state === DEAD;
  }

  /** True while `feed()`/`resume()` is running (a `resume()` now just lets the loop carry on). */
  get busy(): boolean {
    return this.executing;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  /** Stop parsing for good and return what was held unparsed (the bytes past an upgraded request's head). */
  takeBuffered(): Uint8Array {
    const all = [...this.pending, ...this.stored];
    const len = this.pendingLen + this.storedLen;
    this.state = DEAD;
    this.pending = [];
    this.stored = [];
    this.pendingLen = this.storedLen = 0;
    return all.length === 1 ? all[0]! : Buffer.concat(all, len);
  }

  resume(): void {
    this.paused = false;
    if (this.executing || this.storedLen === 0) return;
    const data = this.stored.length === 1 ? this.stored[0]! : Buffer.concat(this.stored, this.storedLen);
    this.stored = [];
    this.storedLen = 0;
    this.feed(data);
  }

  feed(data: Uint8Array): void {
    if (this.state === DEAD || data.length === 0) return;
    let buf = asBuffer(data);
    if (this.paused || this.executing) {
      this.stored.push(buf);
      this.storedLen += buf.length;
      return;
    }
    if (this.pendingLen > 0) {
      if (buf.indexOf(LF) === -1) {
        try {
          this.partial(buf, 0);
        } catch (err) {
          this.failWith(err);
        }
        return;
      }
      this.pending.push(buf);
      buf = Buffer.concat(this.pending, this.pendingLen + buf.length);
      this.pending = [];
      this.pendingLen = 0;
    }
    this.executing = true;
    try {
      this.run(buf);
    } catch (err) {
      this.failWith(err);
    } finally {
      this.executing = false;
    }
    if (!this.paused && this.storedLen > 0) this.resume();
  }

  /** A parse error ends the stream: report it once; anything else (a handler's bug) propagates. */
  private failWith(err: unknown): void {
    if (!(err instanceof HTTPParseError)) throw err;
    this.state = DEAD;
    this.pending = [];
    this.stored = [];
    this.pendingLen = this.storedLen = 0;
    this.handler.onError(err);
  }

  private run(buf: Buffer): void {
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      if (this.paused) {
        const rest = buf.subarray(pos);
        this.stored.push(rest);
        this.storedLen += rest.length;
        return;
      }
      const state = this.state;
      if (state === BODY || state === CHUNK_DATA) {
        const n = Math.min(this.remaining, end - pos);
        this.remaining -= n;
        const chunk = buf.subarray(pos, pos + n);
        pos += n;
        if (this.remaining === 0) this.state = state === BODY ? HEAD : CHUNK_END;
        this.handler.onBody(chunk);
        if (state === BODY && this.remaining === 0) this.complete(null);
        continue;
      }
      if (state === DEAD) return;
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) return this.partial(buf, pos);
      // RFC 9112 §2.2: a line ends with CRLF; we refuse a bare LF (see the file comment).
      if (lf === pos || buf[lf - 1] !== CR) fail(E.BARE_LF, 400, 'line ended with a bare LF; HTTP/1.1 lines end with CRLF (RFC 9112 §2.2)');
      this.checkLineLength(lf + 1 - pos);
      this.onLine(buf, pos, lf - 1);
      pos = lf + 1;
    }
  }

  /** Keep an unfinished line, refusing one that already passes its state's bound. */
  private partial(buf: Buffer, pos: number): void {
    const part = buf.subarray(pos);
    this.checkLineLength(this.pendingLen + part.length);
    this.pending.push(part);
    this.pendingLen += part.length;
  }

  /** `len` counts the line with its CRLF (or what has come of it). */
  private checkLineLength(len: number): void {
    switch (this.state) {
      case HEAD:
        if (this.line === null) {
          if (len > this.maxLine + 2) fail(E.URI_TOO_LONG, 414, `request line is longer than ${this.maxLine} bytes; shorten the URI or raise maxRequestLineBytes`);
        } else if (this.fieldBytes + len > this.maxHeaderBytes) {
          fail(E.HEADERS_TOO_LARGE, 431, `request header fields exceed ${this.maxHeaderBytes} bytes; send fewer or smaller headers, or raise maxHeaderBytes`);
        }
        return;
      case CHUNK_SIZE:
        if (len > this.maxChunkLine + 2) fail(E.CHUNK_LINE_TOO_LONG, 400, `chunk-size line is longer than ${this.maxChunkLine} bytes (chunk extensions are bounded, RFC 9112 §7.1.1)`);
        return;
      case CHUNK_END:
        if (len > 2) fail(E.BAD_CHUNK, 400, 'chunk data must be followed by CRLF (RFC 9112 §7.1); the chunk size did not match its data');
        return;
      case TRAILER:
        if (this.fieldBytes + len > this.maxTrailerBytes) fail(E.TRAILERS_TOO_LARGE, 431, `trailer fields exceed ${this.maxTrailerBytes} bytes; raise maxTrailerBytes`);
        return;
    }
  }

  /** One complete line, CRLF excluded: bytes [s, e). */
  private onLine(buf: Buffer, s: number, e: number): void {
    switch (this.state) {
      case HEAD:
        if (this.line === null) {
          if (s === e) {
            // RFC 9112 §2.2: ignore a few empty lines before the request line.
            if (++this.emptyLines > MAX_LEADING_EMPTY_LINES) fail(E.BAD_REQUEST_LINE, 400, `more than ${MAX_LEADING_EMPTY_LINES} empty lines before the request line`);
            return;
          }
          this.line = parseRequestLine(buf, s, e);
          return;
        }
        if (s === e) return this.endOfHead();
        this.field(buf, s, e, e - s + 2);
        return;
      case CHUNK_SIZE:
        return this.chunkSize(buf, s, e);
      case CHUNK_END:
        if (s !== e) fail(E.BAD_CHUNK, 400, 'chunk data must be followed by CRLF (RFC 9112 §7.1)');
        this.state = CHUNK_SIZE;
        return;
      case TRAILER:
        if (s === e) {
          const trailers = this.raw.length > 0 ? new Headers(this.raw, this.lower) : null;
          return this.complete(trailers);
        }
        this.field(buf, s, e, e - s + 2);
        return;
    }
  }

  private field(buf: Buffer, s: number, e: number, len: number): void {
    this.fieldBytes += len;
    if (this.lower.length >= this.maxHeaderCount) fail(E.TOO_MANY_HEADERS, 431, `more than ${this.maxHeaderCount} header fields; send fewer or raise maxHeaderCount`);
    parseFieldLine(buf, s, e, this.raw, this.lower);
  }

  /** chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1). */
  private chunkSize(buf: Buffer, s: number, e: number): void {
    let size = 0;
    let i = s;
    while (i < e && HEX[buf[i]!]! >= 0) size = size * 16 + HEX[buf[i++]!]!;
    if (i === s) fail(E.BAD_CHUNK, 400, 'chunk size must be hexadecimal digits (RFC 9112 §7.1)');
    if (i - s > MAX_CHUNK_SIZE_DIGITS) fail(E.BAD_CHUNK, 400, `chunk size has more than ${MAX_CHUNK_SIZE_DIGITS} hex digits`);
    if (i < e) {
      // chunk-ext: we refuse the BWS RFC 9112 §7.1.1 allows before ";" (as strict llhttp
      // does: parsers that disagree on "5 ;x" disagree on where the body ends), and
      // ignore the extensions themselves, requiring only that they hold no control byte.
      if (buf[i] !== 0x3b) fail(E.BAD_CHUNK, 400, 'chunk size must be followed by CRLF or ";extension" (RFC 9112 §7.1.1)');
      for (let j = i; j < e; j++) {
        const c = buf[j]!;
        if (FIELD_VALUE[c] !== 1) fail(c === CR ? E.BARE_CR : E.BAD_CHUNK, 400, 'control byte in a chunk extension (RFC 9112 §7.1.1)');
      }
    }
    if (size === 0) {
      this.state = TRAILER;
      this.fieldBytes = 0;
      this.raw = [];
      this.lower = [];
    } else {
      this.state = CHUNK_DATA;
      this.remaining = size;
    }
  }

  private endOfHead(): void {
    const line = this.line!;
    const v11 = line.version === 'HTTP/1.1';
    const raw = this.raw;
    const lower = this.lower;
    let hosts = 0, host = '';
    let cls = 0, cl = '';
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
    if (hosts === 0 && v11) fail(E.MISSING_HOST, 400, 'HTTP/1.1 request without a Host header (RFC 9112 §3.2); add "Host: name[:port]"');
    if (hosts === 1) checkHost(host);
    let chunked = false;
    let contentLength = 0;
    if (te !== null) {
      // RFC 9112 §6.1: TE in an HTTP/1.0 message means faulty framing.
      if (!v11) fail(E.BAD_TRANSFER_ENCODING, 400, 'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1); use Content-Length');
      // RFC 9112 §6.1 lets a server reject CL together with TE; that pair is the classic smuggling vector.
      if (cls > 0) fail(E.CL_AND_TE, 400, 'request has both Content-Length and Transfer-Encoding (RFC 9112 §6.1); send only one');
      chunked = this.codings(te);
      contentLength = -1;
    } else if (cls > 0) {
      // RFC 9110 §8.6 allows folding identical repeats ("5, 5"); we refuse any repeat or list:
      // a request that needs it is malformed and the lenient reading is a smuggling surface.
      if (cls > 1) fail(E.BAD_CONTENT_LENGTH, 400, 'Content-Length sent more than once; send it once');
      if (cl.length === 0 || cl.length > MAX_CONTENT_LENGTH_DIGITS || !/^[0-9]+$/.test(cl)) {
        fail(E.BAD_CONTENT_LENGTH, 400, `Content-Length must be 1 to ${MAX_CONTENT_LENGTH_DIGITS} decimal digits (RFC 9110 §8.6), got ${JSON.stringify(cl.slice(0, 32))}`);
      }
      contentLength = Number(cl);
    }
    // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" (RFC 9112 §C.2.2).
    let sawClose = false, sawKeepAlive = false;
    if (connection !== null) {
      const c = connection.toLowerCase();
      if (c === 'keep-alive') sawKeepAlive = true;
      else if (c === 'close') sawClose = true;
      else {
        for (const tok of listElements(c)) {
          if (tok === 'close') sawClose = true;
          else if (tok === 'keep-alive') sawKeepAlive = true;
        }
      }
    }
    const keepAlive = !sawClose && (v11 || sawKeepAlive);
    let expectContinue = false;
    // RFC 9110 §10.1.1: 100-continue is the only expectation; others MAY get 417; 1.0 ignores Expect.
    if (expect !== null && v11) {
      if (expect.trim().toLowerCase() !== '100-continue') fail(E.EXPECTATION_FAILED, 417, `unsupported expectation ${JSON.stringify(expect.slice(0, 32))}; only "100-continue" is supported`);
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
    this.raw = [];
    this.lower = [];
    this.fieldBytes = 0;
    this.line = null;
    this.emptyLines = 0;
    if (chunked) this.state = CHUNK_SIZE;
    else if (contentLength > 0) {
      this.state = BODY;
      this.remaining = contentLength;
    }
    this.handler.onHead(head);
    if (!chunked && contentLength === 0) this.complete(null);
  }

  /** transfer-coding list; returns true (chunked last) or throws (RFC 9112 §6.1, §6.3, §7). */
  private codings(te: string): boolean {
    const list = listElements(te.toLowerCase());
    if (list.length === 0) fail(E.BAD_TRANSFER_ENCODING, 400, 'empty Transfer-Encoding');
    let chunkedCount = 0;
    for (const c of list) if (c === 'chunked') chunkedCount++;
    // RFC 9112 §7: chunked MUST NOT be applied more than once.
    if (chunkedCount > 1) fail(E.BAD_TRANSFER_ENCODING, 400, 'chunked appears more than once in Transfer-Encoding (RFC 9112 §7)');
    // RFC 9112 §6.3 (4): chunked not final in a request means the length is unknowable: 400.
    if (list[list.length - 1] !== 'chunked') fail(E.BAD_TRANSFER_ENCODING, 400, `the final transfer coding must be chunked (RFC 9112 §6.3), got ${JSON.stringify(te.slice(0, 32))}`);
    // RFC 9112 §6.1: a coding we do not understand SHOULD get 501.
    if (list.length > 1) fail(E.UNKNOWN_CODING, 501, `transfer coding ${JSON.stringify(list[0])} is not implemented; send the body with only "chunked"`);
    return true;
  }

  private complete(trailers: Headers | null): void {
    this.state = HEAD;
    this.raw = [];
    this.lower = [];
    this.fieldBytes = 0;
    this.handler.onComplete(trailers);
  }
}
