/**
 * Response framing, as pure functions: the status line and headers with the
 * framing they decide (RFC 9112 §6.3), and the one buffer that carries a head
 * with its first body bytes.
 */
import { Buffer } from 'node:buffer';
import type { Latin1Buffer } from './chars.js';
import type { BodyFraming } from './message.js';
import { mayHaveContentLength, responseHasNoBody } from './rules.js';
import { hasListToken } from './syntax.js';

/** No body (HEAD, 1xx, 204, 205, 304: rules.ts `responseHasNoBody`). */
export const NONE: BodyFraming = 'none';
/** Content-Length. */
export const LENGTH: BodyFraming = 'length';
/** Transfer-Encoding: chunked (HTTP/1.1). */
export const CHUNKED: BodyFraming = 'chunked';
/** Delimited by closing the connection (HTTP/1.0 with an unknown length). */
export const CLOSE: BodyFraming = 'close';

export const LAST_CHUNK = '0\r\n\r\n';

/** Chunks shorter than this are copied into one buffer with their size line and CRLF (`chunkFrame`); longer ones are not copied. */
export const FRAME_COPY_BYTES = 1024;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Hex digits of `n` written at `out[at..]`, then CRLF; returns the bytes written (RFC 9112 §7.1 chunk-size, no extensions). */
function putSizeLine(out: Buffer, at: number, n: number, digits: number): number {
  for (let i = at + digits - 1, v = n; i >= at; i--, v >>>= 4) out[i] = HEX[v & 15]!;
  out[at + digits] = 13;
  out[at + digits + 1] = 10;
  return digits + 2;
}

function hexDigits(n: number): number {
  let digits = 1;
  for (let v = n >>> 4; v > 0; v >>>= 4) digits++;
  return digits;
}

/** The size line of a chunk of `n` bytes: `n` in hex, CRLF. */
export function chunkSizeLine(n: number): Buffer {
  const digits = hexDigits(n);
  const out = Buffer.allocUnsafe(digits + 2);
  putSizeLine(out, 0, n, digits);
  return out;
}

/** A whole chunk in one buffer (RFC 9112 §7.1: size line, the data, CRLF): for data shorter than FRAME_COPY_BYTES, one write instead of three. */
export function chunkFrame(data: Uint8Array): Buffer {
  const n = data.length;
  const digits = hexDigits(n);
  const out = Buffer.allocUnsafe(digits + 4 + n);
  const at = putSizeLine(out, 0, n, digits);
  out.set(data, at);
  out[at + n] = 13;
  out[at + n + 1] = 10;
  return out;
}

export interface HeadInput {
  method: string;
  /** The request's version: decides chunked vs close-delimited and the keep-alive header. */
  version: string;
  code: number;
  phrase: string;
  names: readonly string[];
  values: readonly string[];
  /** The connection may persist as far as the request and its input go. */
  keepAlive: boolean;
  /** The whole body's length when known now (everything written before finish), else -1. */
  knownLength: number;
  date: string;
  serverName: string | undefined;
}

export interface HeadPlan {
  text: string;
  framing: BodyFraming;
  /** Content-Length sent, -1 when none. */
  lengthOut: number;
  keepAlive: boolean;
}

/**
 * No body for HEAD, 1xx, 204, 205 and 304 (rules.ts); Content-Length when the
 * app set it or the whole body is known; chunked for 1.1; close-delimited for 1.0.
 */
export function planHead(h: HeadInput): HeadPlan {
  const fields = headFields(h.code, h.phrase, h.names, h.values, h.date, h.serverName);
  const t: HeadTail = { framing: NONE, lengthOut: -1, keepAlive: false, lengthLine: -1 };
  frameHead(fields, h.method, h.version, h.code, h.keepAlive, h.knownLength, t);
  return {
    text: fields.text + tailText(t, h.version),
    framing: t.framing,
    lengthOut: t.lengthOut,
    keepAlive: t.keepAlive,
  };
}

/** The part of a head the app's status and headers decide (headcache.ts keeps the last one). */
export interface HeadFields {
  /** The status line, the app's fields (not Content-Length or Connection), Date and Server, each ending in CRLF. */
  text: string;
  /** The app's Content-Length, -1 when it set none. */
  appLength: number;
  /** The app's Connection field holds "close". */
  appClose: boolean;
}

