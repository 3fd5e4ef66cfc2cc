/**
 * `RequestCore`: the part of `IRequest` that is the same on every host
 * (issue 16). spindle's HTTP server (`Request`, request.ts) and every bridged
 * host (`BridgeRequest`: Fetch, node:http, the request a CPS app sees through
 * toIterApp) extend it; they differ only in how bytes reach the wire.
 *
 * It keeps:
 * - status and headers, with the checks of rules.ts: a header name is a token
 *   (RFC 9110 §5.1), a value holds no CR, LF, NUL or other control (§5.5, no
 *   header injection), `Transfer-Encoding` is the server's (RFC 9112 §6.1),
 *   `Content-Length` is decimal digits (RFC 9110 §8.6, SP/HTAB around them
 *   allowed, as startResponse allows them); all of it fixed once
 *   the response body started (`HeadersSentError`);
 * - the producer slot: one at a time (`ProducerAlreadyRegisteredError`), and
 *   a producer registered on a request that is gone is stopped at once;
 * - `notifyFinish()`: each Deferred settles once, with the response's one
 *   outcome (handed over, or the client gone).
 *
 * What every host shares of the response's state is what the app sees:
 * `finished` (finish() was called, or the host answered in the app's place),
 * `disconnected` (the client went away first) and the header lock. How far
 * the bytes got is the host's: spindle's server keeps it as one
 * `Request.phase` (request.ts), a bridged host in BridgeRequest.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../../reactor/deferred.js';
import type { Failure } from '../../reactor/failure.js';
import { ProducerAlreadyRegisteredError } from '../../reactor/errors.js';
import type { IProducer } from '../../reactor/interfaces.js';
import { HeadersSentError, InvalidHeaderError, InvalidStatusError } from './errors.js';
import { reasonPhrase } from './phrases.js';
import type { CpsApp, IRequest } from './interfaces.js';
import { isFieldName, isFieldValue, parseContentLength } from './rules.js';
import { trimOWS } from './syntax.js';

/** What `write()` takes, as bytes: a string is UTF-8 (every host's rule). */
export const bodyBytes = (data: Uint8Array | string): Uint8Array =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : data;

/** How the response's `notifyFinish()` settles: not yet, handed over, or the client gone. */
export type FinishOutcome = 'pending' | 'finished' | 'lost';

/**
 * The key of `RequestCore`'s head setter for a caller that checked status and
 * headers already, by the same rules (the gateway's startResponse: G9, G10).
 * A symbol, not a method name, so an app handed the request never reaches it
 * by accident; the gateway imports it.
 */
export const CHECKED_HEAD = Symbol('spindle.checkedHead');

/** `CHECKED_HEAD` for a head kept as two lists, names and values (spindle's bridge hands its request's own). */
export const CHECKED_FIELDS = Symbol('spindle.checkedFields');

/** The empty lists every response starts with; never written (`append` replaces them on the first header). */
const NO_FIELDS: string[] = [];

export abstract class RequestCore {
  code = 200;
  codeMessage = 'OK';
  /** finish() was called (or the server answered in the app's place). */
  finished = false;
  /** The client went away before the response was handed over. */
  disconnected = false;
  /** Response header names and values, in order, as the app set them (NO_FIELDS until the first: `append` makes lists of one). */
  protected names: string[] = NO_FIELDS;
  protected values: string[] = NO_FIELDS;
  /** Status and headers are fixed: the first write(), flushHeaders() or finish() came. */
  protected locked = false;
  /** The registered producer, if any (the host decides how it is paused and pulled). */
  protected producer: IProducer | null = null;
  protected streaming = false;
  private outcome: FinishOutcome = 'pending';
  private waiters: Deferred<void>[] | null = null;
  private lostError: Error | null = null;

  // ------------------------------------------------------------------ status and headers

  setResponseCode(code: number, phrase?: string): void {
    if (this.locked) throw new HeadersSentError('setResponseCode()');
    if (!Number.isInteger(code) || code < 100 || code > 599) throw new InvalidStatusError(code);
    if (phrase !== undefined && !isFieldValue(phrase))
      throw new InvalidHeaderError(
        `status phrase ${JSON.stringify(phrase)} contains CR, LF, NUL or a non-latin-1 character`,
      );
    this.code = code;
    this.codeMessage = phrase ?? reasonPhrase(code);
  }

