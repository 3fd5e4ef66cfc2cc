/**
 * `MessageParser`: the incremental machinery both HTTP/1.1 parsers share (the
 * request parser in parser.ts, the response parser in client/responseparser.ts).
 * It does no I/O: bytes go in through `feed()`, events come out through a
 * `MessageHandler`. Any split of the byte stream gives the same events.
 *
 * One piece because the framing states share the partial-line buffer and the
 * pause machinery: line splitting (CRLF only, RFC 9112 §2.2), header field
 * lines and their limits, Content-Length bodies, the chunked decoder with
 * trailers (RFC 9112 §7.1) and a body read until the connection closes
 * (responses only, RFC 9112 §6.3). A subclass supplies the start line and
 * decides the framing at the end of the head (`endOfHead`).
 *
 * Line endings: CRLF only. A bare LF is refused, like llhttp in strict mode:
 * RFC 9112 §2.2 allows a recipient to accept a lone LF, but two parsers that
 * read line ends differently are how messages get smuggled.
 *
 * Pausing: `pause()` stops the delivery of further bytes; what arrives or is
 * left over is stored (the caller bounds it via `bufferedBytes`) and parsed on
 * `resume()`. The end of a message that needs no more bytes is still reported.
 */
import { Buffer } from 'node:buffer';
import { CR, LF } from './chars.js';
import { parseChunkLine } from './chunked.js';
import { HTTPParseError, ParseErrorCodes as E } from './errors.js';
import { Headers } from './headers.js';
import { COMMON_COUNT } from './fieldnames.js';
import { fail, parseFieldLine } from './head.js';

/** Empty lines ignored before a start line (RFC 9112 §2.2 says ignore at least one). */
export const MAX_LEADING_EMPTY_LINES = 8;
export { MAX_CHUNK_SIZE_DIGITS } from './chunked.js';

export interface MessageLimits {
  /** The longest start line (request line or status line), CRLF excluded. */
  maxStartLineBytes: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  maxChunkLineBytes: number;
  maxTrailerBytes: number;
}

export interface MessageHandler<Head> {
  /** A head was parsed and accepted. */
  onHead(head: Head): void;
  /** Decoded body bytes (the fed buffer itself or a view into it: copy it to keep it past the call). */
  onBody(data: Uint8Array): void;
  /** The message ended; `trailers` for a chunked body that had any. */
  onComplete(trailers: Headers | null): void;
  /** The stream cannot be parsed further; no more events follow. */
  onError(error: HTTPParseError): void;
}

/**
 * Where the parser is in the byte stream: reading a head; a Content-Length (or
 * close-delimited, `remaining === Infinity`) body; a chunk-size line, chunk
 * data, the CRLF after it, trailer fields; or stopped after an error.
 */
export type ParsePhase = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'dead';

/** How the body after a head is framed (RFC 9112 §6.3). */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

const asBuffer = (d: Uint8Array): Buffer =>
  Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

export abstract class MessageParser<Head, Line> {
  protected state: ParsePhase = 'head';
  /** The start line of the head under construction (null: not yet parsed). */
  protected line: Line | null = null;
  private paused = false;
  private executing = false;
  /** The unfinished line at the end of the last buffer. */
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes that came while paused. */
  private stored: Buffer[] = [];
  private storedLen = 0;
  protected remaining = 0;
  private emptyLines = 0;
  private fieldBytes = 0;
  /** Fields of the head (or trailer) under construction: name0, value0, ...; and lower-cased names (FieldLists). */
  raw: string[] = [];
  lower: string[] = [];
  readonly recent: (string | undefined)[] = new Array<string | undefined>(COMMON_COUNT).fill(undefined);

  constructor(
    protected readonly handler: MessageHandler<Head>,
    private readonly limits: MessageLimits,
  ) {}

  /** Parse the start line, bytes [s, e) without CRLF (the caller holds it in `line`). */
  protected abstract parseStartLine(buf: Buffer, s: number, e: number): Line;
  /** Refuse a start line longer than `max` bytes: throw the subclass's error. */
  protected abstract startLineTooLong(max: number): never;
  /** The empty line after the fields: decide the framing (`beginBody`) and report the head. */
  protected abstract endOfHead(): void;
  /** Wrap a parse error before it is reported (a subclass may restate its status). */
  protected reportError(err: HTTPParseError): HTTPParseError {
    return err;
  }

  /** Bytes held and not yet parsed (stored while paused, or an unfinished line). */
  get bufferedBytes(): number {
    return this.storedLen + this.pendingLen;
  }

  /** True between the first byte of a message and its end. */
  get inMessage(): boolean {
    return this.state !== 'head' || this.line !== null || this.pendingLen > 0;
  }

