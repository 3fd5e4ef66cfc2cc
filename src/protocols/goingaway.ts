/**
 * Reactor shutdown for long-lived responses: every open WebSocket of a reactor
 * starts its closing handshake with 1001 (going away, RFC 6455 §7.4.1), and
 * every open server-sent event stream ends its response, in the 'before
 * shutdown' phase; the shutdown waits until all of them ended (a WebSocket is
 * bounded by its own close timeout, a stream ends at once). One trigger per
 * reactor. Without this, a graceful stop would wait out its whole grace period
 * for responses that never end by themselves, then cut them.
 */
import { Deferred } from '../reactor/deferred.js';
import type { IReactorCore } from '../reactor/interfaces.js';

/** A connection or stream that can be told the reactor is going away. */
export interface GoingAway {
  goingAway(): void;
}

/** What is open per reactor, told by one 'before shutdown' trigger each. */
const liveByReactor = new WeakMap<IReactorCore, LiveSet>();

export class LiveSet {
  readonly open = new Set<GoingAway>();
  private waiter: Deferred<void> | null = null;

  constructor(reactor: IReactorCore) {
    reactor.addSystemEventTrigger('before', 'shutdown', () => this.goingAway());
  }

  /** Tell everything open that the reactor is going away; fires once all of it ended. */
  goingAway(): Deferred<void> | undefined {
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

/** The set of what is open on `reactor`, made (with its trigger) on first use. */
export function liveOn(reactor: IReactorCore): LiveSet {
  let live = liveByReactor.get(reactor);
  if (live === undefined) {
    live = new LiveSet(reactor);
    liveByReactor.set(reactor, live);
  }
  return live;
}

/**
 * `liveOn(reactor)` when `reactor` has system event triggers, else null (a bare
 * clock in a test double has none, and then nothing needs telling).
 */
export function liveOnIfCore(reactor: unknown): LiveSet | null {
  const core = reactor as Partial<IReactorCore> | undefined;
  return typeof core?.addSystemEventTrigger === 'function' ? liveOn(core as IReactorCore) : null;
}

/**
 * Tell what is open on `reactor` that it is going away now, before its
 * shutdown: a server that drains its in-flight responses before it stops the
 * reactor (the CLI) calls this first, so event streams end and WebSockets start
 * their closing handshake instead of holding the drain for its whole grace.
 */
export function goingAwayNow(reactor: IReactorCore): void {
  liveByReactor.get(reactor)?.goingAway();
}
