/**
 * Reactor shutdown for WebSockets: every open connection of a reactor starts
 * its closing handshake with 1001 (going away, RFC 6455 §7.4.1) in the
 * 'before shutdown' phase, and the shutdown waits until all of them ended
 * (each is bounded by its own close timeout). One trigger per reactor.
 */
import { Deferred } from '../../reactor/deferred.js';
import type { IReactorCore } from '../../reactor/interfaces.js';

/** A connection that can be told the reactor is going away. */
export interface GoingAway {
  goingAway(): void;
}

/** Open connections per reactor, closed with 1001 by one 'before shutdown' trigger each. */
const liveByReactor = new WeakMap<IReactorCore, LiveSet>();

export class LiveSet {
  readonly open = new Set<GoingAway>();
  private waiter: Deferred<void> | null = null;

  constructor(reactor: IReactorCore) {
    reactor.addSystemEventTrigger('before', 'shutdown', () => this.goingAway());
  }

  /** §7.4.1 1001: the endpoint is going away. Fires once every handshake ended (each bounded by its close timeout). */
  private goingAway(): Deferred<void> | undefined {
    if (this.open.size === 0) return undefined;
    this.waiter = new Deferred<void>();
    const waiter = this.waiter;
    for (const conn of [...this.open]) conn.goingAway();
    if (this.open.size === 0 && !waiter.called) waiter.callback(undefined);
    return waiter;
  }

  remove(conn: GoingAway): void {
    this.open.delete(conn);
    if (this.open.size === 0 && this.waiter !== null && !this.waiter.called) this.waiter.callback(undefined);
  }
}

/** The set of open connections of `reactor`, made (with its trigger) on first use. */
export function liveOn(reactor: IReactorCore): LiveSet {
  let live = liveByReactor.get(reactor);
  if (live === undefined) {
    live = new LiveSet(reactor);
    liveByReactor.set(reactor, live);
  }
  return live;
}
