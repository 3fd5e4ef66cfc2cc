/**
 * The request head: request line, header fields and the framing they decide.
 * Pure functions over a byte range; each throws `HTTPParseError` with the
 * status the client is answered with. The incremental machinery lives in
 * parser.ts.
 */
import { Buffer } from 'node:buffer';
import { CR, FIELD_VALUE, HOST, HTAB, SP, TARGET, TCHAR, isVersionShape, type Latin1Buffer } from './chars.js';
import { HTTPParseError, ParseErrorCodes as E } from './errors.js';
import { commonFieldName, RECENT_VALUE_MAX_BYTES, sameLatin1 } from './fieldnames.js';
import { Headers } from './headers.js';
import { isContentLengthDigits, MAX_CONTENT_LENGTH_DIGITS } from './rules.js';
import { listElements } from './syntax.js';

export type HTTPVersion = 'HTTP/1.0' | 'HTTP/1.1';

/** What the parser hands over once a head is complete and accepted. */
export interface RequestHead {
  method: string;
  /** The request-target as sent (RFC 9112 §3.2). */
  target: string;
  version: HTTPVersion;
  headers: Headers;
  /** Whether the connection may carry another request after this one (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** The client sent `Expect: 100-continue` on HTTP/1.1 (RFC 9110 §10.1.1). */
  expectContinue: boolean;
  /** The body is chunked (RFC 9112 §7.1). */
  chunked: boolean;
  /** Body length in bytes; 0 for no body, -1 when chunked. */
  contentLength: number;
}

export function fail(code: string, status: number, message: string): never {
  throw new HTTPParseError(code, status, message);
}

/** A byte that broke a rule: a CR gets its own code (bare CR, RFC 9112 §2.2). */
function badByte(code: string, byte: number, what: string): never {
  if (byte === CR)
    fail(E.BARE_CR, 400, `bare CR in ${what}; lines end with CRLF and CR may appear nowhere else (RFC 9112 §2.2)`);
  fail(code, 400, `invalid byte 0x${byte.toString(16).padStart(2, '0')} in ${what}`);
}

export interface RequestLine {
  method: string;
  target: string;
  version: HTTPVersion;
}

/** request-line = method SP request-target SP HTTP-version (RFC 9112 §3), exactly one SP each. */
export function parseRequestLine(buf: Buffer, s: number, e: number): RequestLine {
  let i = s;
  while (i < e && TCHAR[buf[i]!] === 1) i++;
  if (i === s || i === e || buf[i] !== SP) {
    if (i < e && buf[i] !== SP) badByte(E.BAD_METHOD, buf[i]!, 'the method (a token, RFC 9110 §9.1)');
    fail(E.BAD_REQUEST_LINE, 400, 'request line must be "METHOD SP target SP HTTP/1.1" (RFC 9112 §3)');
  }
  const method =
    i - s === 3 && buf[s] === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54
      ? 'GET'
      : (buf as unknown as Latin1Buffer).latin1Slice(s, i);
  const ts = ++i;
  while (i < e && TARGET[buf[i]!] === 1) i++;
  if (i === ts || i === e || buf[i] !== SP) {
    if (i < e && buf[i] !== SP) badByte(E.BAD_TARGET, buf[i]!, 'the request-target (RFC 9112 §3.2; percent-encode it)');
    fail(
      E.BAD_REQUEST_LINE,
      400,
      'request line must be "METHOD SP target SP HTTP/1.1" with a single space between parts (RFC 9112 §3)',
    );
  }
  const target = (buf as unknown as Latin1Buffer).latin1Slice(ts, i);
  const version = parseVersion(buf, i + 1, e);
  checkTargetForm(method, target);
  return { method, target, version };
}

