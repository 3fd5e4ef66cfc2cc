/**
 * Field-value syntax on strings (header values already decoded as latin-1),
 * shared by the request parser, the response side, the bridges and the CLI.
 *
 * HTTP's whitespace is SP and HTAB only (RFC 9110 §5.6.3: OWS, RWS, BWS).
 * `String.prototype.trim()` and `\s` also strip VT, FF, U+00A0, U+1680,
 * U+2000-U+200A, U+2028, U+3000, U+FEFF (and other engines' helpers U+0085):
 * to HTTP those are data, and a parser that strips them reads `Transfer-Encoding: \xa0chunked`
 * as chunked where a strict peer does not (request smuggling). So nothing
 * here, and nothing that handles protocol data, uses them.
 */
import { HTAB, SP, TCHAR } from './chars.js';

/** OWS byte: SP or HTAB (RFC 9110 §5.6.3). */
function isOWS(c: number): boolean {
  return c === SP || c === HTAB;
}

/** `value` without leading and trailing SP/HTAB; every other character is kept. */
export function trimOWS(value: string): string {
  let s = 0;
  let e = value.length;
  while (s < e && isOWS(value.charCodeAt(s))) s++;
  while (e > s && isOWS(value.charCodeAt(e - 1))) e--;
  return s === 0 && e === value.length ? value : value.slice(s, e);
}

/**
 * The elements of a comma-separated list (RFC 9110 §5.6.1: `#element`), each
 * with SP/HTAB trimmed, empty elements dropped.
 */
export function listElements(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && value.charCodeAt(i) !== 0x2c) continue;
    const t = trimOWS(value.slice(start, i));
    if (t !== '') out.push(t);
    start = i + 1;
  }
  return out;
}

/** True when the list `value` holds `token` (compared case-insensitively; `token` in lower case). */
export function hasListToken(value: string, token: string): boolean {
  for (const e of listElements(value)) if (e.length === token.length && e.toLowerCase() === token) return true;
  return false;
}

/** token = 1*tchar (RFC 9110 §5.6.2). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}
