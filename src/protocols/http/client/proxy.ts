/**
 * `reverseProxy(upstream, options) → CpsApp`: forwards each request to an
 * upstream HTTP server through an `Agent` and streams both bodies, with
 * backpressure both ways and nothing read ahead:
 *
 * - upload: the client's body goes upstream through a body producer over
 *   `request.deliverBody`; when the upstream socket's buffer is full the agent
 *   pauses that producer, which pauses reading the client's socket;
 * - download: the upstream body goes to the client through `request.write`,
 *   with the response body's transport registered on the request as a push
 *   producer; when the client's socket buffer is full the server pauses it,
 *   which pauses reading the upstream socket.
 *
 * `maxBuffered` is a safety bound on top: bytes that still arrive while a
 * side is paused (what one socket read had already brought) are counted, and
 * past the bound the exchange is aborted rather than buffered.
 *
 * Failures: an upstream that cannot be reached or answers garbage gets 502, one
 * that gives no head within `timeout` seconds (the reactor's clock) 504, each
 * with a short generic plain-text body (RFC 9110 §15.6.3, §15.6.5) that names no
 * internal address and quotes no error text; the details (upstream URL, method,
 * path, client, the error) go to the logger. A client that leaves cancels the
 * upstream request (closing its connection); an upstream that breaks off
 * mid-body aborts the client's connection, so the client sees a truncated
 * response, never a short one that looks complete.
 *
 * Protocol switches (RFC 9110 §7.8; a WebSocket handshake): an HTTP/1.1
 * request without a body whose Connection lists `upgrade` goes upstream with
 * its `Upgrade` field (and `Connection: Upgrade`) on a connection of its own.
 * A 101 that answers the switch asked for (switchcheck.ts: its Upgrade, and
 * for WebSocket its Sec-WebSocket-Accept, subprotocol and extensions) is passed
 * to the client and both connections become a `Tunnel` (tunnel.ts) relaying
 * bytes with the same backpressure and bound (and `tunnelIdleTimeout`, if
 * given); one that does not is a 502 and its connection is closed. Any other
 * answer (426, 401, ...) is relayed as an ordinary response.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../../../reactor/deferred.js';
import { ConnectError, InvalidArgumentError, ResponseDone, TimeoutError } from '../../../reactor/errors.js';
import { Failure } from '../../../reactor/failure.js';
import type { IConsumer, IPushProducer } from '../../../reactor/interfaces.js';
import { Logger } from '../../../reactor/log.js';
import type { CpsApp, IRequest } from '../interfaces.js';
import { HOP_BY_HOP_HEADERS, parseContentLength } from '../rules.js';
import { hasListToken, listElements } from '../syntax.js';
import { Agent } from './agent.js';
import { ProtocolSwitchError, ResponseNeverReceived, ResponseTimeout } from './errors.js';
import { FlushedReads } from './flushed.js';
import { UNKNOWN_LENGTH, type IAgent, type IBodyProducer, type IResponse } from './interfaces.js';
import { HTTPConnectionPool } from './pool.js';
import { Relay } from './relay.js';
import { switchProblem } from './switchcheck.js';
import { Tunnel } from './tunnel.js';

/** Default `maxBuffered`: bytes a paused direction may still take in before the exchange is aborted. */
export const DEFAULT_PROXY_MAX_BUFFERED = 256 * 1024;
/** Default seconds to wait for the upstream's response head before answering 504. */
export const DEFAULT_PROXY_TIMEOUT = 60;

export interface ReverseProxyOptions {
  /** The agent that talks to the upstream. Default: an Agent on the request's reactor with a persistent pool. */
  agent?: IAgent;
  /** Send the upstream's host as Host (default false: the client's Host goes through, as nginx's `proxy_set_header Host $host`). */
  rewriteHost?: boolean;
  /** Bytes a paused direction may take in before the exchange is aborted. Default `DEFAULT_PROXY_MAX_BUFFERED`. */
  maxBuffered?: number;
  /** Seconds to wait for the upstream's head before 504. Default `DEFAULT_PROXY_TIMEOUT`. */
  timeout?: number;
  /** Where a 502/504's details (upstream URL, method, path, client, the error) are logged. Default `new Logger('spindle.http.proxy')`. */
  logger?: Logger;
  /**
   * Pass protocol switches (`Upgrade`, e.g. WebSocket) through to the upstream and tunnel
   * the connection after its 101. Default true; false strips Upgrade as hop-by-hop.
   */
  upgrade?: boolean;
  /**
   * Seconds a tunnel (after a 101) may carry no byte either way before the proxy closes both
   * connections, on the reactor's clock. Default: none (a tunnel stays open until a side closes it).
   */
  tunnelIdleTimeout?: number;
  /**
   * Give each relayed chunk's read memory back once the other side's socket took it
   * (release after flush: the memory is read into again). Default true. Set false when
   * the request handed to the proxy is wrapped by code that keeps the body chunks it
   * passes on (a tap that stores the upload, a cache that keeps what `write()` got):
   * with release, a kept chunk's bytes are overwritten by a later read.
   */
  releaseReads?: boolean;
}

