/**
 * Header field names that requests commonly carry, matched from the bytes
 * (exactly as written: field names are case-insensitive, RFC 9110 §5.1, but
 * clients send these spellings). A match gives the name and its lower-cased
 * form as shared strings: no `latin1Slice` (a call into C++) and no
 * `toLowerCase` for them, and later comparisons with the lower-cased
 * constants are pointer compares. Any other name (another spelling too) is
 * read from the bytes as before; the result is the same either way. The
 * parser also keeps the last value of each common field (one string each per
 * connection) and reuses it when the bytes spell it again.
 */

const COMMON = [
  'Host',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Authorization',
  'Cache-Control',
  'Connection',
  'Content-Length',
  'Content-Type',
  'Cookie',
  'If-Modified-Since',
  'If-None-Match',
  'Origin',
  'Pragma',
  'Referer',
  'Upgrade',
  'User-Agent',
  'host',
  'accept',
  'user-agent',
  'content-type',
  'content-length',
];

export interface Known {
  bytes: Uint8Array;
  name: string;
  lower: string;
  /** Its place in COMMON (a parser keeps the last value seen under each: see sameLatin1). */
  index: number;
}

/**
 * The longest value a parser keeps for reuse (one per common name, so at most
 * COMMON_COUNT of them per connection, ~5.6 KiB): a longer one is read anew
 * each time (comparing it would cost about as much).
 */
export const RECENT_VALUE_MAX_BYTES = 256;

/** How many common names there are (the size of a parser's list of recent values). */
export const COMMON_COUNT = COMMON.length;

/** The common names, by length. */
const BY_LENGTH: Known[][] = [];
for (const [index, name] of COMMON.entries()) {
  (BY_LENGTH[name.length] ??= []).push({
    bytes: new TextEncoder().encode(name),
    name,
    lower: name.toLowerCase(),
    index,
  });
}

/** The common name spelled by bytes [s, e) of `buf`, or null. */
export function commonFieldName(buf: Uint8Array, s: number, e: number): Known | null {
  const list = BY_LENGTH[e - s];
  if (list === undefined) return null;
  next: for (const k of list) {
    const b = k.bytes;
    for (let i = 0; i < b.length; i++) if (buf[s + i] !== b[i]) continue next;
    return k;
  }
  return null;
}

/**
 * `text` spells bytes [s, e) of `buf` (latin-1). A keep-alive client sends the
 * same Host, User-Agent, Accept... on each request: comparing with the last
 * value costs less than reading a new string from the bytes (a call into C++).
 */
export function sameLatin1(text: string, buf: Uint8Array, s: number, e: number): boolean {
  if (text.length !== e - s) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[s + i]) return false;
  return true;
}
