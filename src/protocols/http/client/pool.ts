/**
 * `HTTPConnectionPool`: idle persistent connections, kept per destination
 * (scheme, host, port) for reuse (Twisted's `HTTPConnectionPool`).
 *
 * A connection whose exchange ended with keep-alive comes back here; at most
 * `maxPersistentPerHost` idle ones are kept per destination (the oldest is
 * closed when one more comes back), each for `cachedConnectionTimeout` seconds
 * on the reactor's clock. Connections in use are not counted: like Twisted, the
 * bound is on what is kept, not on what may be open. A cached connection that
 * the server closes leaves the pool at once.
 */
import { Deferred, succeed } from '../../../reactor/deferred.js';
import type { IDelayedCall, IReactorTime } from '../../../reactor/interfaces.js';
import type { HTTP11ClientProtocol } from './connection.js';
import type { PoolOptions } from './interfaces.js';

export const DEFAULT_MAX_PERSISTENT_PER_HOST = 2;
export const DEFAULT_CACHED_CONNECTION_TIMEOUT = 240;

interface Cached {
  conn: HTTP11ClientProtocol;
  timer: IDelayedCall;
}

export class HTTPConnectionPool {
  readonly maxPersistentPerHost: number;
  readonly cachedConnectionTimeout: number;
  readonly retryAutomatically: boolean;
  readonly persistent: boolean;
  private readonly cache = new Map<string, Cached[]>();

  constructor(
    private readonly clock: IReactorTime,
    options: PoolOptions = {},
  ) {
    this.maxPersistentPerHost = options.maxPersistentPerHost ?? DEFAULT_MAX_PERSISTENT_PER_HOST;
    this.cachedConnectionTimeout = options.cachedConnectionTimeout ?? DEFAULT_CACHED_CONNECTION_TIMEOUT;
    this.retryAutomatically = options.retryAutomatically ?? true;
    this.persistent = options.persistent ?? true;
  }

  /**
   * A connection to `key`: the most recently cached idle one, else a new one
   * from `connect()`. Cancelling the Deferred cancels the connection attempt.
   */
  getConnection(key: string, connect: () => Deferred<HTTP11ClientProtocol>): Deferred<HTTP11ClientProtocol> {
    const list = this.cache.get(key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (list.length === 0) this.cache.delete(key);
      c.timer.cancel();
      c.conn.onClosed = null;
      if (c.conn.phase === 'idle') return succeed(c.conn);
    }
    return connect();
  }

  /** A connection whose exchange ended with keep-alive: cache it, or close it if the pool is full or not persistent. */
  returnConnection(key: string, conn: HTTP11ClientProtocol): void {
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