/**
 * The bodies of the proxy's own answers: what happened, in terms a client can act
 * on, without the upstream's address or the error's text (those are logged).
 */
export const PROXY_ERROR_BODIES = {
  unreachable: 'Bad Gateway: the upstream server could not be reached.',
  closed: 'Bad Gateway: the upstream server closed the connection without answering.',
  invalid: 'Bad Gateway: the upstream server did not send a valid response.',
  timeout: 'Gateway Timeout: the upstream server did not answer in time.',
  badSwitch: 'Bad Gateway: the upstream server switched protocols in a way the request did not ask for.',
} as const;

/** Names the Connection field lists are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionNamed(value: string | undefined): Set<string> {
  const out = new Set<string>();
  if (value !== undefined) for (const name of listElements(value)) out.add(name.toLowerCase());
  return out;
}

/** Fields to pass on, hop-by-hop ones removed (RFC 9110 §7.6.1), and Content-Length too when `dropLength`. */
function endToEnd(
  pairs: ReadonlyArray<readonly [string, string]>,
  connection: string | undefined,
  dropLength: boolean,
): Array<[string, string]> {
  const named = connectionNamed(connection);
  const out: Array<[string, string]> = [];
  for (const [n, v] of pairs) {
    const l = n.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(l) || l === 'proxy-connection' || named.has(l) || (dropLength && l === 'content-length'))
      continue;
    out.push([n, v]);
  }
  return out;
}

/** A Forwarded node (RFC 7239 §6): an IPv6 address is quoted and bracketed. */
const node = (host: string): string => (host.includes(':') ? `"[${host}]"` : host);

/** The request's fields for the upstream, with Forwarded and X-Forwarded-* added (RFC 7239). */
export function forwardHeaders(
  req: IRequest,
  upstreamAuthority: string,
  rewriteHost: boolean,
): Array<[string, string]> {
  const out = endToEnd(req.headers.rawPairs(), req.headers.get('connection'), true);
  const host = req.headers.get('host') ?? '';
  const proto = req.secure ? 'https' : 'http';
  const client = req.client.host;
  if (rewriteHost) {
    for (let i = out.length - 1; i >= 0; i--) if (out[i]![0].toLowerCase() === 'host') out.splice(i, 1);
    out.push(['Host', upstreamAuthority]);
  }
  const fwd = `for=${node(client)};proto=${proto}${host !== '' && /^[!#-~]+$/.test(host) ? `;host="${host}"` : ''}`;
  const prevForwarded = req.headers.get('forwarded');
  const prevXff = req.headers.get('x-forwarded-for');
  for (let i = out.length - 1; i >= 0; i--) {
    const l = out[i]![0].toLowerCase();
    if (l === 'forwarded' || l === 'x-forwarded-for' || l === 'x-forwarded-host' || l === 'x-forwarded-proto')
      out.splice(i, 1);
  }
  out.push(['Forwarded', prevForwarded ? `${prevForwarded}, ${fwd}` : fwd]);
  out.push(['X-Forwarded-For', prevXff ? `${prevXff}, ${client}` : client]);
  if (host !== '') out.push(['X-Forwarded-Host', host]);
  out.push(['X-Forwarded-Proto', proto]);
  return out;
}

/** `releaseReads: false`: a writer that cannot tell what its socket took, so nothing is released. */
const noRelease = (): undefined => undefined;

/**
 * The client's body as an upload: a push producer over `req.deliverBody`. Each
 * chunk's read is given back once the upstream's socket took it (release after
 * flush, flushed.ts; checked at each write and when the upstream drained).
 */
class RequestBodyProducer extends Relay implements IBodyProducer {
  readonly length: number;
  private stopped = false;
  private flushed: FlushedReads | null = null;

  constructor(
    private readonly req: IRequest,
    maxBuffered: number,
    private readonly onOverrun: () => void,
    private readonly release: boolean,
  ) {
    super(maxBuffered);
    const cl = req.headers.get('content-length');
    this.length = (cl === undefined ? null : parseContentLength(cl)) ?? UNKNOWN_LENGTH;
  }