/** HTTP-version of the request line (RFC 9112 §2.3, §3). */
function parseVersion(buf: Buffer, s: number, e: number): HTTPVersion {
  if (e - s !== 8 || !isVersionShape(buf, s)) {
    for (let i = s; i < e; i++) if (buf[i] === CR) badByte(E.BAD_VERSION, CR, 'the HTTP version');
    fail(
      E.BAD_VERSION,
      400,
      `expected "HTTP/1.1" or "HTTP/1.0" at the end of the request line, got ${JSON.stringify((buf as unknown as Latin1Buffer).latin1Slice(s, Math.min(e, s + 16)))}`,
    );
  }
  if (buf[s + 5] === 0x31 && buf[s + 7] === 0x31) return 'HTTP/1.1';
  if (buf[s + 5] === 0x31 && buf[s + 7] === 0x30) return 'HTTP/1.0';
  // Well-formed but not one we speak: 505 (RFC 9110 §15.6.6).
  fail(
    E.VERSION_NOT_SUPPORTED,
    505,
    `HTTP version ${(buf as unknown as Latin1Buffer).latin1Slice(s, e)} is not supported; send HTTP/1.1 or HTTP/1.0`,
  );
}

/** The four request-target forms (RFC 9112 §3.2): origin, absolute, authority (CONNECT), asterisk (OPTIONS). */
function checkTargetForm(method: string, target: string): void {
  if (method === 'CONNECT')
    fail(E.METHOD_NOT_IMPLEMENTED, 501, 'CONNECT is not implemented by this server (it is not a proxy)');
  const c = target.charCodeAt(0);
  if (c === 0x2f) return; // origin-form
  if (target === '*' && method === 'OPTIONS') return; // asterisk-form
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(target)) return; // absolute-form
  fail(
    E.BAD_TARGET,
    400,
    `request-target must start with "/" (or be an absolute URI, or "*" for OPTIONS), got ${JSON.stringify(target.slice(0, 32))}`,
  );
}

/** Where parseFieldLine appends: names and values in turn (`raw`), and the lower-cased names. */
export interface FieldLists {
  raw: string[];
  lower: string[];
  /** The last value of each common field (fieldnames.ts), reused while a client repeats it. */
  recent: (string | undefined)[];
}

/**
 * field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). Appends the
 * name and value to `into.raw` and the lower-cased name to `into.lower`; the
 * first field of a head makes new lists (a push onto [] reserves 17 slots,
 * 152 B each, and many requests carry one to four fields). Returns the
 * lower-cased name.
 */
export function parseFieldLine(buf: Buffer, s: number, e: number, into: FieldLists): string {
  const first = buf[s]!;
  // RFC 9112 §5.2: obs-fold is obsolete; a server MUST reject it (or unfold). We reject.
  if (first === SP || first === HTAB)
    fail(E.OBS_FOLD, 400, 'header line starts with whitespace (obs-fold, RFC 9112 §5.2); send each field on one line');
  let i = s;
  while (i < e && TCHAR[buf[i]!] === 1) i++;
  if (i === e || buf[i] !== 0x3a) {
    // RFC 9112 §5.1: no whitespace between field name and colon; a server MUST reject with 400.
    if (i < e && (buf[i] === SP || buf[i] === HTAB))
      fail(E.BAD_HEADER_NAME, 400, 'whitespace between a header name and its colon is forbidden (RFC 9112 §5.1)');
    if (i < e) badByte(E.BAD_HEADER_NAME, buf[i]!, 'a header name (a token, RFC 9110 §5.1)');
    fail(E.BAD_HEADER_NAME, 400, 'header line has no colon; expected "Name: value" (RFC 9112 §5)');
  }
  if (i === s) fail(E.BAD_HEADER_NAME, 400, 'empty header name before the colon (RFC 9112 §5)');
  const colon = i;
  let vs = colon + 1;
  let ve = e;
  while (vs < ve && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
  while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
  for (let j = vs; j < ve; j++)
    if (FIELD_VALUE[buf[j]!] !== 1)
      badByte(E.BAD_HEADER_VALUE, buf[j]!, 'a header value (no control bytes, RFC 9110 §5.5)');
  const known = commonFieldName(buf, s, colon);
  const name = known !== null ? known.name : (buf as unknown as Latin1Buffer).latin1Slice(s, colon);
  const lname = known !== null ? known.lower : name.toLowerCase();
  let value: string;
  if (known === null) value = (buf as unknown as Latin1Buffer).latin1Slice(vs, ve);
  else {
    const last = into.recent[known.index];
    if (last !== undefined && sameLatin1(last, buf, vs, ve)) value = last;
    else {
      value = (buf as unknown as Latin1Buffer).latin1Slice(vs, ve);
      into.recent[known.index] = ve - vs <= RECENT_VALUE_MAX_BYTES ? value : undefined;
    }
  }
  if (into.lower.length === 0) {
    into.raw = [name, value];
    into.lower = [lname];
  } else {
    into.raw.push(name, value);
    into.lower.push(lname);
  }
  return lname;
}

/** Validate a Host value: uri-host [":" port] characters only (RFC 9112 §3.2, RFC 3986 §3.2.2). */
export function checkHost(value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || HOST[c] !== 1)
      fail(E.BAD_HOST, 400, `Host header has an invalid character ${JSON.stringify(value[i])}; send host[:port]`);
  }
}

