/**
 * Waking threadedIterApp's loops: which sleeping loop takes the next request.
 *
 * A sleeping loop sets its bit in an idle mask (shared memory) and waits on
 * its own word. A waker (the reactor thread at the end of its turn, or a loop
 * that claimed a request while more wait) wakes one only when no loop is free
 * to take them (Q_FREE: awake and between requests, counting one just woken),
 * and then the lowest-numbered sleeper: the same few loops stay busy and warm
 * under a burst of quick requests instead of all of them taking turns on the
 * cores, while apps that block (their loops are not free) still get every
 * worker. Clearing a loop's bit is the token: whoever clears it counts that
 * loop as free, so a loop woken by its timeout and a waker never both do.
 */
import type { RecordRing } from './threadedring.js';

/** Most loops per pool that the idle mask tracks (a larger pool runs this many). */
export const LOOP_MAX = 64;
const MASK_WORDS = LOOP_MAX / 32;
const SEQ_BASE = MASK_WORDS;
export const LOOP_WORDS_BYTES = 4 * (MASK_WORDS + LOOP_MAX);

/** Wake the lowest-numbered sleeping loop if requests wait and none is free. */
export function wakeLoopIfNeeded(q: Int32Array, freeWord: number, queue: RecordRing, loops: Int32Array): void {
  if (queue.used() === 0 || Atomics.load(q, freeWord) > 0) return;
  for (let w = 0; w < MASK_WORDS; w++) {
    for (let m = Atomics.load(loops, w); m !== 0; m = Atomics.load(loops, w)) {
      const bit = m & -m;
      if (Atomics.compareExchange(loops, w, m, m & ~bit) !== m) continue; // raced: look again
      Atomics.add(q, freeWord, 1); // the woken loop's share
      const seq = SEQ_BASE + w * 32 + (31 - Math.clz32(bit));
      Atomics.add(loops, seq, 1);
      Atomics.notify(loops, seq);
      return;
    }
  }
}

/** Wake every sleeping loop (the pool is stopping). */
export function wakeAllLoops(loops: Int32Array): void {
  for (let i = 0; i < LOOP_MAX; i++) {
    Atomics.add(loops, SEQ_BASE + i, 1);
    Atomics.notify(loops, SEQ_BASE + i);
  }
}

/**
 * Sleep as loop `index` (worker threads only) until woken or `timeoutMs`,
 * unless `stillIdle()` is false once the bit is set. Returns whether this
 * loop counts itself free again (false: a waker counted it), and whether it
 * timed out.
 */
export function sleepLoop(
  loops: Int32Array,
  index: number,
  timeoutMs: number,
  stillIdle: () => boolean,
): { countSelf: boolean; timedOut: boolean } {
  const w = index >> 5;
  const bit = 1 << (index & 31);
  const seq = Atomics.load(loops, SEQ_BASE + index);
  Atomics.or(loops, w, bit);
  const r = stillIdle() ? Atomics.wait(loops, SEQ_BASE + index, seq, timeoutMs) : 'not-equal';
  const mine = (Atomics.and(loops, w, ~bit) & bit) !== 0; // still set: nobody woke this loop
  return { countSelf: mine, timedOut: mine && r === 'timed-out' };
}
