/**
 * Connection policies as wrapping factories (Twisted's `protocols/policies.py`
 * idea): a factory that wraps any other one and decides, per connection,
 * whether the wrapped factory gets to build a protocol at all.
 *
 * `LimitConnectionsFactory` caps the connections open at once. Past the cap a
 * new connection is refused by returning `null` from `buildProtocol`, which
 * the listening port answers by closing the socket at once: no protocol, no
 * timer, no buffer is created for it, so a flood of connections costs the
 * server only the accept. Each refusal is counted; the first one of each
 * stretch at the cap is logged as a warning (the rest at debug), so a flood
 * does not become a flood of log lines.
 *
 *     const http = new HTTPFactory(app, { reactor });
 *     await reactor.listenTCP(8080, new LimitConnectionsFactory(http, { maxConnections: 1000 }));
 */
import type { Failure } from '../reactor/failure.js';
import type { IAddress, IProtocol, IProtocolFactory, ITransport } from '../reactor/interfaces.js';
import { Logger } from '../reactor/log.js';
import { InvalidArgumentError } from '../reactor/errors.js';

/** Default cap on connections open at once through a `LimitConnectionsFactory`. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface LimitConnectionsOptions {
  /** Connections open at once; one more is closed at once. Default `DEFAULT_MAX_CONNECTIONS`. */
  maxConnections?: number;
  /** Where refusals are logged. Default a Logger 'spindle.policies'. */
  logger?: Logger;
}

/** Counters of a `LimitConnectionsFactory` (`factory.stats`). */
export interface ConnectionLimitStats {
  /** Connections open now through this factory. */
  openConnections: number;
  /** Connections accepted (handed to the wrapped factory) since start. */
  acceptedConnections: number;
  /** Connections closed at once because `maxConnections` were open. */
  rejectedConnections: number;
}

export class LimitConnectionsFactory implements IProtocolFactory {
  readonly stats: ConnectionLimitStats = { openConnections: 0, acceptedConnections: 0, rejectedConnections: 0 };
  readonly maxConnections: number;
  private readonly log: Logger;
  /** True from the first refusal until a connection closes: one warning per stretch at the cap. */
  private atCap = false;

  constructor(
    readonly wrapped: IProtocolFactory,
    options: LimitConnectionsOptions = {},
  ) {
    const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(max) || max < 0) {
      throw new InvalidArgumentError(
        `LimitConnectionsFactory maxConnections must be a whole number of 0 or more, got ${String(max)}`,
      );
    }
    this.maxConnections = max;
    this.log = options.logger ?? new Logger('spindle.policies');
  }

  doStart(): void {
    this.wrapped.doStart();
  }

  doStop(): void {
    this.wrapped.doStop();
  }

  buildProtocol(addr: IAddress): IProtocol | null {
    if (this.stats.openConnections >= this.maxConnections) {
      this.stats.rejectedConnections++;
      const message = `refused a connection from ${addr.host}:${addr.port}: ${this.maxConnections} connections are open (maxConnections); ${this.stats.rejectedConnections} refused so far`;
      if (this.atCap) this.log.debug(message);
      else this.log.warn(message);
      this.atCap = true;
      return null;
    }
    const inner = this.wrapped.buildProtocol(addr);
    if (inner === null) return null;
    this.stats.openConnections++;
    this.stats.acceptedConnections++;
    return new CountedProtocol(inner, this.closed);
  }

  private readonly closed = (): void => {
    this.stats.openConnections--;
    this.atCap = false;
  };
}

/** Forwards every event to the wrapped protocol; counts the connection closed once. */
class CountedProtocol implements IProtocol {
  private open = true;
  readConnectionLost?: () => void;

  constructor(
    readonly wrapped: IProtocol,
    private readonly onClosed: () => void,
  ) {
    // Only offer half-close when the wrapped protocol does: its absence changes what a FIN does.
    if (typeof wrapped.readConnectionLost === 'function') this.readConnectionLost = () => wrapped.readConnectionLost!();
  }

  makeConnection(transport: ITransport): void {
    this.wrapped.makeConnection(transport);
  }

  dataReceived(data: Uint8Array): void {
    this.wrapped.dataReceived(data);
  }

  connectionLost(reason: Failure): void {
    if (this.open) {
      this.open = false;
      this.onClosed();
    }
    this.wrapped.connectionLost(reason);
  }
}
