/**
 * Coordination with Deferreds (Twisted's `DeferredLock`, `DeferredSemaphore`,
 * `DeferredQueue`). Nothing here blocks: `acquire()` and `get()` return a
 * Deferred that fires when the token or item is there.
 *
 * Handing a released token to the next waiter is a loop, not a recursion: a
 * waiter's callback that releases at once (as `run()` does for synchronous
 * functions) lets the loop fire the next waiter after it returns, so a queue of
 * 100 000 waiters drains without growing the stack. The next waiter therefore
 * runs right after the releasing callback returns, not inside `release()`.
 */
import { NotAcquiredError, QueueOverflow } from './errors.js';
import { Deferred, maybeDeferred, succeed } from './deferred.js';

/** A FIFO with O(1) shift and removal of cancelled entries. */
class Fifo<V> {
  private items: V[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: V): void {
    this.items.push(v);
  }
  shift(): V {
    const v = this.items[this.head]!;
    this.items[this.head] = undefined as V;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  toArray(): V[] {
    return this.items.slice(this.head);
  }
  remove(v: V): boolean {
    const i = this.items.indexOf(v, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
}

/** What DeferredLock and DeferredSemaphore share: tokens, waiters, `run`. */
abstract class ConcurrencyPrimitive {
  protected readonly waiters = new Fifo<Deferred<this>>();
  private draining = false;

  protected constructor(
    /** Tokens free right now. */
    public tokens: number,
    /** Tokens in all. */
    readonly limit: number,
  ) {}

  /** How many `acquire()` Deferreds are waiting. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  /** The waiting `acquire()` Deferreds, oldest first (a copy, as Twisted's `waiting` list). */
  get waiting(): Deferred<this>[] {
    return this.waiters.toArray();
  }

  /** A Deferred that fires with this object when a token is yours. Cancelling it while it waits withdraws it. */
  acquire(): Deferred<this> {
    const d: Deferred<this> = new Deferred<this>((waiter) => {
      this.waiters.remove(waiter);
    });
    if (this.tokens > 0 && this.waiters.length === 0) {
      this.tokens--;
      d.callback(this);
    } else {
      this.waiters.push(d);
      this.drain();
    }
    return d;
  }

  /** Give a token back; the longest waiter gets it. Throws `NotAcquiredError` when none is held. */
  release(): void {
    if (this.tokens >= this.limit) {
      throw new NotAcquiredError(
        `${this.constructor.name}.release() called but no token is held; call release() once per acquire() that fired`,
      );
    }
    this.tokens++;
    this.drain();
  }

  private drain(): void {
    if (this.draining) return; // an outer drain() loop is running and will see the free token
    this.draining = true;
    try {
      while (this.tokens > 0 && this.waiters.length > 0) {
        this.tokens--;
        this.waiters.shift().callback(this);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Acquire, call `fn(...args)`, release when it is done (its Deferred or
   * Promise settled, or it threw), and fire with its result or failure.
   */
  run<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): Deferred<Awaited<R>> {
    return this.acquire().addCallback(() =>
      maybeDeferred(fn, ...args).addBoth((result) => {
        this.release();
        return result;
      }),
    ) as unknown as Deferred<Awaited<R>>;
  }
}

/** A lock: one holder at a time, waiters served in order. */
export class DeferredLock extends ConcurrencyPrimitive {
  constructor() {
    super(1, 1);
  }
  /** True while someone holds the lock. */
  get locked(): boolean {
    return this.tokens === 0;
  }
}

/** A semaphore: at most `tokens` holders at a time, waiters served in order. */
export class DeferredSemaphore extends ConcurrencyPrimitive {
  constructor(tokens: number) {
    if (!Number.isInteger(tokens) || tokens < 1) {
      throw new RangeError(`DeferredSemaphore: tokens must be an integer >= 1, got ${tokens}`);
    }
    super(tokens, tokens);
  }
}

/** Default bound on items held by a DeferredQueue nobody reads. */
export const DEFERRED_QUEUE_DEFAULT_SIZE = 65_536;
/** Default bound on `get()` Deferreds waiting on an empty DeferredQueue. */
export const DEFERRED_QUEUE_DEFAULT_BACKLOG = 65_536;

/**
 * A queue whose `get()` returns a Deferred. `size` bounds the items waiting to
 * be read, `backlog` the `get()`s waiting for an item; going past either throws
 * `QueueOverflow` at the call. Pass `Infinity` for no bound.
 */
export class DeferredQueue<T> {
  private readonly items = new Fifo<T>();
  private readonly getters = new Fifo<Deferred<T>>();

  constructor(
    readonly size: number = DEFERRED_QUEUE_DEFAULT_SIZE,
    readonly backlog: number = DEFERRED_QUEUE_DEFAULT_BACKLOG,
  ) {}

  /** Items put and not yet read. */
  get pendingCount(): number {
    return this.items.length;
  }
  /** `get()`s waiting for an item. */
  get waitingCount(): number {
    return this.getters.length;
  }
  /** The items not yet read, oldest first (a copy, as Twisted's `pending` list). */
  get pending(): T[] {
    return this.items.toArray();
  }
  /** The waiting `get()` Deferreds, oldest first (a copy, as Twisted's `waiting` list). */
  get waiting(): Deferred<T>[] {
    return this.getters.toArray();
  }

  /** Hand `item` to the oldest waiting `get()`, or hold it. Throws `QueueOverflow` past `size`. */
  put(item: T): void {
    if (this.getters.length > 0) {
      this.getters.shift().callback(item);
    } else if (this.items.length < this.size) {
      this.items.push(item);
    } else {
      throw new QueueOverflow(
        `DeferredQueue.put(): ${this.items.length} items are waiting to be read (size ${this.size}); read faster, or raise size`,
      );
    }
  }

  /** A Deferred for the next item. Cancel it to withdraw. Throws `QueueOverflow` past `backlog`. */
  get(): Deferred<T> {
    if (this.items.length > 0) return succeed(this.items.shift());
    if (this.getters.length >= this.backlog) {
      throw new QueueOverflow(
        `DeferredQueue.get(): ${this.getters.length} gets are already waiting (backlog ${this.backlog}); put items, or raise backlog`,
      );
    }
    const d = new Deferred<T>((waiter) => {
      this.getters.remove(waiter);
    });
    this.getters.push(d);
    return d;
  }
}
