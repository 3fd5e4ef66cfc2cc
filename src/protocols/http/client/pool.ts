/**
 * `HTTPConnectionPool`: idle persistent connections, kept per destination
 * (scheme, host, port) for reuse (Twisted's `HTTPConnectionPool`).
 *
 * A connection whose exchange ended with keep-alive comes back here; at most
 * `maxPersistentPerHost` idle ones are kept per destination (the oldest is
 * closed when one more comes back), each for `cachedConnectionTimeout` seconds
 * on the reactor's clock. A cached connection that the server closes leaves the
 * pool at once.
 *
 * Like Twisted, the pool does not bound the connections in use unless asked:
 * with `maxConnectionsPerHost` it counts every open connection per destination
 * (connecting, busy or idle) and a request past the cap waits in a FIFO queue of
 * at most `maxQueuedPerHost` (then `PoolQueueFull`); a connection that comes back
 * goes to the first waiter instead of the cache, and one that closes lets the
 * first waiter open a new one. A waiter that is cancelled (or times out) leaves
 * the queue.
 */
import { Deferred, fail, succeed } from '../../../reactor/deferred.js';
import type { IDelayedCall, IReactorTime } from '../../../reactor/interfaces.js';
import type { HTTP11ClientProtocol } from './connection.js';
import { PoolQueueFull } from './errors.js';
import type { PoolOptions } from './interfaces.js';

export const DEFAULT_MAX_PERSISTENT_PER_HOST = 2;
export const DEFAULT_CACHED_CONNECTION_TIMEOUT = 240;
/** Requests that may wait per host for a capped pool's connection before `PoolQueueFull`. */
export const DEFAULT_MAX_QUEUED_PER_HOST = 1024;

interface Cached {
  conn: HTTP11ClientProtocol;
  timer: IDelayedCall;
}

/** A request waiting for a connection to its host (maxConnectionsPerHost reached). */
interface Waiter {
  d: Deferred<HTTP11ClientProtocol>;
  connect: () => Deferred<HTTP11ClientProtocol>;
  /** The connection attempt made for it once a slot came free. */
  opening: Deferred<HTTP11ClientProtocol> | null;
}

export class HTTPConnectionPool {
  readonly maxPersistentPerHost: number;
  readonly cachedConnectionTimeout: number;
  readonly retryAutomatically: boolean;
  readonly persistent: boolean;
  readonly maxConnectionsPerHost: number;
  readonly maxQueuedPerHost: number;
  private readonly cache = new Map<string, Cached[]>();
  /** Open connections per destination (counted only when capped). */
  private readonly open = new Map<string, number>();
  private readonly queues = new Map<string, Waiter[]>();

  constructor(
    private readonly clock: IReactorTime,
    options: PoolOptions = {},
  ) {
    this.maxPersistentPerHost = options.maxPersistentPerHost ?? DEFAULT_MAX_PERSISTENT_PER_HOST;
    this.cachedConnectionTimeout = options.cachedConnectionTimeout ?? DEFAULT_CACHED_CONNECTION_TIMEOUT;
    this.retryAutomatically = options.retryAutomatically ?? true;
    this.persistent = options.persistent ?? true;
    this.maxConnectionsPerHost = options.maxConnectionsPerHost ?? Infinity;
    this.maxQueuedPerHost = options.maxQueuedPerHost ?? DEFAULT_MAX_QUEUED_PER_HOST;
  }

