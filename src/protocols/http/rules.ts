/**
 * HTTP rules that more than one part of spindle applies, each in one place.
 * The request parser, the response framing, `Request`, the gateway and
 * `startResponse`, the validator, the Fetch and node:http hosts, the response
 * parser and the CLI's access log import them from here; none keeps a copy.
 *
 * Which responses have no body is two questions with different answers:
 * - what a server sends: nothing after the head of a response to HEAD or with
 *   1xx, 204, 205 or 304 (`responseHasNoBody`);
 * - where a recipient ends the message: at the head for HEAD, 1xx, 204 and
 *   304 (`responseEndsAtHead`, RFC 9112 §6.3 rule 1). 205 is not in that list,
 *   so a 205 is sent with `Content-Length: 0` (RFC 9110 §15.3.6).
 */
import { FIELD_VALUE } from './chars.js';
import { isToken, trimOWS } from './syntax.js';

// ------------------------------------------------------------------ statuses

/**
 * Statuses whose responses never carry content: 1xx (RFC 9110 §15.2), 204
 * (§15.3.5), 205 (§15.3.6: "a server MUST NOT generate content") and 304
 * (§15.4.5). The Fetch standard's null body statuses are these as well.
 */
export function isNoContentStatus(code: number): boolean {
  return code < 200 || code === 204 || code === 205 || code === 304;
}

/** The server sends no body: a response to HEAD (RFC 9110 §9.3.2) or with a no-content status. */
export function responseHasNoBody(method: string, code: number): boolean {
  return method === 'HEAD' || isNoContentStatus(code);
}

/**
 * RFC 9112 §6.3 rule 1: a response to HEAD, or with 1xx, 204 or 304, ends at
 * the empty line after its head whatever its fields say. (A 205 is framed as
 * usual: its sender gives it a zero length.)
 */
export function responseEndsAtHead(method: string, code: number): boolean {
  return method === 'HEAD' || code < 200 || code === 204 || code === 304;
}

/**
 * May this response carry a Content-Length field (RFC 9110 §8.6)? Not a 1xx
 * or 204; a 205 carries exactly `Content-Length: 0` (RFC 9110 §15.3.6).
 */
export function mayHaveContentLength(code: number): boolean {
  return code >= 200 && code !== 204;
}

// ------------------------------------------------------------------ fields

/** field-name = token (RFC 9110 §5.1). */
export function isFieldName(name: string): boolean {
  return isToken(name);
}

/**
 * field-value: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5), as a latin-1
 * string. CR, LF, NUL, the other controls, DEL and anything past U+00FF
 * are refused (CR or LF in a value a server writes would inject a header).
 * Also the rule for a reason phrase (RFC 9112 §4).
 */
export function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) return false;
  }
  return true;
}

/**
 * Connection-specific fields only the server writes (RFC 9110 §7.6.1, plus
 * the proxy ones and Trailers): an app may not set them through a gateway
 * (PEP 3333, G9), and a bridge drops them from a foreign response. Lower case.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

// ------------------------------------------------------------------ Content-Length

/** Digits in a Content-Length: 15 keeps it below Number.MAX_SAFE_INTEGER. */
export const MAX_CONTENT_LENGTH_DIGITS = 15;

/** True when `text` is 1 to 15 ASCII digits and nothing else (RFC 9110 §8.6, bounded). */
export function isContentLengthDigits(text: string): boolean {
  if (text.length === 0 || text.length > MAX_CONTENT_LENGTH_DIGITS) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6), SP/HTAB around it allowed (OWS,
 * RFC 9110 §5.5): the length, or null for anything else (a list, a sign, hex,
 * an exponent, a Unicode space: `Number()` would accept several of those).
 */
export function parseContentLength(value: string): number | null {
  const t = trimOWS(value);
  return isContentLengthDigits(t) ? Number(t) : null;
}
