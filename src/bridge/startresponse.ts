/**
 * `startResponse` bookkeeping: PEP 3333's "The start_response() Callable" rules
 * (G2), the hop-by-hop ban (G9) and status/header validation (G10). No I/O:
 * a checked head goes to the request's own lists (spindle's requests hold it
 * until the first body byte, G3) or waits here as a copy.
 */
import { CHECKED_FIELDS, CHECKED_HEAD, type RequestCore } from '../protocols/http/requestcore.js';
import { HOP_BY_HOP_HEADERS, isFieldName, isFieldValue, parseContentLength } from '../protocols/http/rules.js';
import {
  HopByHopHeaderError,
  StartResponseHeaderError,
  StartResponseStatusError,
  StartResponseTwiceError,
} from './errors.js';

const STATUS = /^([0-9]{3}) (.*)$/s;

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
  const contentLength = checkHeaderList(headers);
  const list = headers as readonly (readonly [string, string])[];
  const out: [string, string][] = new Array(list.length); // sized once: pushing onto [] allocates room for 17
  for (let i = 0; i < list.length; i++) out[i] = [list[i]![0], list[i]![1]];
  return { headers: out, contentLength };
}

/** G9/G10: check the header list (nothing copied); returns its Content-Length, or null when it has none. */
function checkHeaderList(headers: unknown): number | null {
  if (!Array.isArray(headers))
    throw new StartResponseHeaderError(headers, 'headers must be an array of [name, value] pairs');
  let contentLength: number | null = null;
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new StartResponseHeaderError(pair, 'each header must be a [name, value] pair');
    const name: unknown = pair[0];
    const value: unknown = pair[1];
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
  }
  return contentLength;
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
 * Where a checked head goes as soon as startResponse took it: spindle's own
 * requests (`RequestCore[CHECKED_HEAD]`) copy the headers into their lists
 * and hold them until the first body byte, as they hold a CPS app's (G3). No
 * copy of the list is kept here then.
 */
export type HeadSink = Pick<RequestCore, typeof CHECKED_HEAD | typeof CHECKED_FIELDS>;

/** An empty header list (never written). */
const NO_HEADERS: readonly [string, string][] = [];

/**
 * One response's `startResponse` state. `start()` is the body of the
 * callable; the gateway sets `headersSent` once the head went to the
 * transport. With a `sink` the head goes to it at once (replaced there by a
 * later head, G2); without one, a copy of the headers waits in `headers`.
 */
export class ResponseStarter {
  /** startResponse took a head: `code`, `reason` and `contentLength` are its. */
  started = false;
  code = 0;
  reason = '';
  /** The declared Content-Length, or null when the app gave none. */
  contentLength: number | null = null;
  /** The headers to send (a copy), when there is no sink; null once a sink took them. */
  headers: readonly (readonly [string, string])[] | null = null;
  headersSent = false;
  /** The sink's header count before this response's head (-1: none handed yet). */
  private mark = -1;

  constructor(private readonly sink: HeadSink | null = null) {}

  /**
   * G2 (PEP 3333): a second call without `excInfo` throws; with `excInfo` it
   * replaces the head while nothing was sent, and rethrows `excInfo` itself
   * once the headers went out. Validation errors leave the previous head as is.
   */
  start(status: unknown, headers: unknown, excInfo?: unknown): void {
    if (this.started) {
      if (excInfo === undefined || excInfo === null) throw new StartResponseTwiceError();
      if (this.headersSent) throw excInfo;
    }
    const { code, reason } = parseStatus(status);
    if (this.sink !== null) {
      this.take(code, reason, headers as readonly [string, string][], checkHeaderList(headers));
    } else {
      const checked = validateHeaders(headers);
      this.take(code, reason, checked.headers, checked.contentLength);
    }
  }

  /** A head checked already, as names and values (the bridge's: checkedstart.ts): this response's head from now on. */
  takeFields(
    code: number,
    reason: string,
    names: readonly string[],
    values: readonly string[],
    contentLength: number | null,
  ): void {
    if (this.sink === null) {
      const pairs: [string, string][] = new Array(names.length);
      for (let i = 0; i < names.length; i++) pairs[i] = [names[i]!, values[i]!];
      this.take(code, reason, pairs, contentLength);
      return;
    }
    this.mark = this.sink[CHECKED_FIELDS](code, reason, names, values, this.mark);
    this.code = code;
    this.reason = reason;
    this.contentLength = contentLength;
    this.started = true;
  }

  /** A head checked already (by `start`): this response's head from now on. */
  take(
    code: number,
    reason: string,
    headers: readonly (readonly [string, string])[],
    contentLength: number | null,
  ): void {
    if (this.sink !== null) this.mark = this.sink[CHECKED_HEAD](code, reason, headers, this.mark);
    else this.headers = headers;
    this.code = code;
    this.reason = reason;
    this.contentLength = contentLength;
    this.started = true;
  }

  /** Before the headers went out: take the head back from the sink (the gateway answers in the app's place). */
  withdraw(): void {
    if (this.sink !== null && this.mark >= 0) this.sink[CHECKED_HEAD](this.code, this.reason, NO_HEADERS, this.mark);
  }
}
