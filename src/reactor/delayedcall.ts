/**
 * `DelayedCall` and `TimerHeap`: the scheduled calls of `NodeReactor` and
 * `Clock`, ordered by (due time, sequence number) so that calls due at the
 * same time run in the order they were scheduled. One file because the queue
 * and the call share their bookkeeping fields.
 *
 * The calls live in two sorted structures, and the earliest is the earlier of
 * their two heads:
 * - a FIFO (a doubly linked list through the calls) for calls due no
 *   earlier than the last one it holds. Most calls arrive that way (every
 *   `callLater(0)`, and every timeout of one length). Scheduling, running,
 *   cancelling, and resetting such a call to a later time (an idle timeout is
 *   reset on every read) are O(1), as with Node's timer lists;
 * - a binary min-heap for the rest, O(log n). Cancelling in the heap is lazy:
 *   the call is only marked, skipped when it reaches the top, and the heap is
 *   compacted when cancelled entries are more than half of it.
 *
 * A call object is kept small (one double, the due time) because a server
 * holds one per connection and a burst of `callLater(0)` allocates thousands.
 */
import type { IDelayedCall } from './interfaces.js';
import { AlreadyCalled, AlreadyCancelled, InvalidArgumentError } from './errors.js';

/** The heap compacts when it holds more than this many entries and over half are cancelled. */
export const HEAP_COMPACT_MIN = 64;

const NO_ARGS: unknown[] = [];

/** Throw `InvalidArgumentError` unless `seconds` is a finite number >= 0. */
export function checkDelay(seconds: number, what: string): void {
  if (typeof seconds !== 'number' || !(seconds >= 0) || seconds === Infinity) {
    throw new InvalidArgumentError(
      `${what} must be a finite number of seconds >= 0, got ${String(seconds)}; pass a delay such as 0 or 1.5`,
    );
  }
}

// Bits of DelayedCall.state (one small integer rather than three fields: a
// server keeps one call per connection).
const CALLED = 1;
const CANCELLED = 2;
/** The call's FIFO entry is its live place. */
const QUEUED = 4;

