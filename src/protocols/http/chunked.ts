/**
 * The chunk-size line of the chunked transfer coding (RFC 9112 §7.1), as a
 * pure function over a byte range, shared by every parser of chunked bodies
 * (requests and responses alike).
 *
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token
 *   chunk-ext-val  = token / quoted-string                         (RFC 9112 §7.1.1)
 *
 * Extensions are checked and then ignored (no extension is defined). BWS is
 * refused, not skipped: RFC 9110 §5.6.3 forbids senders to generate it, strict
 * llhttp (node:http) refuses it, and two parsers that disagree on where a
 * chunk line ends disagree on where the body ends.
 */
import type { Buffer } from 'node:buffer';
import { CR, HEX, HTAB, SP, TCHAR } from './chars.js';
import { ParseErrorCodes as E } from './errors.js';
import { fail } from './head.js';

/** Hex digits in a chunk size: 13 keeps every size below 2^52, exact in a double. */
export const MAX_CHUNK_SIZE_DIGITS = 13;

const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4). */
const isQdtext = (c: number): boolean =>
  c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
/** quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ). */
const isQuotable = (c: number): boolean => c === HTAB || (c >= 0x20 && c <= 0x7e) || c >= 0x80;

function badExtension(buf: Buffer, at: number, e: number, what: string): never {
  const c = at < e ? buf[at] : undefined;
  if (c === CR) fail(E.BARE_CR, 400, 'bare CR in a chunk extension; lines end with CRLF (RFC 9112 §2.2)');
  const got = c === undefined ? 'the end of the line' : `byte 0x${c.toString(16).padStart(2, '0')}`;
  fail(
    E.BAD_CHUNK,
    400,
    `malformed chunk extension: expected ${what}, got ${got} (RFC 9112 §7.1.1: ";name" or ";name=token" or ";name=\\"quoted\\"", no spaces)`,
  );
}

/** The end of the token that starts at `i` (at least one tchar), or a 400. */
function token(buf: Buffer, i: number, e: number, what: string): number {
  const s = i;
  while (i < e && TCHAR[buf[i]!] === 1) i++;
  if (i === s) badExtension(buf, i, e, what);
  return i;
}

/** The end of the quoted-string whose opening DQUOTE is at `i`, or a 400. */
function quoted(buf: Buffer, i: number, e: number): number {
  for (i++; i < e; i++) {
    const c = buf[i]!;
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      if (++i === e || !isQuotable(buf[i]!)) badExtension(buf, i, e, 'a quotable character after "\\"');
    } else if (!isQdtext(c)) badExtension(buf, i, e, "quoted-string text or a closing '\"'");
  }
  return badExtension(buf, e, e, "a closing '\"'");
}

/** Check the chunk-ext in [i, e): zero or more `;name[=value]`. */
function checkChunkExtensions(buf: Buffer, i: number, e: number): void {
  while (i < e) {
    if (buf[i] !== SEMI) badExtension(buf, i, e, '";" or the end of the line');
    i = token(buf, i + 1, e, 'an extension name (a token)');
    if (i < e && buf[i] === EQUALS) {
      i++;
      i =
        i < e && buf[i] === DQUOTE
          ? quoted(buf, i, e)
          : token(buf, i, e, 'an extension value (a token or a quoted-string)');
    }
  }
}

/** Parse `chunk-size [ chunk-ext ]` in [s, e) (CRLF excluded): the size, or a 400. */
export function parseChunkLine(buf: Buffer, s: number, e: number): number {
  let size = 0;
  let i = s;
  while (i < e && HEX[buf[i]!]! >= 0) size = size * 16 + HEX[buf[i++]!]!;
  if (i === s) fail(E.BAD_CHUNK, 400, 'chunk size must be hexadecimal digits (RFC 9112 §7.1)');
  if (i - s > MAX_CHUNK_SIZE_DIGITS)
    fail(E.BAD_CHUNK, 400, `chunk size has more than ${MAX_CHUNK_SIZE_DIGITS} hex digits`);
  if (i < e) {
    if (buf[i] !== SEMI)
      fail(
        E.BAD_CHUNK,
        400,
        'chunk size must be followed by CRLF or ";extension" with no space before it (RFC 9112 §7.1.1)',
      );
    checkChunkExtensions(buf, i, e);
  }
  return size;
}
