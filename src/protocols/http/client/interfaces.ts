/**
 * The HTTP/1.1 client's contracts (Twisted's `twisted.web.iweb` client half):
 * what an Agent does, what a body producer must do to upload, and what a
 * Response offers.
 *
 * Ordering: `agent.request()` returns a Deferred that fires with the
 * `Response` once its head (status line and fields) has arrived; the body
 * follows through `response.deliverBody(protocol)`. Until `deliverBody` is
 * called the connection's reading is paused, so an unread body is held by the
 * socket, never by spindle. Each `Response` comes from one connection; the
 * connection goes back to the pool only after its body has been read to the end.
 */
import type { Deferred } from '../../../reactor/deferred.js';
import type { IConsumer, IProtocol } from '../../../reactor/interfaces.js';
import type { IHeaders } from '../interfaces.js';

/** `IBodyProducer.length` when the size is not known in advance: the body is sent chunked. */
export const UNKNOWN_LENGTH = -1;

/**
 * A request body that streams (Twisted's `IBodyProducer`). The client calls
 * `startProducing(consumer)` once; the producer writes to the consumer until
 * it is done and then fires the returned Deferred (errback to fail the
 * request). It is a push producer: the consumer calls `pauseProducing` when
 * the socket's buffer is full and `resumeProducing` when it drained, and
 * `stopProducing` when the request is abandoned (then the Deferred need not
 * fire). Writing more than `length` bytes, or fewer, fails the request.
 */
export interface IBodyProducer {
  /** Bytes the body has, or `UNKNOWN_LENGTH` (sent with chunked transfer coding). */
  readonly length: number;
  startProducing(consumer: IConsumer): Deferred<void>;
  pauseProducing(): void;
  resumeProducing(): void;
  stopProducing(): void;
}

/** What `agent.request()` accepts as a body: a producer, or bytes/a string sent with Content-Length. */
export type RequestBody = IBodyProducer | Uint8Array | string;

/** Request headers: a list of pairs (repeats allowed), a record (an array value repeats the field) or an `IHeaders`. */
export type RequestHeaders =
  ReadonlyArray<readonly [string, string]> | Record<string, string | readonly string[]> | IHeaders;

/** Any agent: the Agent itself and the wrappers (RedirectAgent, ContentDecoderAgent). */
export interface IAgent {
  request(method: string, url: string, headers?: RequestHeaders | null, body?: RequestBody | null): Deferred<IResponse>;
}

/**
 * A response (Twisted's `IResponse`). `headers` is case-insensitive, the
 * server's `Headers` class. The body is read once: through `deliverBody`, or
 * `readBody(response)`, or by async iteration.
 */
export interface IResponse extends AsyncIterable<Uint8Array> {
  readonly version: string;
  readonly code: number;
  readonly phrase: string;
  readonly headers: IHeaders;
  /** Body length from Content-Length, or `UNKNOWN_LENGTH` (chunked or until close). */
  readonly length: number;
  /** The URL the request went to (after redirects, the last one). */
  readonly url: string;
  /** The response that redirected to this one (RedirectAgent), else null. */
  readonly previousResponse: IResponse | null;
  /** Trailer fields of a chunked body, once it has ended; null before or when none came. */
  readonly trailers: IHeaders | null;
  /**
   * Stream the body into `protocol`: `makeConnection(transport)` first, whose
   * `pauseProducing`/`resumeProducing` stop and restart reading the socket and
   * whose `stopProducing` abandons the body (closing the connection); then
   * `dataReceived` per piece; then `connectionLost(Failure(ResponseDone))` at the
   * end, or `connectionLost(Failure(ResponseFailed))` when the body broke off.
   * Call once; the second call throws `BodyAlreadyConsumedError`.
   */
  deliverBody(protocol: IProtocol): void;
  /**
   * After `101 Switching Protocols` to a request that sent `Upgrade` (RFC 9110 §7.8):
   * give the connection to `protocol` (`makeConnection(transport)`, then `dataReceived`
   * with the bytes that came after the 101, then the connection's own events). In place
   * of `deliverBody` (which on a 101 gets an empty body and closes the connection). Throws
   * `ProtocolSwitchError` on any other status. Absent where a response cannot hand over
   * its connection (a decoded response).
   */
  switchProtocols?(protocol: IProtocol): void;
}

export interface PoolOptions {
  /** Idle connections kept per host (scheme, host, port); more are closed when they come back. Default 2. */
  maxPersistentPerHost?: number;
  /** Seconds an idle connection is kept before it is closed. Default 240. */
  cachedConnectionTimeout?: number;
  /** Retry an idempotent request without a body once on a fresh connection when a reused one was stale. Default true. */
  retryAutomatically?: boolean;
  /** Keep connections between requests at all (false: every request gets `Connection: close`). Default true. */
  persistent?: boolean;
  /**
   * Connections open at once per host (connecting, busy or idle). Past it a request waits
   * for one to come free, in order. Default `Infinity` (no cap, as in Twisted).
   */
  maxConnectionsPerHost?: number;
  /** Requests that may wait per host while `maxConnectionsPerHost` are in use; past it `PoolQueueFull`. Default `DEFAULT_MAX_QUEUED_PER_HOST`. */
  maxQueuedPerHost?: number;
}

export interface ReadResponseBodyOptions {
  /** Largest body accepted, bytes; past it the Deferred errbacks with `ResponseBodyTooLarge` and the connection closes. Default `DEFAULT_MAX_RESPONSE_BODY_BYTES`. */
  limit?: number;
}