export class DelayedCall implements IDelayedCall {
  private state = 0;
  /** @internal The sequence number: ties on `time` run in ascending order. */
  seq: number;
  /** @internal Position in the heap array; -1 when not in the heap. */
  index = -1;
  /** @internal The FIFO neighbours. */
  prev: DelayedCall | null = null;
  next: DelayedCall | null = null;
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
    this.args = args.length === 0 ? NO_ARGS : args;
    this.seq = heap.nextSeq++;
  }

  /** True once the call has run (it starts running, and stays true if it threw). */
  get called(): boolean {
    return (this.state & CALLED) !== 0;
  }

  get cancelled(): boolean {
    return (this.state & CANCELLED) !== 0;
  }

  /** @internal */
  get queued(): boolean {
    return (this.state & QUEUED) !== 0;
  }
  set queued(on: boolean) {
    this.state = on ? this.state | QUEUED : this.state & ~QUEUED;
  }

  getTime(): number {
    return this.time;
  }

  active(): boolean {
    return (this.state & (CALLED | CANCELLED)) === 0;
  }

  cancel(): void {
    this.checkActive();
    this.state |= CANCELLED;
    // Drop the references now: a cancelled call may sit in a queue for a while.
    this.fn = null;
    this.args = null;
    this.heap.noteCancelled(this);
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

  /**
   * @internal Run the call once. An exception propagates to the caller (the
   * reactor logs it, using `describe()`, then calls `release()`).
   */
  run(): void {
    const fn = this.fn!;
    const args = this.args!;
    this.state |= CALLED;
    this.args = null;
    if (args.length === 0) fn();
    else fn(...args);
    this.fn = null;
  }

  /** @internal Drop the function after a run that threw. */
  release(): void {
    this.fn = null;
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

/** Order: earlier time first, then lower sequence number. */
function before(a: DelayedCall, b: DelayedCall): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export class TimerHeap {
  /** @internal The next sequence number to hand out. */
  nextSeq = 0;
  private items: DelayedCall[] = [];
  /** Cancelled calls still in `items`. */
  private cancelledInHeap = 0;
  private fifoFirst: DelayedCall | null = null;
  private fifoLast: DelayedCall | null = null;
  private live = 0;

  constructor(
    /** The clock `reset()` counts from. */
    readonly now: () => number,
    /** Told when a call may have become the earliest (new, or moved earlier). */
    private readonly onEarlier: (time: number) => void = () => {},
    /** Told when no active call is left. */
    private readonly onEmpty: () => void = () => {},
  ) {}

  /** Active (scheduled, not run, not cancelled) calls. */
  get size(): number {
    return this.live;
  }

  schedule(time: number, fn: (...args: any[]) => unknown, args: unknown[]): DelayedCall {
    const call = new DelayedCall(this, time, fn, args);
    this.live++;
    this.place(call);
    this.onEarlier(time);
    return call;
  }

  /** The earliest active call, or undefined (cancelled entries at the heap's top are dropped). */
  peek(): DelayedCall | undefined {
    const q = this.fifoFirst;
    const h = this.heapPeek();
    if (q === null) return h;
    if (h === undefined) return q;
    return before(h, q) ? h : q;
  }

  /**
   * Take the earliest call if it is due at `now` and was scheduled before
   * sequence number `seqLimit` (calls scheduled during a pass wait for the next).
   */
  popDue(now: number, seqLimit = Infinity): DelayedCall | undefined {
    const top = this.peek();
    if (top === undefined || top.time > now || top.seq >= seqLimit) return undefined;
    if (top.queued) this.unlink(top);
    else this.removeTop();
    this.live--;
    return top;
  }

  /** All active calls, earliest first. */
  activeCalls(): DelayedCall[] {
    const calls = this.items.filter((c) => !c.cancelled);
    for (let c = this.fifoFirst; c !== null; c = c.next) calls.push(c);
    return calls.sort((a, b) => a.time - b.time || a.seq - b.seq);
  }

  /** @internal */
  noteCancelled(call: DelayedCall): void {
    this.live--;
    if (call.queued) this.unlink(call);
    else this.cancelledInHeap++;
    if (this.live === 0) {
      for (const c of this.items) c.index = -1;
      this.items = [];
      this.cancelledInHeap = 0;
      this.onEmpty();
    } else if (this.items.length > HEAP_COMPACT_MIN && this.cancelledInHeap * 2 > this.items.length) {
      this.compact();
    }
  }

  /** @internal Move an active call to `time`, a new place in the scheduling order. */
  reschedule(call: DelayedCall, time: number): void {
    const earlier = time < call.time;
    call.time = time;
    call.seq = this.nextSeq++;
    if (call.queued) {
      this.unlink(call);
      this.place(call);
    } else if (earlier) {
      this.siftUp(call.index);
    } else {
      this.siftDown(call.index);
    }
    if (earlier) this.onEarlier(time);
  }

  /** Put a call at the FIFO's tail if it sorts after it (a new call due no earlier always does), else in the heap. */
  private place(call: DelayedCall): void {
    const last = this.fifoLast;
    if (last === null || call.time > last.time || (call.time === last.time && call.seq > last.seq)) {
      call.queued = true;
      call.prev = last;
      call.next = null;
      if (last === null) this.fifoFirst = call;
      else last.next = call;
      this.fifoLast = call;
    } else {
      this.heapPush(call);
    }
  }

  private unlink(call: DelayedCall): void {
    const { prev, next } = call;
    if (prev === null) this.fifoFirst = next;
    else prev.next = next;
    if (next === null) this.fifoLast = prev;
    else next.prev = prev;
    call.prev = null;
    call.next = null;
    call.queued = false;
  }

  private heapPeek(): DelayedCall | undefined {
    const items = this.items;
    while (items.length > 0) {
      const top = items[0]!;
      if (!top.cancelled) return top;
      this.removeTop();
      this.cancelledInHeap--;
    }
    return undefined;
  }

  private heapPush(call: DelayedCall): void {
    call.index = this.items.length;
    this.items.push(call);
    this.siftUp(call.index);
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

  /** Drop the cancelled entries from the heap and rebuild it. */
  private compact(): void {
    const live = this.items.filter((c) => {
      if (c.cancelled) c.index = -1;
      return !c.cancelled;
    });
    this.items = live;
    this.cancelledInHeap = 0;
    for (let i = 0; i < live.length; i++) live[i]!.index = i;
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
