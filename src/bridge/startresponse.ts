/**
 * `startResponse` bookkeeping: PEP 3333's "The start_response() Callable" rules
 * (G2), the hop-by-hop ban (G9) and status/header validation (G10). Pure: no
 * I/O; the gateway asks `head` when it sends the headers.
 */
import { HOP_BY_HOP_HEADERS, isFieldName, isFieldValue, parseContentLength } from '../protocols/http/rules.js';
import {
  HopByHopHeaderError,
  StartResponseHeaderError,
  StartResponseStatusError,
  StartResponseTwiceError,
} from './errors.js';

const STATUS = /^([0-9]{3}) (.*)$/s;

/** The status and headers the app asked for. */
export interface ResponseHead {
  code: number;
  reason: string;
  headers: [string, string][];
  /** The declared Content-Length, or null when the app gave none. */
  contentLength: number | null;
}

/** Status lines and header names already checked, so the common ones ('200 OK', 'Content-Type') cost one lookup. */
const STATUS_CACHE = new Map<string, { readonly code: number; readonly reason: string }>();
const NAME_CACHE = new Map<string, string>();
/** Entries each cache holds; past it, lines and names are checked every time (an app cannot grow it without bound). */
const START_RESPONSE_CACHE_LIMIT = 512;

/** The status line last made for each code, with its phrase (the common phrase per code, as a bridge sends it). */
const STATUS_LINES = new Map<number, { readonly phrase: string; readonly line: string }>();

/**
 * `'200 OK'` for (200, 'OK'): the same string each time for a code's first
 * phrase, so parseStatus' cache finds it without hashing a new string.
 */
export function statusLine(code: number, phrase: string): string {
  const known = STATUS_LINES.get(code);
  if (known !== undefined && known.phrase === phrase) return known.line;
  const line = `${code} ${phrase}`;
  if (known === undefined && STATUS_LINES.size < START_RESPONSE_CACHE_LIMIT) STATUS_LINES.set(code, { phrase, line });
  return line;
}

/** G10: parse 'NNN Reason'; throws `StartResponseStatusError`. The result is shared: do not change it. */
export function parseStatus(status: unknown): { readonly code: number; readonly reason: string } {
  if (typeof status !== 'string') throw new StartResponseStatusError(status, 'not a string');
  const cached = STATUS_CACHE.get(status);
  if (cached !== undefined) return cached;
  const parsed = checkStatus(status);
  if (STATUS_CACHE.size < START_RESPONSE_CACHE_LIMIT) STATUS_CACHE.set(status, parsed);
  return parsed;
}

function checkStatus(status: string): { code: number; reason: string } {
  const m = STATUS.exec(status);
  if (!m) throw new StartResponseStatusError(status, "expected three digits and a space, as in '200 OK'");
  const code = Number(m[1]);
  // A 1xx is not a final response: 100 Continue is the gateway's job (G11), 101 needs the server.
  if (code < 200 || code > 599) throw new StartResponseStatusError(status, 'the code must be 200-599');
  const reason = m[2]!;
  if (!isFieldValue(reason))
    throw new StartResponseStatusError(status, 'the reason holds a control or non-latin-1 character');
  return { code, reason };
}

/** G9/G10: check the header list and return a copy the app can no longer change. */
export function validateHeaders(headers: unknown): { headers: [string, string][]; contentLength: number | null } {
  const head: ResponseHead = { code: 0, reason: '', headers: [], contentLength: null };
  checkHeadersInto(headers, head);
  return { headers: head.headers, contentLength: head.contentLength };
}

/** A placeholder until checkHeadersInto sets the copy (never handed out). */
const NO_HEADERS: [string, string][] = [];

/** validateHeaders' work, writing the copy and the Content-Length into `head` (one object per response). */
function checkHeadersInto(headers: unknown, head: ResponseHead): void {
  if (!Array.isArray(headers))
    throw new StartResponseHeaderError(headers, 'headers must be an array of [name, value] pairs');
  const n = headers.length;
  const out: [string, string][] = new Array(n); // sized once: pushing onto [] allocates room for 17
  let contentLength: number | null = null;
  for (let i = 0; i < n; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new StartResponseHeaderError(pair, 'each header must be a [name, value] pair');
    const [name, value] = pair as unknown[];
    if (typeof name !== 'string' || typeof value !== 'string')
      throw new StartResponseHeaderError(pair, 'name and value must be strings');
    const lower = NAME_CACHE.get(name) ?? checkName(name, pair);
    if (!isFieldValue(value))
      throw new StartResponseHeaderError(
        pair,
        'the value holds CR, LF, NUL, another control or a non-latin-1 character',
      );
    if (lower === 'content-length') {
      const n = parseContentLength(value);
      if (n === null)
        throw new StartResponseHeaderError(
          pair,
          'Content-Length must be a decimal number of bytes (1 to 15 digits, only SP or HTAB around them)',
        );
      if (contentLength !== null && contentLength !== n)
        throw new StartResponseHeaderError(pair, 'two different Content-Length values');
      contentLength = n;
    }
    out[i] = [name, value];
  }
  head.headers = out;
  head.contentLength = contentLength;
}

/** A name not seen yet: a token and not hop-by-hop (G9/G10); returns it lower-cased and remembers it. */
function checkName(name: string, pair: unknown): string {
  if (!isFieldName(name)) throw new StartResponseHeaderError(pair, 'the name is not an RFC 9110 token');
  const lower = name.toLowerCase();
  if (HOP_BY_HOP_HEADERS.has(lower)) throw new HopByHopHeaderError(name);
  if (NAME_CACHE.size < START_RESPONSE_CACHE_LIMIT) NAME_CACHE.set(name, lower);
  return lower;
}

/**
 * One response's `startResponse` state. `start()` is the body of the callable;
 * the gateway sets `headersSent` once the head went to the transport.
 */
export class ResponseStarter {
  head: ResponseHead | null = null;
  headersSent = false;

  /**
   * G2 (PEP 3333): a second call without `excInfo` throws; with `excInfo` it
   * replaces the head while nothing was sent, and rethrows `excInfo` itself
   * once the headers went out. Validation errors leave the previous head as is.
   */
  start(status: unknown, headers: unknown, excInfo?: unknown): void {
    if (this.head !== null) {
      if (excInfo === undefined || excInfo === null) throw new StartResponseTwiceError();
      if (this.headersSent) throw excInfo;
    }
    const { code, reason } = parseStatus(status);
    const head: ResponseHead = { code, reason, headers: NO_HEADERS, contentLength: null };
    checkHeadersInto(headers, head);
    this.head = head;
  }
}