  /**
   * A connection to `key`: the most recently cached idle one (unless `fresh`),
   * else a new one from `connect()`, else (capped and at the cap) the first one
   * to come free. Cancelling the Deferred cancels the attempt or the wait.
   */
  getConnection(
    key: string,
    connect: () => Deferred<HTTP11ClientProtocol>,
    fresh = false,
  ): Deferred<HTTP11ClientProtocol> {
    const list = fresh ? undefined : this.cache.get(key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (list.length === 0) this.cache.delete(key);
      c.timer.cancel();
      c.conn.onClosed = null;
      if (c.conn.phase === 'idle') return succeed(c.conn);
    }
    if (this.maxConnectionsPerHost === Infinity) return connect();
    if ((this.open.get(key) ?? 0) < this.maxConnectionsPerHost) return this.openCounted(key, connect);
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = []));
    if (queue.length >= this.maxQueuedPerHost)
      return fail(new PoolQueueFull(key, this.maxConnectionsPerHost, queue.length));
    const waiter: Waiter = {
      connect,
      opening: null,
      d: new Deferred<HTTP11ClientProtocol>(() => {
        if (waiter.opening) waiter.opening.cancel();
        else this.leaveQueue(key, waiter);
      }),
    };
    queue.push(waiter);
    return waiter.d;
  }

  /** Requests waiting for a connection to `key` (capped pools). */
  queuedCount(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  /** Connections open to `key`, counted when `maxConnectionsPerHost` is set. */
  openCount(key: string): number {
    return this.open.get(key) ?? 0;
  }

  /** A new connection that holds one of `key`'s slots until it closes (or fails to open). */
  private openCounted(key: string, connect: () => Deferred<HTTP11ClientProtocol>): Deferred<HTTP11ClientProtocol> {
    this.open.set(key, (this.open.get(key) ?? 0) + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const n = this.open.get(key)! - 1;
      if (n === 0) this.open.delete(key);
      else this.open.set(key, n);
      this.serveQueue(key);
    };
    return connect().addCallbacks(
      (c) => {
        c.onGone = release;
        if (c.phase === 'closed') release();
        return c;
      },
      (f) => {
        release();
        return f;
      },
    ) as Deferred<HTTP11ClientProtocol>;
  }

  /** A slot came free: the first waiter opens a connection in it. */
  private serveQueue(key: string): void {
    const waiter = this.queues.get(key)?.[0];
    if (!waiter || (this.open.get(key) ?? 0) >= this.maxConnectionsPerHost) return;
    this.leaveQueue(key, waiter);
    waiter.opening = this.openCounted(key, waiter.connect);
    waiter.opening.addCallbacks(
      (c) => void waiter.d.callback(c),
      (f) => void (waiter.d.called || waiter.d.errback(f)),
    );
  }

  private leaveQueue(key: string, waiter: Waiter): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    const i = queue.indexOf(waiter);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(key);
  }

  /** A connection whose exchange ended with keep-alive: to the first waiter, else cache it, or close it if the pool is full or not persistent. */
  returnConnection(key: string, conn: HTTP11ClientProtocol): void {
    const waiter = this.queues.get(key)?.[0];
    if (waiter && this.persistent) {
      this.leaveQueue(key, waiter);
      waiter.d.callback(conn);
      return;
    }
    if (!this.persistent || this.maxPersistentPerHost <= 0) return conn.close();
    let list = this.cache.get(key);
    if (!list) this.cache.set(key, (list = []));
    const entry: Cached = {
      conn,
      timer: this.clock.callLater(this.cachedConnectionTimeout, () => {
        this.remove(key, entry);
        conn.close();
      }),
    };
    list.push(entry);
    conn.onClosed = () => this.remove(key, entry);
    while (list.length > this.maxPersistentPerHost) {
      const oldest = list.shift()!;
      oldest.timer.cancel();
      oldest.conn.onClosed = null;
      oldest.conn.close();
    }
  }

  private remove(key: string, entry: Cached): void {
    const list = this.cache.get(key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (entry.timer.active()) entry.timer.cancel();
    if (list.length === 0) this.cache.delete(key);
  }

  /** Idle connections cached for `key` (all destinations when omitted). */
  cachedCount(key?: string): number {
    if (key !== undefined) return this.cache.get(key)?.length ?? 0;
    let n = 0;
    for (const l of this.cache.values()) n += l.length;
    return n;
  }

  /** Close every cached connection; fires when they are all closed. */
  closeCachedConnections(): Deferred<void> {
    const waits: Deferred<void>[] = [];
    for (const [, list] of this.cache) {
      for (const c of list) {
        c.timer.cancel();
        const d = new Deferred<void>();
        c.conn.onClosed = () => d.callback(undefined);
        waits.push(d);
        c.conn.close();
      }
    }
    this.cache.clear();
    const all = new Deferred<void>();
    let left = waits.length;
    if (left === 0) all.callback(undefined);
    for (const w of waits) w.addCallback(() => void (--left === 0 && all.callback(undefined)));
    return all;
  }
}
