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
  const code = h.code;
  const noBody = responseHasNoBody(h.method, code);
  let keepAlive = h.keepAlive;
  let s = `HTTP/1.1 ${code} ${h.phrase}\r\n`;
  let appLength = -1;
  let hasDate = false;
  let hasServer = false;
  for (let i = 0; i < h.names.length; i++) {
    const name = h.names[i]!;
    const value = h.values[i]!;
    const n = name.length;
    const key = n === 14 || n === 10 || n === 4 || n === 6 ? name.toLowerCase() : '';
    if (key === 'content-length') {
      appLength = Number(value);
      continue;
    }
    if (key === 'connection') {
      // The server owns Connection; an app's "close" is honoured (a list element, SP/HTAB trimmed only).
      if (hasListToken(value, 'close')) keepAlive = false;
      continue;
    }
    if (key === 'date') hasDate = true;
    else if (key === 'server') hasServer = true;
    s += `${name}: ${value}\r\n`;
  }
  if (!hasDate) s += `Date: ${h.date}\r\n`;
  if (!hasServer && h.serverName !== undefined) s += `Server: ${h.serverName}\r\n`;
  let framing: BodyFraming;
  let lengthOut = -1;
  if (noBody) {
    framing = NONE;
    // RFC 9110 §8.6: no Content-Length in 1xx/204; HEAD and 304 may carry the GET's length.
    // A HEAD app that wrote nothing has not said how long the GET body is: send no length then.
    const len = appLength >= 0 ? appLength : h.method === 'HEAD' && h.knownLength > 0 ? h.knownLength : -1;
    // RFC 9110 §15.3.6: a 205 is not self-delimiting (RFC 9112 §6.3), so it says its length is 0.
    if (code === 205) s += 'Content-Length: 0\r\n';
    else if (len >= 0 && mayHaveContentLength(code)) s += `Content-Length: ${len}\r\n`;
  } else if (appLength >= 0 || h.knownLength >= 0) {
    framing = LENGTH;
    lengthOut = appLength >= 0 ? appLength : h.knownLength;
    s += `Content-Length: ${lengthOut}\r\n`;
  } else if (h.version === 'HTTP/1.1') {
    framing = CHUNKED;
    s += 'Transfer-Encoding: chunked\r\n';
  } else {
    framing = CLOSE;
    keepAlive = false;
  }
  if (!keepAlive) s += 'Connection: close\r\n';
  else if (h.version === 'HTTP/1.0') s += 'Connection: keep-alive\r\n';
  return { text: `${s}\r\n`, framing, lengthOut, keepAlive };
}

/**
 * One buffer: `head`, then the first `framed` bytes of `body` framed per
 * `framing` (a chunk of its own when chunked), then the last chunk if `end`.
 */
export function assemble(
  head: string,
  framing: BodyFraming,
  body: readonly Uint8Array[],
  framed: number,
  end: boolean,
): Buffer {
  const prefix = framing === CHUNKED && framed > 0 ? `${framed.toString(16)}\r\n` : '';
  const suffix = framing === CHUNKED ? (framed > 0 ? '\r\n' : '') + (end ? LAST_CHUNK : '') : '';
  const out = Buffer.allocUnsafe(head.length + prefix.length + framed + suffix.length);
  const lout = out as unknown as Latin1Buffer;
  let at = lout.latin1Write(head, 0);
  if (prefix) at += lout.latin1Write(prefix, at);
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
