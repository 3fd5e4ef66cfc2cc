/**
 * `Agent`: HTTP/1.1 requests over the reactor (Twisted's `twisted.web.client.Agent`).
 *
 *     const agent = new Agent(reactor, { pool: new HTTPConnectionPool(reactor) });
 *     const response = await agent.request('GET', 'http://127.0.0.1:8080/');
 *     const body = await readBody(response, { limit: 1 << 20 });
 *
 * `request()` fires with the Response at its head; cancelling its Deferred
 * stops a connection attempt, or aborts the connection while the request is
 * sent or the head awaited. With the `timeout` option the Deferred errbacks
 * with `ResponseTimeout` when no head came in time (measured on the reactor's
 * clock). A reused connection that turns out stale (closed before any response
 * byte) is retried once on a fresh connection when the method is idempotent
 * and the body can be sent again (none, or bytes).
 *
 * A request whose headers carry `Upgrade` (a WebSocket handshake, say) goes
 * with `Connection: Upgrade` on a fresh connection; a 101 answer is taken over
 * with `response.switchProtocols(protocol)` (RFC 9110 §7.8).
 */
import { Buffer } from 'node:buffer';
import { Deferred, fail } from '../../../reactor/deferred.js';
import { CancelledError } from '../../../reactor/errors.js';
import { Failure } from '../../../reactor/failure.js';
import type {
  IAddress,
  IClientFactory,
  IConnector,
  IReactor,
  IReactorTLS,
  IReactorUNIX,
  TLSClientOptions,
} from '../../../reactor/interfaces.js';
import { HTTP11ClientProtocol, type OutgoingRequest } from './connection.js';
import { ResponseNeverReceived, ResponseTimeout, SchemeNotSupported } from './errors.js';
import type { IAgent, IBodyProducer, IResponse, RequestBody, RequestHeaders } from './interfaces.js';
import { HTTPConnectionPool } from './pool.js';
import { BODY_METHODS, IDEMPOTENT_METHODS, requestHead, type HeadFraming } from './requesthead.js';
import type { Response } from './response.js';
import type { ResponseParserLimits } from './responseparser.js';

/** Seconds a TCP connection attempt may take by default. */
export const DEFAULT_CONNECT_TIMEOUT = 30;
/**
 * Bytes one socket read of an http: connection may bring (the reactor's
 * `readBufferSize`): a large body comes in reads of up to 256 KiB instead of
 * Node's 64 KiB, a quarter of the reads and reactor turns (a proxy's download).
 */
export const DEFAULT_CLIENT_READ_BUFFER = 256 * 1024;

export interface AgentOptions {
  /** Where connections are kept between requests. Default: a non-persistent pool (every request gets its own connection and `Connection: close`), as in Twisted. */
  pool?: HTTPConnectionPool;
  /** Seconds a connection attempt may take. Default `DEFAULT_CONNECT_TIMEOUT`. */
  connectTimeout?: number;
  /** Seconds from `request()` until the response head; none by default. */
  timeout?: number;
  /** Limits on the response head (status line, header bytes and count, chunk lines, trailers). */
  limits?: ResponseParserLimits;
  /** TLS options for https: URLs (trusted CAs, a client certificate, ...); the SNI name defaults to the URL's host. */
  tls?: TLSClientOptions;
  /**
   * Where to connect instead of the URL's host (Twisted's `Agent.usingEndpointFactory`):
   * e.g. `() => clientFromString(reactor, 'unix:path=/run/app.sock')`. The URL still gives
   * the Host header and the request-target.
   */
  endpointFactory?: (dest: Destination) => { connect(factory: IClientFactory): IConnector };
  /** Most bytes one socket read of an http: connection may bring. Default `DEFAULT_CLIENT_READ_BUFFER`. */
  readBufferSize?: number;
}

/** Where a URL points. */
export interface Destination {
  scheme: 'http' | 'https' | 'http+unix';
  /** The host to connect to (no IPv6 brackets); for http+unix the socket's path. */
  host: string;
  port: number;
  /** The Host header value. */
  authority: string;
  /** origin-form request-target: path and query. */
  target: string;
  /** The pool key: connections are shared per scheme, host and port. */
  key: string;
}

/**
 * Split an absolute URL: `http:`, `https:`, or `http+unix:` whose host is the
 * percent-encoded socket path (`http+unix://%2Frun%2Fapp.sock/path`, the
 * convention of requests-unixsocket). Throws `SchemeNotSupported` for anything else.
 */
export function destination(url: string): Destination {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SchemeNotSupported(url, 'it is not an absolute URL ("http://host[:port]/path")');
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'http+unix')
    throw new SchemeNotSupported(
      url,
      `the scheme ${JSON.stringify(u.protocol)} is not supported; use http:, https: or http+unix:`,
    );
  if (u.username !== '' || u.password !== '')
    throw new SchemeNotSupported(url, 'credentials in the URL are not sent; pass an Authorization header instead');
  const target = `${u.pathname}${u.search}`;
  if (scheme === 'http+unix') {
    const path = decodeURIComponent(u.hostname);
    return { scheme, host: path, port: 0, authority: 'localhost', target, key: `http+unix://${u.hostname}` };
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === '' ? (scheme === 'https' ? 443 : 80) : Number(u.port);
  return { scheme, host, port, authority: u.host, target, key: `${scheme}://${u.host}:${port}` };
}

