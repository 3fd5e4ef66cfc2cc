/**
 * Waking threadedIterApp's loops, lazily: a burst of requests stays on the
 * loop that is already awake, and another loop is woken only when the queue
 * has not been drained for a while.
 *
 * A sleeping loop sets its bit in an idle mask (shared memory) and waits on
 * its own word. AWAKE counts the loops that are not asleep (in a request, or
 * about to claim one), counting one just woken; DRAINS is bumped each time a
 * loop finds the queue empty. The reactor side (threadeddispatch.ts) wakes the
 * lowest-numbered sleeper at the end of a turn in which it queued requests,
 * but only when no loop is awake; and while requests wait it looks again every
 * WAKE_CHECK seconds on its own clock, waking one more loop each time DRAINS
 * has not moved since the last look. An awake loop that is quick drains the
 * queue long before that, so a burst of hellos costs one wake-up and runs on
 * one warm isolate; an app that blocks (or a loop that cannot keep up) stops
 * draining it, so blocking apps still get every worker, one check apart.
 *
 * Clearing a loop's bit is the token: whoever clears it counts that loop as
 * awake, so a loop woken by its timeout and a waker never both do. A loop
 * goes to sleep in three steps (beginSleep, a last look at the queue, then
 * endSleep after its wait), so a request queued at any point in between is
 * either seen by that last look or finds the bit set and wakes the loop (the
 * order is pinned by test/threaded-wake.test.ts, a model of every
 * interleaving of these steps).
 */
/** Most loops per pool that the idle mask tracks (a larger pool runs this many). */
export const LOOP_MAX = 64;
const MASK_WORDS = LOOP_MAX / 32;
const SEQ_BASE = MASK_WORDS;
const AWAKE = SEQ_BASE + LOOP_MAX;
const DRAINS = AWAKE + 1;
export const LOOP_WORDS_BYTES = 4 * (DRAINS + 1);

/** Seconds between the reactor side's looks at a queue that is not empty (one more loop woken if it was not drained meanwhile). */
export const WAKE_CHECK = 0.002;

/** Loops not asleep, counting one just woken. */
export function awakeLoops(loops: Int32Array): number {
  return Atomics.load(loops, AWAKE);
}

/** Loops asleep now (their bits in the idle mask). */
export function sleepingLoops(loops: Int32Array): number {
  let n = 0;
  for (let w = 0; w < MASK_WORDS; w++) for (let m = Atomics.load(loops, w); m !== 0; m &= m - 1) n++;
  return n;
}

/** How many times a loop found the queue empty. */
export function drainCount(loops: Int32Array): number {
  return Atomics.load(loops, DRAINS);
}

/** A loop starts (or keeps going after a wait no waker counted): it is awake. */
export function loopAwake(loops: Int32Array): void {
  Atomics.add(loops, AWAKE, 1);
}

/** A loop that counted itself awake is gone (it died inside a request). */
export function loopGone(loops: Int32Array): void {
  Atomics.sub(loops, AWAKE, 1);
}

/** A loop found the queue empty. */
export function noteDrained(loops: Int32Array): void {
  Atomics.add(loops, DRAINS, 1);
}

/**
 * Wake the lowest-numbered sleeping loop (it counts as awake from now on);
 * false when none sleeps.
 */
export function wakeOne(loops: Int32Array): boolean {
  for (let w = 0; w < MASK_WORDS; w++) {
    for (let m = Atomics.load(loops, w); m !== 0; m = Atomics.load(loops, w)) {
      const bit = m & -m;
      if (Atomics.compareExchange(loops, w, m, m & ~bit) !== m) continue; // raced: look again
      Atomics.add(loops, AWAKE, 1); // the woken loop's share
      const seq = SEQ_BASE + w * 32 + (31 - Math.clz32(bit));
      Atomics.add(loops, seq, 1);
      Atomics.notify(loops, seq);
      return true;
    }
  }
  return false;
}