/** The status line and fields: the app's, then Date and Server unless it set them. */
export function headFields(
  code: number,
  phrase: string,
  names: readonly string[],
  values: readonly string[],
  date: string,
  serverName: string | undefined,
): HeadFields {
  let s = `HTTP/1.1 ${code} ${phrase}\r\n`;
  let appLength = -1;
  let appClose = false;
  let hasDate = false;
  let hasServer = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = values[i]!;
    const n = name.length;
    const key = n === 14 || n === 10 || n === 4 || n === 6 ? name.toLowerCase() : '';
    if (key === 'content-length') {
      appLength = Number(value);
      continue;
    }
    if (key === 'connection') {
      // The server owns Connection; an app's "close" is honoured (a list element, SP/HTAB trimmed only).
      if (hasListToken(value, 'close')) appClose = true;
      continue;
    }
    if (key === 'date') hasDate = true;
    else if (key === 'server') hasServer = true;
    s += `${name}: ${value}\r\n`;
  }
  if (!hasDate) s += `Date: ${date}\r\n`;
  if (!hasServer && serverName !== undefined) s += `Server: ${serverName}\r\n`;
  return { text: s, appLength, appClose };
}

/** How the body is framed: decides the head's last lines (`tailText`). */
export interface HeadTail {
  framing: BodyFraming;
  /** Content-Length sent, -1 when none. */
  lengthOut: number;
  keepAlive: boolean;
  /** The value of the Content-Length line the head carries, -1 for none (a 205 says 0 and sends no body). */
  lengthLine: number;
}

/** The framing (RFC 9112 §6.3) of a response with `fields` to `method` / `version`, into `t`. */
export function frameHead(
  fields: HeadFields,
  method: string,
  version: string,
  code: number,
  keepAlive: boolean,
  knownLength: number,
  t: HeadTail,
): void {
  const appLength = fields.appLength;
  t.keepAlive = keepAlive && !fields.appClose;
  t.lengthOut = -1;
  t.lengthLine = -1;
  if (responseHasNoBody(method, code)) {
    t.framing = NONE;
    // RFC 9110 §8.6: no Content-Length in 1xx/204; HEAD and 304 may carry the GET's length.
    // A HEAD app that wrote nothing has not said how long the GET body is: send no length then.
    const len = appLength >= 0 ? appLength : method === 'HEAD' && knownLength > 0 ? knownLength : -1;
    // RFC 9110 §15.3.6: a 205 is not self-delimiting (RFC 9112 §6.3), so it says its length is 0.
    if (code === 205) t.lengthLine = 0;
    else if (len >= 0 && mayHaveContentLength(code)) t.lengthLine = len;
  } else if (appLength >= 0 || knownLength >= 0) {
    t.framing = LENGTH;
    t.lengthOut = t.lengthLine = appLength >= 0 ? appLength : knownLength;
  } else if (version === 'HTTP/1.1') t.framing = CHUNKED;
  else {
    t.framing = CLOSE;
    t.keepAlive = false;
  }
}

/** The head's last lines for `t`: Content-Length or Transfer-Encoding, Connection, the empty line. */
export function tailText(t: HeadTail, version: string): string {
  let s =
    t.lengthLine >= 0
      ? `Content-Length: ${t.lengthLine}\r\n`
      : t.framing === CHUNKED
        ? 'Transfer-Encoding: chunked\r\n'
        : '';
  if (!t.keepAlive) s += 'Connection: close\r\n';
  else if (version === 'HTTP/1.0') s += 'Connection: keep-alive\r\n';
  return `${s}\r\n`;
}

/**
 * One buffer: `head`, then the first `framed` bytes of `body` framed per
 * `framing` (a chunk of its own when chunked), then the last chunk if `end`.
 */
export function assemble(
  head: string | Uint8Array,
  framing: BodyFraming,
  body: readonly Uint8Array[],
  framed: number,
  end: boolean,
): Buffer {
  // The chunk's size line is written as bytes (putSizeLine), as chunkSizeLine does: no hex string per response.
  const digits = framing === CHUNKED && framed > 0 ? hexDigits(framed) : 0;
  const suffix = framing === CHUNKED ? (framed > 0 ? '\r\n' : '') + (end ? LAST_CHUNK : '') : '';
  const out = Buffer.allocUnsafe(head.length + (digits > 0 ? digits + 2 : 0) + framed + suffix.length);
  const lout = out as unknown as Latin1Buffer;
  let at = 0;
  if (typeof head === 'string') at = lout.latin1Write(head, 0);
  else {
    out.set(head, 0);
    at = head.length;
  }
  if (digits > 0) at += putSizeLine(out, at, framed, digits);
  let left = framed;
  for (const chunk of body) {
    if (left === 0) break;
    const n = Math.min(left, chunk.length);
    out.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
    at += n;
    left -= n;
  }
  if (suffix) lout.latin1Write(suffix, at);
  return out;
}
