/**
 * The HTTP server's options and their named defaults. Every buffer and every
 * wait has a bound here; docs/http.md lists them.
 */
import type { IReactor } from '../../reactor/interfaces.js';
import type { Logger } from '../../reactor/log.js';
import type { ParserLimits } from './parser.js';

/** Seconds the whole request head may take to arrive (slow-loris bound); past it 408 and close. */
export const DEFAULT_HEADER_TIMEOUT = 30;
/** Seconds a keep-alive connection may sit idle between requests before it is closed. */
export const DEFAULT_IDLE_TIMEOUT = 15;
/** Largest body `readBody()` buffers unless given its own `limit`; past it 413. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/**
 * Request bytes held unparsed while the app is busy (pipelined requests behind
 * the current one, or a body the app has not asked for yet). Past it the
 * channel stops reading the socket until the app catches up. With requests of
 * at least 16 bytes this also bounds the number of waiting pipelined requests.
 */
export const DEFAULT_MAX_HELD_INPUT_BYTES = 64 * 1024;
/**
 * Body bytes the server reads and discards after a response that did not read
 * its request body, to keep the connection; past it the connection closes.
 */
export const DEFAULT_MAX_DRAIN_BYTES = 64 * 1024;
/**
 * Lingering close: seconds the server keeps reading (and discarding) after it
 * answered a request too large to read (413, 414, 431), so that a client still
 * sending it gets to read the answer; then the connection closes. 0 closes at once.
 */
export const DEFAULT_LINGER_TIMEOUT = 5;
/** Lingering close: most bytes read and discarded before the connection closes anyway. */
export const DEFAULT_LINGER_MAX_BYTES = 32 * 1024 * 1024;
/**
 * Response bytes held back while the app runs synchronously, so that a small
 * response leaves as one write with an exact Content-Length.
 */
export const MAX_COALESCE_BYTES = 16 * 1024;

export interface HTTPServerOptions extends ParserLimits {
  /** The reactor the server runs on: timeouts use its `callLater`, the Date header its `seconds()`. */
  reactor: IReactor;
  /** Seconds for a whole request head. Default `DEFAULT_HEADER_TIMEOUT`. */
  headerTimeout?: number;
  /** Seconds of silence allowed between keep-alive requests. Default `DEFAULT_IDLE_TIMEOUT`. */
  idleTimeout?: number;
  /** Default `readBody()` limit. Default `DEFAULT_MAX_BODY_BYTES`. */
  maxBodyBytes?: number;
  /** Default `DEFAULT_MAX_HELD_INPUT_BYTES`. */
  maxHeldInputBytes?: number;
  /** Default `DEFAULT_MAX_DRAIN_BYTES`. */
  maxDrainBytes?: number;
  /**
   * Treat the client's FIN as a half-close: requests already received are
   * answered, then the connection closes. Default false: a FIN while a
   * response is outstanding means the client left (as node:http, Twisted and
   * nginx take it), and the response ends as if the connection were lost.
   */
  allowHalfOpen?: boolean;
  /** Seconds of lingering close after a 413, 414 or 431. Default `DEFAULT_LINGER_TIMEOUT`; 0 turns it off. */
  lingerTimeout?: number;
  /** Bytes read and discarded while lingering, at most. Default `DEFAULT_LINGER_MAX_BYTES`. */
  lingerMaxBytes?: number;
  /** Log one Common Log Format line per response: `true` (namespace 'spindle.http.access') or a Logger. Default off. */
  accessLog?: boolean | Logger;
  /**
   * Proxies (addresses and CIDR ranges, IPv4 and IPv6: `['10.0.0.0/8', '::1']`)
   * whose `Forwarded` or `X-Forwarded-For` / `X-Forwarded-Proto` headers set
   * `request.client` and `request.secure` (so `REMOTE_ADDR` and
   * `wsgi.url_scheme`): the client is the right-most hop that is not one of
   * them. From any other peer the headers are ignored. Default: none.
   */
  trustedProxies?: readonly string[];
  /** A `Server` header value to send. Default: none. */
  serverName?: string;
  /** Where app failures and protocol warnings go. Default a Logger 'spindle.http'. */
  logger?: Logger;
}

/** Per-server counters (`factory.stats`). */
export interface HTTPStats {
  /** Requests handed to the app. */
  requests: number;
  /** Responses completed. */
  responses: number;
  /** Connections open now. */
  openChannels: number;
  /** Connections accepted since start. */
  totalChannels: number;
  /** Requests rejected by the parser (4xx/5xx without reaching the app). */
  badRequests: number;
  /** App failures (exceptions, failed Deferreds, rejected Promises). */
  appErrors: number;
  /** Connections closed by the header or idle timeout. */
  timeouts: number;
  /** Connections aborted (failure after headers, Content-Length not met). */
  aborted: number;
}

export function newStats(): HTTPStats {
  return {
    requests: 0,
    responses: 0,
    openChannels: 0,
    totalChannels: 0,
    badRequests: 0,
    appErrors: 0,
    timeouts: 0,
    aborted: 0,
  };
}