/** Wake every sleeping loop (the pool is stopping). */
export function wakeAllLoops(loops: Int32Array): void {
  for (let i = 0; i < LOOP_MAX; i++) {
    Atomics.add(loops, SEQ_BASE + i, 1);
    Atomics.notify(loops, SEQ_BASE + i);
  }
}

/**
 * Step one of going to sleep as loop `index`: no longer awake, its bit set.
 * Returns the value to wait on (read before the bit is set, so a wake-up
 * from then on is not missed). The caller looks at the queue once more
 * before it waits.
 */
export function beginSleep(loops: Int32Array, index: number): number {
  Atomics.sub(loops, AWAKE, 1);
  const seq = Atomics.load(loops, SEQ_BASE + index);
  Atomics.or(loops, index >> 5, 1 << (index & 31));
  return seq;
}

/** The word loop `index` waits on. */
export function sleepWord(index: number): number {
  return SEQ_BASE + index;
}

/**
 * Last step: the bit cleared. True when it was still set, i.e. nobody woke
 * this loop (it did not count as awake); the caller then counts itself
 * (loopAwake) unless it ends.
 */
export function endSleep(loops: Int32Array, index: number): boolean {
  const bit = 1 << (index & 31);
  return (Atomics.and(loops, index >> 5, ~bit) & bit) !== 0;
}

/**
 * Sleep as loop `index` (worker threads only) until woken or `timeoutMs`,
 * unless `stillIdle()` is false once the bit is set. Returns whether nobody
 * woke this loop (it must count itself awake again, or end), and whether it
 * timed out.
 */
export function sleepLoop(
  loops: Int32Array,
  index: number,
  timeoutMs: number,
  stillIdle: () => boolean,
): { mine: boolean; timedOut: boolean } {
  const seq = beginSleep(loops, index);
  const r = stillIdle() ? Atomics.wait(loops, SEQ_BASE + index, seq, timeoutMs) : 'not-equal';
  const mine = endSleep(loops, index);
  return { mine, timedOut: mine && r === 'timed-out' };
}

/**
 * The reactor side of the policy: told when requests were queued (at the end
 * of the turn) and when a loop ended, it wakes the lowest sleeper if no loop
 * is awake, then looks again every WAKE_CHECK seconds (`later`, on the host's
 * clock) while requests wait, waking one more loop each time no loop drained
 * the queue since the last look. `startLoop` is asked when a look finds
 * nobody to wake.
 */
export class LoopWaker {
  /** Sleeping loops this side woke. */
  wakeups = 0;
  private watching = false;
  /** Cancels the pending look (when `later` gave a way to). */
  private cancelLook: (() => void) | null = null;

  constructor(
    private readonly loops: Int32Array,
    /** Requests wait in the queue (and the pool still runs). */
    private readonly waiting: () => boolean,
    /** Run `fn` in WAKE_CHECK seconds; may return a function that cancels it. */
    private readonly later: (fn: () => void) => (() => void) | void,
    private readonly startLoop: () => void,
  ) {}

  /**
   * The queue is empty (the reactor side saw it drained): the pending look
   * would find nothing to do, so it is cancelled rather than left to wake
   * this thread for nothing. The next request's check() watches again.
   */
  drained(): void {
    if (!this.watching || this.cancelLook === null || this.waiting()) return;
    this.cancelLook();
    this.cancelLook = null;
    this.watching = false;
  }

  /** Requests were queued this turn, or a loop ended: wake one if none is awake, and watch the queue. */
  check(): void {
    if (!this.waiting()) return;
    if (awakeLoops(this.loops) <= 0 && wakeOne(this.loops)) this.wakeups++;
    // None awake and none asleep: loops are starting (or ending: check() runs again then).
    if (awakeLoops(this.loops) > 0) this.watch();
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const drains = drainCount(this.loops);
    this.cancelLook =
      this.later(() => {
        this.cancelLook = null;
        this.watching = false;
        if (!this.waiting()) return;
        if (drainCount(this.loops) === drains) {
          // Every awake loop is held (an app that blocks) or behind: another takes the next request.
          if (wakeOne(this.loops)) this.wakeups++;
          else this.startLoop();
        }
        this.watch();
      }) ?? null;
  }
}
