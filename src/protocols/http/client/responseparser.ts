/**
 * `ResponseParser`: an incremental, strict HTTP/1.1 response parser (RFC 9112),
 * the client's twin of the request parser. No I/O: bytes in through `feed()`,
 * the end of the connection through `finish()`, events out through a handler.
 * The line, field, chunked and pause machinery is message.ts's, shared with
 * the request parser; this file holds the status line and the response's
 * framing rules (RFC 9112 §6.3), which depend on the request's method.
 *
 * Strictness is the request parser's: CRLF only, no obs-fold, no control
 * bytes, Content-Length and Transfer-Encoding together refused, a repeated or
 * malformed Content-Length refused, only "chunked" as a transfer coding, limits
 * on the status line, header bytes and count, chunk lines and trailers. Errors
 * are `HTTPParseError`s whose `status` is 502: what a gateway answers for an
 * upstream that sent them (RFC 9110 §15.6.3).
 */
import type { Buffer } from 'node:buffer';
import { FIELD_VALUE, SP, isDigit, isVersionShape, type Latin1Buffer } from '../chars.js';
import { HTTPParseError, ParseErrorCodes as E } from '../errors.js';
import { Headers } from '../headers.js';
import {
  chunkedCoding,
  connectionOptions,
  contentLength as parseContentLength,
  fail,
  type HTTPVersion,
} from '../head.js';
import { MessageParser, type BodyFraming, type MessageHandler } from '../message.js';
import { responseEndsAtHead } from '../rules.js';
import { messageLimits } from '../parser.js';

/** Longest status line, CRLF excluded. */
export const DEFAULT_MAX_STATUS_LINE_BYTES = 8 * 1024;

export interface ResponseParserLimits {
  maxStatusLineBytes?: number;
  maxHeaderBytes?: number;
  maxHeaderCount?: number;
  maxChunkLineBytes?: number;
  maxTrailerBytes?: number;
}

/** What the parser hands over once a response head is complete and accepted. */
export interface ResponseHead {
  version: HTTPVersion;
  code: number;
  phrase: string;
  headers: Headers;
  /** The connection may carry another request after this response (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** How the body is delimited (RFC 9112 §6.3). */
  framing: BodyFraming;
  /** Body length for 'length', 0 for 'none', -1 otherwise. */
  contentLength: number;
}

export interface ResponseParserHandler extends MessageHandler<ResponseHead> {
  /** An interim 1xx response (not 101) came before the final one (RFC 9110 §15.2); optional. */
  onInformational?(head: ResponseHead): void;
}

interface StatusLine {
  version: HTTPVersion;
  code: number;
  phrase: string;
}

/** status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). */
function parseStatusLine(buf: Buffer, s: number, e: number): StatusLine {
  const b = buf as unknown as Latin1Buffer;
  if (e - s < 12 || !isVersionShape(buf, s) || buf[s + 8] !== SP) {
    fail(
      E.BAD_STATUS_LINE,
      502,
      `expected a status line "HTTP/1.1 200 OK" (RFC 9112 §4), got ${JSON.stringify(b.latin1Slice(s, Math.min(e, s + 32)))}`,
    );
  }
  if (buf[s + 5] !== 0x31 || (buf[s + 7] !== 0x31 && buf[s + 7] !== 0x30)) {
    fail(E.VERSION_NOT_SUPPORTED, 502, `response version ${b.latin1Slice(s, s + 8)} is not HTTP/1.1 or HTTP/1.0`);
  }
  const version: HTTPVersion = buf[s + 7] === 0x31 ? 'HTTP/1.1' : 'HTTP/1.0';
  const c0 = buf[s + 9]!,
    c1 = buf[s + 10]!,
    c2 = buf[s + 11]!;
  // status-code = 3DIGIT; RFC 9110 §15 defines 100-599 and we refuse the rest.
  if (!isDigit(c0) || !isDigit(c1) || !isDigit(c2) || c0 < 0x31 || c0 > 0x35) {
    fail(
      E.BAD_STATUS_LINE,
      502,
      `status code must be three digits 100-599 (RFC 9110 §15), got ${JSON.stringify(b.latin1Slice(s + 9, Math.min(e, s + 12)))}`,
    );
  }
  const code = (c0 - 0x30) * 100 + (c1 - 0x30) * 10 + (c2 - 0x30);
  // The SP before an empty reason-phrase is required by the grammar; servers that
  // drop it ("HTTP/1.1 200") are common and nothing is ambiguous, so we accept it.
  if (e === s + 12) return { version, code, phrase: '' };
  if (buf[s + 12] !== SP)
    fail(E.BAD_STATUS_LINE, 502, 'status code must be followed by SP and the reason phrase (RFC 9112 §4)');
  for (let i = s + 13; i < e; i++) {
    if (FIELD_VALUE[buf[i]!] !== 1)
      fail(
        E.BAD_STATUS_LINE,
        502,
        `invalid byte 0x${buf[i]!.toString(16).padStart(2, '0')} in the reason phrase (RFC 9112 §4)`,
      );
  }
  return { version, code, phrase: b.latin1Slice(s + 13, e) };
}

