/**
 * The HTTP layer's contracts: the per-request object a CPS app receives, and the
 * app type itself. `HTTPFactory` (a Factory for `listenTCP`) builds one
 * `HTTPChannel` per connection and one `Request` per request on it.
 *
 * Ordering: a `Request` is handed to the app once its head has been parsed and
 * accepted; a request rejected while parsing its head never reaches the app.
 * Pipelined requests are answered in order: a later request is not parsed or
 * handed to the app until the earlier one has finished (its bytes wait, bounded,
 * and reading the socket pauses past the bound), so at most one `Request` per
 * connection is live at a time.
 */
import type { Deferred } from '../../reactor/deferred.js';
import type { IAddress, IConsumer, IProducer, IProtocol, IReactor } from '../../reactor/interfaces.js';

/** Case-insensitive, order-keeping view of a header list. */
export interface IHeaders {
  /** All values of `name` joined with ', ' (Set-Cookie kept apart by getAll). */
  get(name: string): string | undefined;
  getAll(name: string): string[];
  has(name: string): boolean;
  /** The raw (name, value) pairs in arrival order, names as sent. */
  rawPairs(): ReadonlyArray<readonly [string, string]>;
  [Symbol.iterator](): Iterator<[string, string]>;
}

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes; past it the Deferred errbacks and the client gets 413. */
  limit?: number;
}

/**
 * One HTTP request and its response (Twisted.web's `Request`, trimmed).
 *
 * Output rules: headers go out with the first `write()` that has data, or with
 * `finish()`, or `flushHeaders()`. `write('')` / an empty `Uint8Array` sends
 * nothing. After `finish()`, `write()` throws `RequestFinishedError`; after the
 * client went away, writes are dropped silently and `notifyFinish()` has
 * errbacked with `ConnectionLost`.
 */
export interface IRequest extends IConsumer {
  readonly method: string;
  /** The request target as sent, with its query. */
  readonly uri: string;
  /** The percent-encoded path of the target, without the query. */
  readonly path: string;
  /** The raw query string without '?', '' when absent. */
  readonly query: string;
  /** 'HTTP/1.1' or 'HTTP/1.0'. */
  readonly version: string;
  readonly headers: IHeaders;
  /** The peer's address (spindle's server: one frozen object per connection). */
  readonly client: IAddress;
  /** The server's address this request arrived on (spindle's server: one frozen object per connection). */
  readonly host: IAddress;
  /** The reactor the server runs on. */
  readonly reactor: IReactor;
  /** True when the request came over TLS (`listenTLS`, or after STARTTLS). */
  readonly secure: boolean;
  /** Twisted's name for `secure`. */
  isSecure(): boolean;

  // -- input --
  /**
   * Stream the request body into `protocol`: `makeConnection` with a transport
   * whose `pauseProducing`/`resumeProducing` pause reading the socket, then
   * `dataReceived` per piece, then `connectionLost(Failure(ResponseDone))` at the
   * end, or `connectionLost(Failure(ConnectionLost))` if the client went away.
   * Sends `100 Continue` first if the client asked for it. Call at most once.
   */
  deliverBody(protocol: IProtocol): void;
  /** Buffer the whole body, up to `limit` bytes (default: the server's body limit). */
  readBody(options?: ReadBodyOptions): Deferred<Uint8Array>;

  // -- output --
  setResponseCode(code: number, phrase?: string): void;
  readonly code: number;
  readonly codeMessage: string;
  setHeader(name: string, value: string): void;
  addHeader(name: string, value: string): void;
  removeHeader(name: string): void;
  getResponseHeader(name: string): string | undefined;
  /** Bytes or a UTF-8 string. Empty data is a no-op (it does not flush headers). */
  write(data: Uint8Array | string): void;
  /** Send the status line and headers now, with no body byte yet. */
  flushHeaders(): void;
  /** End the response. Throws `RequestFinishedError` if called twice. */
  finish(): void;
  registerProducer(producer: IProducer, streaming: boolean): void;
  unregisterProducer(): void;
  /**
   * Fires when the response has been completely handed to the transport;
   * errbacks with `ConnectionLost` if the client went away first.
   */
  notifyFinish(): Deferred<void>;
  /**
   * True once the status line and headers were handed to the transport (on
   * spindle's server: left the output it holds while it drives the app).
   * Status and headers are fixed from the first write, flushHeaders() or
   * finish() on, whether or not this is true yet.
   */
  readonly startedWriting: boolean;
  /**
   * Bytes written on this connection that are not yet handed to the kernel (held
   * by the request, the connection or the socket); absent or undefined where the
   * host cannot tell. 0 right after `write(data)` means nothing holds `data` any
   * more, so its memory may be reused (a proxy's read buffer, reactor/readbuffer.ts).
   */
  readonly unsentBytes?: number | undefined;
  readonly finished: boolean;
  /** True once the client went away before the response finished. */
  readonly disconnected: boolean;
  /**
   * Abort the connection now (used after a failure once headers went out).
   * Before the head reached the transport, spindle's server answers 500 and
   * closes instead: nothing would be cut off.
   */
  abort(): void;
  /**
   * Switch protocols (RFC 9110 §7.8): send `101 Switching Protocols` with the
   * headers set so far, then give `protocol` the connection's raw transport and
   * the bytes read past the head. Throws `UpgradeError` after a write, on
   * HTTP/1.0 or on a request with a body. Absent where the host cannot hand
   * over its connection (a Fetch host, a worker thread).
   */
  upgrade?(protocol: IProtocol): void;
}

/** A Twisted.web-style app: write the response through the request. */
export type CpsApp = (request: IRequest) => void | Deferred<void> | Promise<void>;