  setHeader(name: string, value: string): void {
    const v = this.checkHeader(name, value, 'setHeader()');
    if (this.names.length > 0) this.removeHeader(name);
    this.append(name, v);
  }

  addHeader(name: string, value: string): void {
    this.append(name, this.checkHeader(name, value, 'addHeader()'));
  }

  /**
   * Status and headers from a caller that checked them already (`CHECKED_HEAD`):
   * the name is a token, the value holds no control or non-latin-1 character,
   * no hop-by-hop name (Transfer-Encoding among them), a Content-Length is
   * digits with SP/HTAB around them at most (startresponse.ts checks exactly
   * this). Added after the headers already set, as `addHeader` would; a
   * Content-Length is kept as its digits, as `checkHeader` keeps it. The
   * strings are copied into the request's own lists: the caller's list may
   * change afterwards.
   *
   * `from` (the number this returned for an earlier head) replaces that head:
   * the headers from there on are dropped first (startResponse with excInfo,
   * G2; the gateway's own 500). Returns the number of headers before these.
   */
  [CHECKED_HEAD](code: number, phrase: string, headers: readonly (readonly [string, string])[], from = -1): number {
    const before = this.checkedStatus(code, phrase, from);
    for (let i = 0; i < headers.length; i++) this.appendChecked(headers[i]![0], headers[i]![1]);
    return before;
  }

  /** `CHECKED_HEAD` with the headers as names and values (same checks already made, same `from`). */
  [CHECKED_FIELDS](
    code: number,
    phrase: string,
    names: readonly string[],
    values: readonly string[],
    from = -1,
  ): number {
    const before = this.checkedStatus(code, phrase, from);
    for (let i = 0; i < names.length; i++) this.appendChecked(names[i]!, values[i]!);
    return before;
  }

  /** A checked head's status, after dropping the head `from` began (see CHECKED_HEAD); the header count before it. */
  private checkedStatus(code: number, phrase: string, from: number): number {
    if (this.locked) throw new HeadersSentError('setResponseCode()');
    if (from >= 0 && from < this.names.length) {
      this.names.length = from; // the lists are this request's own once they hold a header (append)
      this.values.length = from;
    }
    this.code = code;
    this.codeMessage = phrase;
    return this.names.length;
  }

  /** A checked header: a Content-Length as its digits, as `checkHeader` keeps it. */
  private appendChecked(name: string, value: string): void {
    this.append(name, name.length === 14 && name.toLowerCase() === 'content-length' ? trimOWS(value) : value);
  }

  /**
   * The first header makes lists of one: a push onto `[]` reserves 17 slots
   * (152 B each list), and many responses (a hello) set one or two headers.
   */
  private append(name: string, value: string): void {
    if (this.names.length === 0) {
      this.names = [name];
      this.values = [value];
      return;
    }
    this.names.push(name);
    this.values.push(value);
  }

  removeHeader(name: string): void {
    if (this.locked) throw new HeadersSentError('removeHeader()');
    const key = name.toLowerCase();
    for (let i = this.names.length - 1; i >= 0; i--) {
      const n = this.names[i]!;
      // Lower-casing makes a string: compare lengths first (most names differ there).
      if (n.length === key.length && n.toLowerCase() === key) {
        this.names.splice(i, 1);
        this.values.splice(i, 1);
      }
    }
  }