  startProducing(consumer: IConsumer): Deferred<void> {
    const done = new Deferred<void>();
    const flushed = (this.flushed = new FlushedReads(this.release ? () => consumer.unsentBytes : noRelease));
    this.req.deliverBody({
      makeConnection: (t) => {
        this.transport = t;
        if (this.paused) t.pauseProducing();
      },
      dataReceived: (data) => {
        if (this.stopped) return;
        if (!this.admit(data.length)) return this.onOverrun();
        consumer.write(data);
        flushed.wrote(data);
      },
      connectionLost: (reason: Failure) => {
        if (this.stopped || done.called) return;
        if (reason.check(ResponseDone)) done.callback(undefined);
        else done.errback(reason);
      },
    });
    return done;
  }

  override resumeProducing(): void {
    // The upstream's socket drained: what was written has gone.
    this.flushed?.taken();
    super.resumeProducing();
  }

  override stopProducing(): void {
    this.stopped = true;
    this.flushed?.drop();
    this.transport?.stopProducing();
  }
}

/**
 * Pass the upstream body to the client: the body transport is the producer the
 * request pauses. Each chunk's read is given back once the client's socket took
 * it (release after flush, flushed.ts; checked at each write and when the
 * client's transport resumes us, having drained).
 */
class ResponseRelay extends Relay implements IPushProducer {
  private readonly flushed: FlushedReads;

  constructor(
    private readonly req: IRequest,
    maxBuffered: number,
    private readonly onEnd: (reason: Failure) => void,
    release: boolean,
  ) {
    super(maxBuffered);
    this.flushed = new FlushedReads(release ? () => req.unsentBytes : noRelease);
  }

  start(response: IResponse): void {
    response.deliverBody({
      makeConnection: (t) => {
        this.transport = t;
        this.req.registerProducer(this, true);
      },
      dataReceived: (data) => {
        if (!this.admit(data.length)) {
          this.transport?.stopProducing();
          this.req.abort();
          return;
        }
        this.req.write(data);
        this.flushed.wrote(data);
      },
      connectionLost: (reason) => {
        this.flushed.drop();
        this.req.unregisterProducer();
        this.onEnd(reason);
      },
    });
  }

  override resumeProducing(): void {
    this.flushed.taken();
    super.resumeProducing();
  }
}

const defaultLogger = new Logger('spindle.http.proxy');

/**
 * The client asks for a protocol switch the proxy can carry (RFC 9110 §7.8): Upgrade
 * named in Connection, HTTP/1.1 (a 1.0 Upgrade is ignored), no body, and a server that
 * can hand over its connection (`request.upgrade`).
 */
function wantsSwitch(req: IRequest, hasBody: boolean): boolean {
  return (
    !hasBody &&
    req.version === 'HTTP/1.1' &&
    typeof req.upgrade === 'function' &&
    req.headers.has('upgrade') &&
    hasListToken(req.headers.get('connection') ?? '', 'upgrade')
  );
}

/** A body protocol that drops the body at once (closing its connection). */
const DISCARD = {
  makeConnection: (t: { stopProducing(): void }) => t.stopProducing(),
  dataReceived() {},
  connectionLost() {},
};

/**
 * The upstream answered 101: send the client a 101 with the upstream's end-to-end
 * fields and its Upgrade, then tunnel the two connections.
 */
function switchThrough(req: IRequest, response: IResponse, maxBuffered: number, idleTimeout?: number): boolean {
  if (typeof response.switchProtocols !== 'function') return false;
  for (const [n, v] of endToEnd(response.headers.rawPairs(), response.headers.get('connection'), false))
    req.addHeader(n, v);
  const protocol = response.headers.get('upgrade');
  if (protocol !== undefined) req.setHeader('Upgrade', protocol);
  req.setHeader('Connection', 'Upgrade');
  const tunnel = new Tunnel(
    maxBuffered,
    idleTimeout === undefined ? null : { clock: req.reactor, seconds: idleTimeout },
  );
  try {
    req.upgrade!(tunnel.client);
  } catch {
    // The client is gone or the response already started: the upstream connection goes too.
    response.deliverBody(DISCARD);
    return true;
  }
  response.switchProtocols(tunnel.upstream);
  return true;
}

function answer(req: IRequest, code: number, phrase: string, text: string): void {
  if (req.finished || req.disconnected) return;
  if (req.startedWriting) return req.abort();
  const body = Buffer.from(`${text}\n`, 'utf8');
  req.setResponseCode(code, phrase);
  req.setHeader('Content-Type', 'text/plain; charset=utf-8');
  req.setHeader('Content-Length', String(body.length));
  req.write(body);
  req.finish();
}

/** The upstream failed (`what`: how, for the log line): log the details of the `status` answered. */
function logFailure(log: Logger, req: IRequest, url: string, status: 502 | 504, what: string, f: Failure): void {
  // The text line says it all (the default observer prints no fields); the fields are for JSON observers.
  log.failure(
    `${req.method} ${req.uri} from ${req.client.host}: upstream ${url} ${what}; answered ${status}`,
    f,
    'warn',
    {
      upstream: url,
      method: req.method,
      path: req.uri,
      client: req.client.host,
      status,
    },
  );
}