/**
 * The body length from `count` Content-Length fields whose (last) value is
 * `value`. RFC 9110 §8.6 allows folding identical repeats ("5, 5"); we refuse
 * any repeat or list: a message that needs it is malformed and the lenient
 * reading is a smuggling surface.
 */
export function contentLength(count: number, value: string): number {
  if (count > 1) fail(E.BAD_CONTENT_LENGTH, 400, 'Content-Length sent more than once; send it once');
  if (!isContentLengthDigits(value)) {
    fail(
      E.BAD_CONTENT_LENGTH,
      400,
      `Content-Length must be 1 to ${MAX_CONTENT_LENGTH_DIGITS} decimal digits (RFC 9110 §8.6), got ${JSON.stringify(value.slice(0, 32))}`,
    );
  }
  return Number(value);
}

/** No Connection field: neither option (shared: most requests send none). */
const NO_OPTIONS = Object.freeze({ close: false, keepAlive: false });

/**
 * The "close" and "keep-alive" options of the Connection fields, joined with ','
 * (RFC 9110 §7.6.1). Elements are trimmed of SP/HTAB only: "keep-alive\xa0" is
 * not keep-alive (RFC 9110 §5.6.3).
 */
export function connectionOptions(value: string | null): Readonly<{ close: boolean; keepAlive: boolean }> {
  let close = false,
    keepAlive = false;
  if (value === null) return NO_OPTIONS;
  const c = value.toLowerCase();
  if (c === 'keep-alive') keepAlive = true;
  else if (c === 'close') close = true;
  else {
    for (const tok of listElements(c)) {
      if (tok === 'close') close = true;
      else if (tok === 'keep-alive') keepAlive = true;
    }
  }
  return { close, keepAlive };
}

/**
 * A Transfer-Encoding list (fields joined with ','): returns true when it is
 * exactly "chunked", else throws (RFC 9112 §6.1, §6.3, §7). Other codings are
 * refused rather than read until close: a message whose length depends on a
 * coding we cannot decode is not one we can frame safely.
 */
export function chunkedCoding(te: string): true {
  const list = listElements(te.toLowerCase());
  if (list.length === 0) fail(E.BAD_TRANSFER_ENCODING, 400, 'empty Transfer-Encoding');
  let chunkedCount = 0;
  for (const c of list) if (c === 'chunked') chunkedCount++;
  // RFC 9112 §7: chunked MUST NOT be applied more than once.
  if (chunkedCount > 1)
    fail(E.BAD_TRANSFER_ENCODING, 400, 'chunked appears more than once in Transfer-Encoding (RFC 9112 §7)');
  // RFC 9112 §6.3 (4): chunked not final means the length is unknowable.
  if (list[list.length - 1] !== 'chunked')
    fail(
      E.BAD_TRANSFER_ENCODING,
      400,
      `the final transfer coding must be chunked (RFC 9112 §6.3), got ${JSON.stringify(te.slice(0, 32))}`,
    );
  // RFC 9112 §6.1: a coding we do not understand SHOULD get 501.
  if (list.length > 1)
    fail(
      E.UNKNOWN_CODING,
      501,
      `transfer coding ${JSON.stringify(list[0])} is not implemented; send the body with only "chunked"`,
    );
  return true;
}