  getResponseHeader(name: string): string | undefined {
    const key = name.toLowerCase();
    let found: string | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i]!.toLowerCase() === key)
        found = found === undefined ? this.values[i]! : `${found}, ${this.values[i]!}`;
    }
    return found;
  }

  /** The headers as [name, value] pairs (a copy). */
  protected headerPairs(): [string, string][] {
    const pairs: [string, string][] = new Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) pairs[i] = [this.names[i]!, this.values[i]!];
    return pairs;
  }

  /** Replace status and headers with the server's own answer (a 500, a 413): only before the lock. */
  protected resetHead(code: number, contentType: string): void {
    this.names = ['Content-Type'];
    this.values = [contentType];
    this.code = code;
    this.codeMessage = reasonPhrase(code);
  }

  /** Check a header (rules.ts); the value to keep: a Content-Length as its digits alone (no SP/HTAB reaches any host). */
  private checkHeader(name: string, value: string, what: string): string {
    if (this.locked) throw new HeadersSentError(what);
    if (!isFieldName(name))
      throw new InvalidHeaderError(`header name ${JSON.stringify(name)} is not a token (RFC 9110 §5.1)`);
    if (!isFieldValue(value))
      throw new InvalidHeaderError(
        `value of header ${name} contains a control character (CR, LF, NUL, DEL, ...) or a non-latin-1 character; remove it (CR or LF would inject a header)`,
      );
    // Only two names have rules of their own: lower-case (a new string) only a name of their length.
    const key = name.length === 17 || name.length === 14 ? name.toLowerCase() : '';
    if (key === 'transfer-encoding')
      throw new InvalidHeaderError(
        'Transfer-Encoding is set by the server; set Content-Length, or leave both out for chunked',
      );
    if (key !== 'content-length') return value;
    // RFC 9110 §8.6 digits, SP/HTAB around them allowed (§5.5 OWS): the rule startResponse applies too.
    // Kept as the digits: node:http writes a value as given, and llhttp refuses a Content-Length with OWS.
    if (parseContentLength(value) === null)
      throw new InvalidHeaderError(
        `Content-Length must be decimal digits (SP or HTAB around them at most), got ${JSON.stringify(value)}`,
      );
    return trimOWS(value);
  }

  // ------------------------------------------------------------------ the producer slot

  /**
   * Take `producer` into the slot. False when the request is gone: the
   * producer was stopped at once (Twisted's rule) and the host does nothing.
   */
  protected claimProducer(producer: IProducer, streaming: boolean, gone: boolean): boolean {
    if (gone) {
      producer.stopProducing();
      return false;
    }
    if (this.producer !== null) throw new ProducerAlreadyRegisteredError();
    this.producer = producer;
    this.streaming = streaming;
    return true;
  }

  /** Empty the slot and stop what was in it, once (the client is gone). */
  protected stopProducer(): void {
    const p = this.producer;
    this.producer = null;
    if (p !== null) p.stopProducing();
  }

  // ------------------------------------------------------------------ notifyFinish

  notifyFinish(): Deferred<void> {
    const d = new Deferred<void>();
    if (this.outcome === 'finished') d.callback(undefined);
    else if (this.outcome === 'lost') d.errback(this.lostError!);
    else if (this.waiters === null)
      this.waiters = [d]; // sized for one: push onto [] reserves 17 slots
    else this.waiters.push(d);
    return d;
  }

  /** How notifyFinish() settled so far. */
  protected get finishOutcome(): FinishOutcome {
    return this.outcome;
  }

  /** The response was completely handed over: every notifyFinish() Deferred fires, once. */
  protected settleFinished(): void {
    if (this.outcome !== 'pending') return;
    this.outcome = 'finished';
    const ws = this.waiters;
    this.waiters = null;
    if (ws !== null) for (const d of ws) d.callback(undefined);
  }

  /** The client went away first: every notifyFinish() Deferred errbacks with `error`, once. */
  protected settleLost(error: Error): void {
    if (this.outcome !== 'pending') return;
    this.outcome = 'lost';
    this.lostError = error;
    const ws = this.waiters;
    this.waiters = null;
    if (ws !== null) for (const d of ws) d.errback(error);
  }
}

/**
 * Run a CPS app on a request and route its failure, whether it throws,
 * returns a failed Deferred or a rejected Promise, to `request.appFailed`
 * once. Every host dispatches this way (spindle's channel, Fetch, node:http,
 * toIterApp). A Deferred's errback is attached synchronously, so a failure
 * inside the app's own stack reaches the host before anything else happens.
 */
export function runCpsApp(app: CpsApp, request: IRequest & { appFailed(error: unknown): void }): void {
  let result: unknown;
  try {
    result = app(request);
  } catch (err) {
    request.appFailed(err);
    return;
  }
  if (result instanceof Deferred) {
    result.addErrback((f: Failure) => void request.appFailed(f.value));
  } else if (result !== undefined && result !== null && typeof (result as PromiseLike<void>).then === 'function') {
    (result as PromiseLike<void>).then(undefined, (err: unknown) => request.appFailed(err));
  }
}