  get failed(): boolean {
    return this.state === 'dead';
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
    this.state = 'dead';
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
    if (this.state === 'dead' || data.length === 0) return;
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
  protected failWith(err: unknown): void {
    if (!(err instanceof HTTPParseError)) throw err;
    this.state = 'dead';
    this.pending = [];
    this.stored = [];
    this.pendingLen = this.storedLen = 0;
    this.handler.onError(this.reportError(err));
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
      if (state === 'body' || state === 'chunk-data') {
        const n = Math.min(this.remaining, end - pos);
        this.remaining -= n;
        // A read that is all body goes on as it is (a view costs ~1 µs, once per read of a bulk body).
        const chunk = n === end ? buf : buf.subarray(pos, pos + n);
        pos += n;
        if (this.remaining === 0) this.state = state === 'body' ? 'head' : 'chunk-end';
        this.handler.onBody(chunk);
        if (state === 'body' && this.remaining === 0) this.complete(null);
        continue;
      }
      if (state === 'dead') return;
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) return this.partial(buf, pos);
      // RFC 9112 §2.2: a line ends with CRLF; we refuse a bare LF (see the file comment).
      if (lf === pos || buf[lf - 1] !== CR)
        fail(E.BARE_LF, 400, 'line ended with a bare LF; HTTP/1.1 lines end with CRLF (RFC 9112 §2.2)');
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
      case 'head':
        if (this.line === null) {
          if (len > this.limits.maxStartLineBytes + 2) this.startLineTooLong(this.limits.maxStartLineBytes);
        } else if (this.fieldBytes + len > this.limits.maxHeaderBytes) {
          fail(
            E.HEADERS_TOO_LARGE,
            431,
            `header fields exceed ${this.limits.maxHeaderBytes} bytes; send fewer or smaller headers, or raise maxHeaderBytes`,
          );
        }
        return;
      case 'chunk-size':
        if (len > this.limits.maxChunkLineBytes + 2)
          fail(
            E.CHUNK_LINE_TOO_LONG,
            400,
            `chunk-size line is longer than ${this.limits.maxChunkLineBytes} bytes (chunk extensions are bounded, RFC 9112 §7.1.1)`,
          );
        return;
      case 'chunk-end':
        if (len > 2)
          fail(
            E.BAD_CHUNK,
            400,
            'chunk data must be followed by CRLF (RFC 9112 §7.1); the chunk size did not match its data',
          );
        return;
      case 'trailer':
        if (this.fieldBytes + len > this.limits.maxTrailerBytes)
          fail(
            E.TRAILERS_TOO_LARGE,
            431,
            `trailer fields exceed ${this.limits.maxTrailerBytes} bytes; raise maxTrailerBytes`,
          );
        return;
    }
  }

  /** One complete line, CRLF excluded: bytes [s, e). */
  private onLine(buf: Buffer, s: number, e: number): void {
    switch (this.state) {
      case 'head':
        if (this.line === null) {
          if (s === e) {
            // RFC 9112 §2.2: ignore a few empty lines before the start line.
            if (++this.emptyLines > MAX_LEADING_EMPTY_LINES)
              fail(E.BAD_REQUEST_LINE, 400, `more than ${MAX_LEADING_EMPTY_LINES} empty lines before the start line`);
            return;
          }
          this.line = this.parseStartLine(buf, s, e);
          return;
        }
        if (s === e) {
          this.emptyLines = 0;
          this.fieldBytes = 0;
          return this.endOfHead();
        }
        this.field(buf, s, e, e - s + 2);
        return;
      case 'chunk-size':
        return this.chunkSize(buf, s, e);
      case 'chunk-end':
        if (s !== e) fail(E.BAD_CHUNK, 400, 'chunk data must be followed by CRLF (RFC 9112 §7.1)');
        this.state = 'chunk-size';
        return;
      case 'trailer':
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
    if (this.lower.length >= this.limits.maxHeaderCount)
      fail(
        E.TOO_MANY_HEADERS,
        431,
        `more than ${this.limits.maxHeaderCount} header fields; send fewer or raise maxHeaderCount`,
      );
    parseFieldLine(buf, s, e, this);
  }

  /** chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); the line's grammar is chunked.ts's. */
  private chunkSize(buf: Buffer, s: number, e: number): void {
    const size = parseChunkLine(buf, s, e);
    if (size === 0) {
      this.state = 'trailer';
      this.fieldBytes = 0;
      this.raw = [];
      this.lower = [];
    } else {
      this.state = 'chunk-data';
      this.remaining = size;
    }
  }

  /**
   * Called by `endOfHead` before it reports the head: the fields are handed
   * over and the state moves to the body. `length` counts a 'length' body.
   * Returns true when the message has no body bytes to wait for, and the
   * caller then reports `complete(null)` after the head.
   */
  protected beginBody(framing: BodyFraming, length: number): boolean {
    this.raw = [];
    this.lower = [];
    if (framing === 'chunked') this.state = 'chunk-size';
    else if (framing === 'close') {
      this.state = 'body';
      this.remaining = Infinity;
    } else if (framing === 'length' && length > 0) {
      this.state = 'body';
      this.remaining = length;
    } else return true;
    return false;
  }

  protected complete(trailers: Headers | null): void {
    this.state = 'head';
    if (this.lower.length > 0) {
      // Trailer fields went to `trailers`; after a head beginBody already started new lists.
      this.raw = [];
      this.lower = [];
    }
    this.fieldBytes = 0;
    this.handler.onComplete(trailers);
  }
}
