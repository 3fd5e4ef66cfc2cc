/**
 * The request head a client sends (RFC 9112 §3): request line, Host, the
 * caller's fields (checked: a token name, no CR/LF/NUL in a value, so no field
 * can be injected), and the framing fields the client owns: Content-Length or
 * Transfer-Encoding (RFC 9112 §6.1-6.2) and Connection (RFC 9112 §9.6).
 * A caller's `Upgrade` field asks for a protocol switch: the client then sends
 * `Connection: Upgrade` with it (RFC 9110 §7.8 requires the option).
 */
import { FIELD_VALUE, TARGET, TCHAR } from '../chars.js';
import type { IHeaders } from '../interfaces.js';
import { InvalidRequestError } from './errors.js';
import type { RequestHeaders } from './interfaces.js';

/** Fields the client sets itself from the body and the pool; a caller's values for them are dropped. */
const OWNED = new Set(['content-length', 'transfer-encoding', 'connection']);

const isHeaders = (h: RequestHeaders): h is IHeaders => typeof (h as IHeaders).rawPairs === 'function';

/** The caller's fields as pairs, in order. */
export function headerPairs(headers: RequestHeaders | null | undefined): Array<readonly [string, string]> {
  if (headers == null) return [];
  if (isHeaders(headers)) return [...headers.rawPairs()];
  if (Array.isArray(headers)) return headers as Array<readonly [string, string]>;
  const out: Array<readonly [string, string]> = [];
  for (const [n, v] of Object.entries(headers as Record<string, string | readonly string[]>)) {
    if (typeof v === 'string') out.push([n, v]);
    else for (const one of v) out.push([n, one]);
  }
  return out;
}

function checkToken(what: string, s: string): void {
  if (s.length === 0) throw new InvalidRequestError(`empty ${what}; it must be a token (RFC 9110 §5.6.2)`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1)
      throw new InvalidRequestError(
        `${what} ${JSON.stringify(s.slice(0, 40))} has the character ${JSON.stringify(s[i])}; it must be a token (RFC 9110 §5.6.2)`,
      );
  }
}

function checkValue(name: string, v: string): void {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1)
      throw new InvalidRequestError(
        `header ${name} has the character code ${c} in its value; CR, LF, NUL and other controls would break the request (RFC 9110 §5.5)`,
      );
  }
}

/** The request-target must be visible ASCII: percent-encode anything else (RFC 9112 §3.2). */
function checkTarget(t: string): void {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c > 0xff || TARGET[c] !== 1)
      throw new InvalidRequestError(
        `request-target ${JSON.stringify(t.slice(0, 60))} has the character ${JSON.stringify(t[i])}; percent-encode it`,
      );
  }
}

export interface HeadFraming {
  /** Body bytes to announce with Content-Length, or -1 for chunked, or null for no body field. */
  length: number | null;
  /** Ask the server to close after this response (a non-persistent pool). */
  close: boolean;
  /** Set by `requestHead`: the caller sent `Upgrade`, so the head carries `Connection: Upgrade`. */
  upgrade?: boolean;
}

/** The head as one latin1 string, ending with the empty line. Throws `InvalidRequestError`. */
export function requestHead(
  method: string,
  target: string,
  host: string,
  headers: RequestHeaders | null | undefined,
  framing: HeadFraming,
): string {
  checkToken('method', method);
  checkTarget(target);
  let s = `${method} ${target} HTTP/1.1\r\n`;
  let hasHost = false;
  let upgrade = false;
  let fields = '';
  for (const [name, value] of headerPairs(headers)) {
    checkToken('header name', name);
    checkValue(name, value);
    const lower = name.toLowerCase();
    if (OWNED.has(lower)) continue;
    if (lower === 'host') hasHost = true;
    else if (lower === 'upgrade') upgrade = true;
    fields += `${name}: ${value}\r\n`;
  }
  if (!hasHost) s += `Host: ${host}\r\n`;
  s += fields;
  if (framing.length === -1) s += 'Transfer-Encoding: chunked\r\n';
  else if (framing.length !== null) s += `Content-Length: ${framing.length}\r\n`;
  // An upgrade is asked on a connection of its own (the Agent opens a fresh one): a
  // non-101 answer on a non-persistent pool is closed by the pool, so `close` is not added.
  if (upgrade) {
    framing.upgrade = true;
    s += 'Connection: Upgrade\r\n';
  } else if (framing.close) s += 'Connection: close\r\n';
  return `${s}\r\n`;
}

/** Methods a client may repeat without changing the outcome (RFC 9110 §9.2.2): safe to retry on a stale connection. */
export const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Methods whose requests carry a body by meaning: send Content-Length: 0 when there is none (RFC 9110 §8.6). */
export const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