const isProducer = (b: RequestBody): b is IBodyProducer => typeof (b as IBodyProducer).startProducing === 'function';

export class Agent implements IAgent {
  readonly pool: HTTPConnectionPool;
  private readonly connectTimeout: number;
  private readonly timeout: number | undefined;
  private readonly limits: ResponseParserLimits | undefined;
  private readonly tls: TLSClientOptions;
  private readonly endpointFactory: AgentOptions['endpointFactory'];
  private readonly readBufferSize: number;

  constructor(
    private readonly reactor: IReactor,
    options: AgentOptions = {},
  ) {
    this.pool = options.pool ?? new HTTPConnectionPool(reactor, { persistent: false });
    this.connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    this.timeout = options.timeout;
    this.limits = options.limits;
    this.tls = options.tls ?? {};
    this.endpointFactory = options.endpointFactory;
    this.readBufferSize = options.readBufferSize ?? DEFAULT_CLIENT_READ_BUFFER;
  }

  request(
    method: string,
    url: string,
    headers?: RequestHeaders | null,
    body?: RequestBody | null,
  ): Deferred<IResponse> {
    let dest: Destination;
    let out: OutgoingRequest;
    try {
      dest = destination(url);
      const payload = body == null ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const length =
        payload === null
          ? BODY_METHODS.has(method)
            ? 0
            : null
          : isProducer(payload)
            ? payload.length
            : payload.length;
      const framing: HeadFraming = { length, close: !this.pool.persistent };
      const head = requestHead(method, dest.target, dest.authority, headers, framing);
      out = { method, url, head, body: payload, upgrade: framing.upgrade === true };
    } catch (err) {
      return fail<IResponse>(err);
    }
    const replayable = out.body === null || out.body instanceof Uint8Array;
    const retry = this.pool.retryAutomatically && replayable && IDEMPOTENT_METHODS.has(method);
    // A protocol switch gets a connection of its own: it will not come back to the pool if it switches.
    const d = this.attempt(dest, out, retry ? 1 : 0, out.upgrade) as Deferred<IResponse>;
    if (this.timeout !== undefined) {
      const seconds = this.timeout;
      d.addTimeout(seconds, this.reactor, (result) => {
        if (result instanceof Failure && result.check(CancelledError))
          return new Failure(new ResponseTimeout(seconds, url));
        return result;
      });
    }
    return d;
  }

  /** One try on a pooled (or new) connection; `retries` more on fresh ones if a reused connection was stale. */
  private attempt(dest: Destination, out: OutgoingRequest, retries: number, fresh = false): Deferred<Response> {
    const connect = () => this.connect(dest);
    const conn = this.pool.getConnection(dest.key, connect, fresh);
    return conn.addCallback((c: HTTP11ClientProtocol) => {
      const reused = c.requestCount > 0;
      c.onIdle = (idle) => this.pool.returnConnection(dest.key, idle);
      return c.request(out).addErrback((f: Failure) => {
        if (reused && retries > 0 && f.check(ResponseNeverReceived)) return this.attempt(dest, out, retries - 1, true);
        return f;
      });
    }) as unknown as Deferred<Response>;
  }

  /** A new connection to `dest`; cancelling stops the attempt. */
  private connect(dest: Destination): Deferred<HTTP11ClientProtocol> {
    const conn = new HTTP11ClientProtocol(this.limits);
    let connector: IConnector | null = null;
    const d = new Deferred<HTTP11ClientProtocol>(() => {
      connector?.stopConnecting();
      if (conn.transport !== null) conn.abort();
    });
    const factory: IClientFactory = {
      doStart() {},
      doStop() {},
      startedConnecting() {},
      buildProtocol: (_addr: IAddress) => conn,
      clientConnectionFailed: (_c, reason) => {
        if (!d.called) d.errback(reason);
      },
      clientConnectionLost() {},
    };
    conn.connected.addCallback((c) => {
      if (d.called) c.abort();
      else d.callback(c);
    });
    try {
      connector = this.open(dest, factory);
    } catch (err) {
      if (!d.called) d.errback(err);
    }
    return d;
  }

  /** Start the connection: through the endpoint factory, or by the URL's scheme. */
  private open(dest: Destination, factory: IClientFactory): IConnector {
    if (this.endpointFactory) return this.endpointFactory(dest).connect(factory);
    const timeout = this.connectTimeout;
    const r = this.reactor as IReactor & Partial<IReactorTLS & IReactorUNIX>;
    if (dest.scheme === 'http')
      return r.connectTCP(dest.host, dest.port, factory, { timeout, readBufferSize: this.readBufferSize });
    if (dest.scheme === 'https') {
      if (typeof r.connectTLS !== 'function')
        throw new SchemeNotSupported(`https://${dest.authority}`, 'this reactor has no connectTLS; use a NodeReactor');
      return r.connectTLS(dest.host, dest.port, factory, { timeout, ...this.tls });
    }
    if (typeof r.connectUNIX !== 'function')
      throw new SchemeNotSupported(`http+unix://${dest.host}`, 'this reactor has no connectUNIX; use a NodeReactor');
    return r.connectUNIX(dest.host, factory, { timeout });
  }
}
