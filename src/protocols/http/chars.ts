/**
 * Byte classes of the HTTP grammar as 256-entry lookup tables, so the parser
 * validates a byte with one array read. Sources: RFC 9110 §5.6.2 (token),
 * RFC 9110 §5.5 (field-value), RFC 9112 §3.2 (request-target), RFC 3986 §3.2.2
 * (host).
 */

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA (RFC 9110 §5.6.2). */
export const TCHAR = table((c) => isAlnum(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/**
 * field-vchar / SP / HTAB: VCHAR, obs-text (0x80-0xFF, kept opaque) and the two
 * blanks. Every other control byte, NUL, CR, LF and DEL is refused (RFC 9110 §5.5:
 * "a recipient ... MUST either reject the message or replace each of those
 * characters with SP" — we reject).
 */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c <= 0x7e) || c >= 0x80);

/**
 * Bytes allowed in a request-target: the visible ASCII characters (RFC 3986
 * URI characters are a subset). No space, no control byte, no raw non-ASCII
 * (a client must percent-encode it).
 */
export const TARGET = table((c) => c >= 0x21 && c <= 0x7e);

/** uri-host [ ":" port ]: reg-name / IP-literal characters (RFC 3986 §3.2.2). */
export const HOST = table((c) => isAlnum(c) || "-._~!$&'()*+,;=%:[]".includes(String.fromCharCode(c)));

/** Hex digit values, -1 for a non-hex byte (chunk-size, RFC 9112 §7.1). */
export const HEX = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c;
    t[0x61 + c] = 10 + c;
  }
  return t;
})();

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;

/**
 * Node's Buffer has native `latin1Slice`/`latin1Write`; calling them directly
 * skips the encoding dispatch of `toString`/`write`, which shows up in the hot
 * path of every request. Typed here because @types/node does not list them.
 */
export interface Latin1Buffer extends Uint8Array {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number): number;
}

/** An ASCII digit (undefined past the end of a buffer is not one). */
export function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/**
 * HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3), at
 * `buf[s..s+8)`: the shape only. The request line and the status line each
 * judge which versions they speak and answer a bad one in their own terms.
 */
export function isVersionShape(buf: Uint8Array, s: number): boolean {
  return (
    buf[s] === 0x48 &&
    buf[s + 1] === 0x54 &&
    buf[s + 2] === 0x54 &&
    buf[s + 3] === 0x50 &&
    buf[s + 4] === 0x2f &&
    isDigit(buf[s + 5]) &&
    buf[s + 6] === 0x2e &&
    isDigit(buf[s + 7])
  );
}