export function reverseProxy(upstream: string, options: ReverseProxyOptions = {}): CpsApp {
  const base = new URL(upstream);
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const origin = `${base.protocol}//${base.host}`;
  const maxBuffered = options.maxBuffered ?? DEFAULT_PROXY_MAX_BUFFERED;
  const releaseReads = options.releaseReads ?? true;
  const timeout = options.timeout ?? DEFAULT_PROXY_TIMEOUT;
  const rewriteHost = options.rewriteHost ?? false;
  const log = options.logger ?? defaultLogger;
  const upgrades = options.upgrade ?? true;
  const idle = options.tunnelIdleTimeout;
  if (idle !== undefined && !(idle > 0 && Number.isFinite(idle)))
    throw new InvalidArgumentError(
      `reverseProxy(): tunnelIdleTimeout must be a positive number of seconds, got ${idle}; omit it for no idle timeout`,
    );
  let defaultAgent: IAgent | null = options.agent ?? null;
  return (req) => {
    const agent = (defaultAgent ??= new Agent(req.reactor, { pool: new HTTPConnectionPool(req.reactor), timeout }));
    const url = `${origin}${prefix}${req.uri}`;
    const hasBody = req.headers.has('transfer-encoding') || (req.headers.get('content-length') ?? '0') !== '0';
    let d: Deferred<IResponse> | null = null;
    const body = hasBody ? new RequestBodyProducer(req, maxBuffered, () => d?.cancel(), releaseReads) : null;
    const headers = forwardHeaders(req, base.host, rewriteHost);
    const switching = upgrades && wantsSwitch(req, hasBody);
    if (switching) headers.push(['Upgrade', req.headers.get('upgrade')!]);
    d = agent.request(req.method, url, headers, body);
    // A caller's agent may have no timeout of its own: bound the wait for the head here.
    if (options.agent !== undefined) d.addTimeout(timeout, req.reactor);
    let relay: ResponseRelay | null = null;
    // The client left: cancel the upstream request, or abandon its body.
    req.notifyFinish().addErrback(() => {
      if (relay) relay.stopProducing();
      else d!.cancel();
      return null;
    });
    d.addCallbacks(
      (response) => {
        if (req.disconnected) return response.deliverBody(DISCARD);
        if (response.code === 101) {
          // A 101 can only be passed on as a switch; one the proxy cannot carry is a bad answer,
          // and so is one that does not answer the switch asked for (RFC 9110 §7.8, RFC 6455 §4.1).
          const problem = switching ? switchProblem(req.headers, response.headers) : 'it was not asked to switch';
          if (problem === null && switchThrough(req, response, maxBuffered, idle)) return;
          response.deliverBody(DISCARD);
          if (problem !== null)
            logFailure(
              log,
              req,
              url,
              502,
              `failed (bad switch: ${problem})`,
              new Failure(new ProtocolSwitchError(`the upstream's switch: ${problem}`)),
            );
          return answer(req, 502, 'Bad Gateway', PROXY_ERROR_BODIES[problem === null ? 'invalid' : 'badSwitch']);
        }
        req.setResponseCode(response.code, response.phrase);
        for (const [n, v] of endToEnd(
          response.headers.rawPairs(),
          response.headers.get('connection'),
          response.length === UNKNOWN_LENGTH,
        ))
          req.addHeader(n, v);
        relay = new ResponseRelay(
          req,
          maxBuffered,
          (reason) => {
            if (reason.check(ResponseDone)) {
              if (!req.finished && !req.disconnected) req.finish();
            } else if (!req.finished && !req.disconnected) req.abort();
          },
          releaseReads,
        );
        relay.start(response);
      },
      (f: Failure) => {
        if (req.disconnected) return;
        const timedOut = f.check(ResponseTimeout) !== null || f.check(TimeoutError) !== null;
        const kind = timedOut
          ? 'timeout'
          : f.check(ConnectError)
            ? 'unreachable'
            : f.check(ResponseNeverReceived)
              ? 'closed'
              : 'invalid';
        logFailure(
          log,
          req,
          url,
          timedOut ? 504 : 502,
          timedOut ? `did not answer within ${timeout} s` : `failed (${kind})`,
          f,
        );
        if (timedOut) answer(req, 504, 'Gateway Timeout', PROXY_ERROR_BODIES.timeout);
        else answer(req, 502, 'Bad Gateway', PROXY_ERROR_BODIES[kind]);
      },
    );
  };
}