export class ResponseParser extends MessageParser<ResponseHead, StatusLine> {
  /** The method of the request this response answers: HEAD means no body (RFC 9112 §6.3). */
  private method = 'GET';
  private hasSwitched = false;

  constructor(
    private readonly responseHandler: ResponseParserHandler,
    limits: ResponseParserLimits = {},
  ) {
    super(responseHandler, messageLimits(limits, limits.maxStatusLineBytes ?? DEFAULT_MAX_STATUS_LINE_BYTES));
  }

  /** Say which request the next response answers; call before its first byte is fed. */
  expectResponseTo(method: string): void {
    this.method = method;
  }

  /**
   * The connection ended (the server closed it). A body delimited by the close
   * completes; a message cut short is an `ERR_HTTP_INCOMPLETE_MESSAGE` error;
   * between messages nothing happens.
   */
  finish(): void {
    if (this.failed) return;
    if (this.state === 'body' && this.remaining === Infinity) {
      this.state = 'head';
      this.responseHandler.onComplete(null);
      return;
    }
    if (!this.inMessage) return;
    this.failWith(
      new HTTPParseError(
        E.INCOMPLETE_MESSAGE,
        502,
        'the connection closed before the response ended (the server sent fewer bytes than its framing promised)',
      ),
    );
  }

  /** Parse errors from shared code carry a server's 4xx; a client reports them as 502. */
  protected override reportError(err: HTTPParseError): HTTPParseError {
    return err.status === 502 ? err : new HTTPParseError(err.code, 502, `bad response from the server: ${err.message}`);
  }

  protected parseStartLine(buf: Buffer, s: number, e: number): StatusLine {
    return parseStatusLine(buf, s, e);
  }

  protected startLineTooLong(max: number): never {
    fail(E.STATUS_LINE_TOO_LONG, 502, `status line is longer than ${max} bytes; raise maxStatusLineBytes`);
  }

  protected endOfHead(): void {
    const line = this.line!;
    this.line = null;
    const raw = this.raw;
    const lower = this.lower;
    let cls = 0,
      cl = '';
    let te: string | null = null;
    let connection: string | null = null;
    for (let i = 0; i < lower.length; i++) {
      const n = lower[i]!;
      const v = raw[2 * i + 1]!;
      if (n === 'content-length') (cls++, (cl = v));
      else if (n === 'transfer-encoding') te = te === null ? v : `${te},${v}`;
      else if (n === 'connection') connection = connection === null ? v : `${connection},${v}`;
    }
    const code = line.code;
    const conn = connectionOptions(connection);
    let keepAlive = !conn.close && (line.version === 'HTTP/1.1' || conn.keepAlive);
    let framing: BodyFraming;
    let length = -1;
    // RFC 9112 §6.3 (1): HEAD, 1xx, 204 and 304 end at the empty line, whatever the fields say.
    if (responseEndsAtHead(this.method, code)) {
      framing = 'none';
      length = 0;
    } else if (te !== null) {
      // RFC 9112 §6.1: TE in an HTTP/1.0 message means faulty framing.
      if (line.version === 'HTTP/1.0')
        fail(E.BAD_TRANSFER_ENCODING, 502, 'Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1)');
      // RFC 9112 §6.3 (3): CL with TE "ought to be handled as an error": we refuse it.
      if (cls > 0)
        fail(
          E.CL_AND_TE,
          502,
          'response has both Content-Length and Transfer-Encoding (RFC 9112 §6.3); a response splitting attempt or a broken server',
        );
      chunkedCoding(te);
      framing = 'chunked';
    } else if (cls > 0) {
      framing = 'length';
      length = parseContentLength(cls, cl);
    } else {
      // RFC 9112 §6.3 (8): no framing fields: the body runs until the server closes.
      framing = 'close';
      keepAlive = false;
    }
    // 101 hands the connection to another protocol: nothing after it is HTTP.
    if (code === 101) keepAlive = false;
    const head: ResponseHead = {
      version: line.version,
      code,
      phrase: line.phrase,
      headers: new Headers(raw, lower),
      keepAlive,
      framing,
      contentLength: length,
    };
    if (code < 200 && code !== 101) {
      // RFC 9110 §15.2: a client must accept interim responses and may ignore them.
      this.raw = [];
      this.lower = [];
      this.responseHandler.onInformational?.(head);
      return;
    }
    const noBody = this.beginBody(framing, length);
    if (code === 101) {
      // RFC 9110 §15.2.2: the bytes after the 101's empty line are the new protocol's.
      // Hold them (the parse loop stores what it has not read while paused) for takeBuffered().
      this.hasSwitched = true;
      this.pause();
      this.responseHandler.onHead(head);
      return;
    }
    this.responseHandler.onHead(head);
    if (noBody) this.complete(null);
  }

  /**
   * A `101 Switching Protocols` head was parsed: the connection now speaks another
   * protocol. The parser stays paused for good and stores what is fed (counted in
   * `bufferedBytes`); `takeBuffered()` returns it.
   */
  get switched(): boolean {
    return this.hasSwitched;
  }

  override resume(): void {
    if (!this.hasSwitched) super.resume();
  }
}
