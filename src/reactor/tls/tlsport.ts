/**
 * `listenTLS`: a TCP port whose connections shake hands before anything else.
 * The handshake runs on the accepted socket before the factory builds a
 * protocol, so a client that never finishes it (or speaks plain HTTP, or sends
 * garbage) never reaches the protocol: it is closed when the handshake fails
 * or after `handshakeTimeout` seconds of reactor time. While it shakes hands a
 * connection counts in `stats.openConnections` and is closed at shutdown.
 *
 * Failures are counted on the port (`handshakeFailures`) and logged once per
 * stretch: the first failure logs a warning with its reason, later ones are
 * only counted until a handshake succeeds (or the port stops), and then one
 * line says how many failed in between. A scan or a flood thus costs two log
 * lines, not one per connection.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Deferred } from '../deferred.js';
import type { TLSHandshakeError } from '../errors.js';
import type { IListeningPort, IProtocolFactory, IReactor, TLSListenOptions } from '../interfaces.js';
import { Logger } from '../log.js';
import { markUnderlying, type TransportOptions } from '../tcpconnection.js';
import { checkPort, listenStream } from '../tcpport.js';
import { closeAtShutdown } from '../tcpshutdown.js';
import { awaitHandshake } from './handshake.js';
import { handshakeTimeoutOf, serverContext, serverSocketOptions } from './options.js';

export interface TLSPortOptions extends TLSListenOptions, TransportOptions {}

/** Handshake counters of one TLS port. */
export interface HandshakeStats {
  /** Handshakes that finished. */
  completed: number;
  /** Handshakes that failed or timed out (closed before any protocol saw them). */
  failed: number;
  /** Of `failed`, those closed by `handshakeTimeout`. */
  timedOut: number;
}

const log = new Logger('spindle.tls');

/** One port's failures, logged once per stretch (see the module comment). */
class HandshakeFailureLog {
  readonly stats: HandshakeStats = { completed: 0, failed: 0, timedOut: 0 };
  private inStretch = false;
  private quiet = 0;
  constructor(private readonly where: () => string) {}

  failed(err: TLSHandshakeError, peer: string): void {
    this.stats.failed++;
    if (/handshakeTimeout/.test(err.message)) this.stats.timedOut++;
    if (this.inStretch) {
      this.quiet++;
      return;
    }
    this.inStretch = true;
    log.warn(
      `TLS handshake from ${peer} on ${this.where()} failed: ${err.message} (further failures are counted, not logged, until a handshake succeeds)`,
    );
  }

  succeeded(): void {
    this.stats.completed++;
    this.endStretch();
  }

  endStretch(): void {
    if (this.quiet > 0)
      log.warn(`${this.quiet} more TLS handshakes failed on ${this.where()} since the last one logged`);
    this.inStretch = false;
    this.quiet = 0;
  }
}

/** A listening TLS port: an `IListeningPort` with its handshake counters. */
export interface TLSListeningPort extends IListeningPort {
  readonly handshakes: HandshakeStats;
}

/**
 * Listen for TLS on `port` (0 picks a free one). Throws `InvalidArgumentError`
 * at once if the key or certificate is missing or unreadable; errbacks with
 * `CannotListenError` if the bind fails.
 */
export function listenTLS(
  reactor: IReactor,
  port: number,
  factory: IProtocolFactory,
  options: TLSPortOptions,
): Deferred<TLSListeningPort> {
  checkPort(port, 'listenTLS');
  const context = serverContext(options, 'listenTLS');
  const timeout = handshakeTimeoutOf(options, 'listenTLS');
  const socketOptions = serverSocketOptions(options, context);
  let where = `port ${port}`;
  const failures = new HandshakeFailureLog(() => where);
  const d = listenStream(reactor, port, factory, options, {
    accept(raw: Socket, start) {
      const peer = `${raw.remoteAddress ?? '?'}:${raw.remotePort ?? 0}`;
      raw.on('error', () => {}); // errors surface on the TLS socket that took its handle over
      const socket = new TLSSocket(raw, socketOptions);
      markUnderlying(socket, raw);
      // While it shakes hands the connection is open but no transport has it yet: count it here.
      reactor.stats.openConnections++;
      const forget = closeAtShutdown(reactor, { closeForShutdown: () => socket.destroy() });
      awaitHandshake(reactor, socket, true, timeout, {
        secured() {
          forget();
          reactor.stats.openConnections--; // the transport counts it from here on
          failures.succeeded();
          socket.setNoDelay(true);
          start(socket, { secure: true });
        },
        failed(err) {
          forget();
          failures.failed(err, peer);
          const release = () => void reactor.stats.openConnections--;
          if (socket.closed) release();
          else socket.once('close', release);
          socket.destroy();
        },
      });
    },
    stopped: () => failures.endStretch(),
  });
  return d.addCallback((listening) => {
    const host = listening.getHost();
    where = `${host.host}:${host.port}`;
    return Object.assign(listening, { handshakes: failures.stats }) as TLSListeningPort;
  });
}
