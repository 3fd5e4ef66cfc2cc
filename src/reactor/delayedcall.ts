/**
 * `DelayedCall` and `TimerHeap`: the scheduled calls of `NodeReactor` and
 * `Clock`, in one binary min-heap ordered by (due time, sequence number) so
 * that calls due at the same time run in the order they were scheduled.
 *
 * Two operations are lazy because servers do them all the time (an idle
 * timeout is reset on every read, and cancelled when the connection closes):
 * - `cancel()` only marks the call; the heap skips it when it reaches the top,
 *   and compacts itself when cancelled entries outnumber live ones.
 * - `reset()`/`delay()` to a later time only update the call; the heap entry
 *   keeps its old, earlier key and is re-sorted when it reaches the top
 *   (Twisted's reactor does the same). Moving a call earlier sifts it up.
 */
import type { IDelayedCall } from './interfaces.js';
import { AlreadyCalled, AlreadyCancelled, InvalidArgumentError } from './errors.js';

/** The heap compacts when it holds more than this many entries and over half are cancelled. */
export const HEAP_COMPACT_MIN = 64;

/** Throw `InvalidArgumentError` unless `seconds` is a finite number >= 0. */
export function checkDelay(seconds: number, what: string): void {
  if (typeof seconds !== 'number' || !(seconds >= 0) || seconds === Infinity) {
    throw new InvalidArgumentError(
      `${what} must be a finite number of seconds >= 0, got ${String(seconds)}; pass a delay such as 0 or 1.5`,
    );
  }
}

export class DelayedCall implements IDelayedCall {
  /** True once the call has run (it starts running, and stays true if it threw). */
  called = false;
  cancelled = false;
  /** @internal The sequence number: ties on `time` run in ascending order. */
  seq: number;
  /** @internal The (time, seq) the heap entry is sorted by; earlier than or equal to the real one. */
  key: number;
  keySeq: number;
  /** @internal Position in the heap array; -1 once out of the heap. */
  index = -1;
  private fn: ((...args: any[]) => unknown) | null;
  private args: unknown[] | null;

  constructor(
    private readonly heap: TimerHeap,
    /** The reactor time at which the call is due. */
    public time: number,
    fn: (...args: any[]) => unknown,
    args: unknown[],
  ) {
    this.fn = fn;
    this.args = args;
    this.seq = heap.nextSeq++;
    this.key = time;
    this.keySeq = this.seq;
  }

  getTime(): number {
    return this.time;
  }

  active(): boolean {
    return !this.called && !this.cancelled;
  }

  cancel(): void {
    this.checkActive();
    this.cancelled = true;
    // Drop the references now: a cancelled call may sit in the heap for a while.
    this.fn = null;
    this.args = null;
    this.heap.noteCancelled();
  }

  delay(seconds: number): void {
    this.checkActive();
    checkDelay(seconds, 'IDelayedCall.delay(seconds)');
    this.heap.reschedule(this, this.time + seconds);
  }

  reset(seconds: number): void {
    this.checkActive();
    checkDelay(seconds, 'IDelayedCall.reset(seconds)');
    this.heap.reschedule(this, this.heap.now() + seconds);
  }

  /** @internal Run the call once; its exception propagates to the caller (the reactor logs it). */
  run(): void {
    const fn = this.fn!;
    const args = this.args!;
    this.called = true;
    this.fn = null;
    this.args = null;
    fn(...args);
  }

  /** A name for log messages: the function's name and the due time. */
  describe(): string {
    return `<DelayedCall ${this.fn?.name || 'anonymous'} at ${this.time}>`;
  }

  private checkActive(): void {
    if (this.cancelled) throw new AlreadyCancelled();
    if (this.called) throw new AlreadyCalled();
  }
}

/** Heap order: earlier key first, then lower sequence number. */
function before(a: DelayedCall, b: DelayedCall): boolean {
  return a.key < b.key || (a.key === b.key && a.keySeq < b.keySeq);
}

export class TimerHeap {
  /** @internal The next sequence number to hand out. */
  nextSeq = 0;
  private items: DelayedCall[] = [];
  private cancelledCount = 0;

  constructor(
    /** The clock `reset()` counts from. */
    readonly now: () => number,
    /** Told when a call may have become the earliest (new, or moved earlier). */
    private readonly onEarlier: (time: number) => void = () => {},
    /** Told when no active call is left. */
    private readonly onEmpty: () => void = () => {},
  ) {}

  /** Active (not cancelled) calls in the heap. */
  get size(): number {
    return this.items.length - this.cancelledCount;
  }

  schedule(time: number, fn: (...args: any[]) => unknown, args: unknown[]): DelayedCall {
    const call = new DelayedCall(this, time, fn, args);
    call.index = this.items.length;
    this.items.push(call);
    this.siftUp(call.index);
    this.onEarlier(time);
    return call;
  }

  /**
   * The earliest active call, or undefined. Cancelled entries at the top are
   * dropped and lazily moved ones re-sorted on the way.
   */
  peek(): DelayedCall | undefined {
    const items = this.items;
    while (items.length > 0) {
      const top = items[0]!;
      if (top.cancelled) {
        this.removeTop();
        this.cancelledCount--;
      } else if (top.key !== top.time || top.keySeq !== top.seq) {
        top.key = top.time;
        top.keySeq = top.seq;
        this.siftDown(0);
      } else {
        return top;
      }
    }
    return undefined;
  }

  /**
   * Take the earliest call if it is due at `now` and was scheduled before
   * sequence number `seqLimit` (calls scheduled during a pass wait for the next).
   */
  popDue(now: number, seqLimit = Infinity): DelayedCall | undefined {
    const top = this.peek();
    if (top === undefined || top.time > now || top.seq >= seqLimit) return undefined;
    this.removeTop();
    return top;
  }

  /** All active calls, earliest first. */
  activeCalls(): DelayedCall[] {
    return this.items
      .filter((c) => !c.cancelled)
      .sort((a, b) => a.time - b.time || a.seq - b.seq);
  }

  /** @internal */
  noteCancelled(): void {
    this.cancelledCount++;
    if (this.cancelledCount === this.items.length) {
      for (const c of this.items) c.index = -1;
      this.items = [];
      this.cancelledCount = 0;
      this.onEmpty();
    } else if (this.items.length > HEAP_COMPACT_MIN && this.cancelledCount * 2 > this.items.length) {
      this.compact();
    }
  }

  /** @internal Move an active call to `time`, a new place in the scheduling order. */
  reschedule(call: DelayedCall, time: number): void {
    call.time = time;
    call.seq = this.nextSeq++;
    if (time < call.key) {
      call.key = time;
      call.keySeq = call.seq;
      this.siftUp(call.index);
      this.onEarlier(time);
    }
    // Later (or equal) time: leave the entry where it is; peek() re-sorts it.
  }

  private removeTop(): void {
    const items = this.items;
    items[0]!.index = -1;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      last.index = 0;
      this.siftDown(0);
    }
  }

  private compact(): void {
    const live = this.items.filter((c) => {
      if (c.cancelled) c.index = -1;
      return !c.cancelled;
    });
    this.items = live;
    this.cancelledCount = 0;
    for (let i = 0; i < live.length; i++) {
      const c = live[i]!;
      c.index = i;
      c.key = c.time;
      c.keySeq = c.seq;
    }
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!before(item, parent)) break;
      items[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    items[i] = item;
    item.index = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(items[right]!, items[child]!)) child = right;
      const c = items[child]!;
      if (!before(c, item)) break;
      items[i] = c;
      c.index = i;
      i = child;
    }
    items[i] = item;
    item.index = i;
  }
}
