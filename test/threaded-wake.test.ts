/**
 * threadedIterApp's wake policy (threadedwake.ts) against a model of every
 * interleaving: the real shared words, the real job queue (RecordRing) and the
 * real LoopWaker, with each worker loop as a machine that takes the same steps
 * as WorkerLoop.run (claim, drain, begin to sleep, a last look, wait, end) one
 * at a time, so fast-check can put the reactor side's actions (queue a
 * request, end its turn, a look on its clock) between any two of them. A lost
 * wake-up shows as requests left in the queue while every loop waits and the
 * reactor side has nothing left to do.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RecordRing } from '../src/bridge/threadedring.js';
import {
  awakeLoops,
  beginSleep,
  endSleep,
  LOOP_WORDS_BYTES,
  loopAwake,
  LoopWaker,
  noteDrained,
  sleepWord,
} from '../src/bridge/threadedwake.js';

type State = 'start' | 'claim' | 'run' | 'yield' | 'begin' | 'look' | 'wait' | 'end' | 'gone';

interface Loop {
  index: number;
  state: State;
  seq: number;
  timedOut: boolean;
  /** The job it runs: blocking jobs never end (an app that blocks for good). */
  blocking: boolean;
}

/** One pool: `size` loops, a queue of jobs (a job's payload byte says whether it blocks). */
class Model {
  readonly loops = new Int32Array(new SharedArrayBuffer(LOOP_WORDS_BYTES));
  readonly queue = RecordRing.create(4096);
  readonly consumer = RecordRing.attach(this.queue.buffer);
  readonly slots: Loop[] = [];
  readonly looks: (() => void)[] = [];
  readonly waker: LoopWaker;
  turnEnd = false;
  queued = 0;
  done = 0;
  blocked = 0;
  queuedBlocking = 0;
  private readonly into = { buf: Buffer.alloc(8) };

  constructor(readonly size: number) {
    this.waker = new LoopWaker(
      this.loops,
      () => this.queue.used() !== 0,
      (fn) => void this.looks.push(fn),
      () => this.ensureLoops(),
    );
  }

  /** The dispatcher's ensureLoops: loops while jobs in flight outnumber them, up to the pool's size. */
  ensureLoops(): void {
    const inFlight = this.queued - this.done;
    const live = this.slots.filter((l) => l.state !== 'gone');
    for (let n = live.length; n < Math.min(this.size, inFlight); n++) {
      const used = new Set(live.map((l) => l.index));
      let index = 0;
      while (used.has(index)) index++;
      const loop: Loop = { index, state: 'start', seq: 0, timedOut: false, blocking: false };
      this.slots.push(loop);
      live.push(loop);
    }
  }

  submit(blocking: boolean): void {
    if (!this.queue.tryPut(1, ++this.queued, new Uint8Array([blocking ? 1 : 0]))) {
      this.queued--;
      return;
    }
    if (blocking) this.queuedBlocking++;
    this.turnEnd = true;
    this.ensureLoops();
  }

  endTurn(): void {
    if (!this.turnEnd) return;
    this.turnEnd = false;
    this.waker.check();
  }

  look(): void {
    this.looks.shift()?.();
  }

  /** Whether the loop can take a step (a waiting loop only once its word moved, unless it may time out). */
  runnable(l: Loop, timeouts: boolean): boolean {
    if (l.state === 'gone') return false;
    if (l.state === 'run') return !l.blocking;
    if (l.state === 'wait') return timeouts || Atomics.load(this.loops, sleepWord(l.index)) !== l.seq;
    return true;
  }

  /** One step of WorkerLoop.run (threadedworker.ts), in its order. */
  step(l: Loop, timeout: boolean): void {
    switch (l.state) {
      case 'start':
        loopAwake(this.loops);
        l.state = 'claim';
        return;
      case 'claim': {
        const h = this.consumer.claim(this.into);
        if (h) {
          l.blocking = this.into.buf[0] === 1;
          if (l.blocking) {
            this.blocked++;
            this.queuedBlocking--;
          }
          l.state = 'run';
        } else {
          noteDrained(this.loops);
          l.state = 'yield';
        }
        return;
      }
      case 'run':
        this.done++;
        l.state = 'claim';
        return;
      case 'yield':
        l.state = this.queue.used() !== 0 ? 'claim' : 'begin';
        return;
      case 'begin':
        l.seq = beginSleep(this.loops, l.index);
        l.state = 'look';
        return;
      case 'look':
        l.timedOut = false;
        l.state = this.queue.used() === 0 ? 'wait' : 'end';
        return;
      case 'wait':
        l.timedOut = timeout && Atomics.load(this.loops, sleepWord(l.index)) === l.seq;
        l.state = 'end';
        return;
      case 'end': {
        const mine = endSleep(this.loops, l.index);
        if (mine && l.timedOut && this.queue.used() === 0) {
          // The loop gives its worker back; the dispatcher's loopEnded looks again.
          l.state = 'gone';
          this.waker.check();
          this.ensureLoops();
          return;
        }
        if (mine) loopAwake(this.loops);
        l.state = 'claim';
        return;
      }
    }
  }

  /** Run the loops (no timeouts) until each one waits, is held or is gone. */
  quiet(): void {
    for (
      let l = this.slots.find((x) => this.runnable(x, false));
      l;
      l = this.slots.find((x) => this.runnable(x, false))
    ) {
      this.step(l, false);
    }
  }

  /** Run fairly, without timeouts, until nothing moves: loops first, then the turn's end, then a look. */
  settle(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const l = this.slots.find((x) => this.runnable(x, false));
      if (l) this.step(l, false);
      else if (this.turnEnd) this.endTurn();
      else if (this.looks.length > 0) this.look();
      else return;
    }
    throw new Error('the model did not settle');
  }
}

type Action =
  | { t: 'submit'; blocking: boolean }
  | { t: 'endTurn' }
  | { t: 'look' }
  | { t: 'quiet' }
  | { t: 'step'; loop: number; timeout: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ t: fc.constant('submit' as const), blocking: fc.boolean() }),
  fc.constant({ t: 'endTurn' as const }),
  fc.constant({ t: 'look' as const }),
  fc.constant({ t: 'quiet' as const }),
  fc.record({ t: fc.constant('step' as const), loop: fc.nat(7), timeout: fc.boolean() }),
);

describe('threadedIterApp wake policy: a model of the loops and the reactor side', () => {
  it('never loses a wake-up: whatever the interleaving, every request that can run is run', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(action, { maxLength: 120 }), (size, actions) => {
        const m = new Model(size);
        for (const a of actions) {
          if (a.t === 'submit') {
            // Fewer blocking requests than loops, so the others always have a loop to run on.
            m.submit(a.blocking && m.blocked + m.queuedBlocking < size - 1);
          } else if (a.t === 'endTurn') m.endTurn();
          else if (a.t === 'look') m.look();
          else if (a.t === 'quiet') m.quiet();
          else {
            const live = m.slots.filter((l) => m.runnable(l, true));
            if (live.length > 0) m.step(live[a.loop % live.length]!, a.timeout);
          }
          expect(awakeLoops(m.loops)).toBeGreaterThanOrEqual(0);
        }
        m.settle();
        // Nothing is left to do on either side: no request may still wait in the queue.
        expect(m.queue.used()).toBe(0);
        expect(m.done + m.blocked).toBe(m.queued);
        // And the count of awake loops is exact: only the loops held in a blocking app.
        expect(awakeLoops(m.loops)).toBe(m.blocked);
      }),
      { numRuns: 3000 },
    );
  });

  it('a burst of requests wakes one loop; a loop held in its app gets company only after a look that saw no drain', () => {
    const m = new Model(4);
    for (let i = 0; i < 4; i++) m.submit(false);
    m.settle(); // four loops started (one per request in flight), all asleep now
    expect(m.slots.filter((l) => l.state === 'wait')).toHaveLength(4);
    const before = m.waker.wakeups;
    for (let i = 0; i < 20; i++) m.submit(false);
    m.endTurn();
    expect(m.waker.wakeups - before).toBe(1); // one loop for the whole burst
    m.settle();
    expect(m.waker.wakeups - before).toBe(1); // it drained the queue: the look woke nobody
    expect(m.done).toBe(24);
    // Now the awake loop blocks with requests behind it: the first look wakes the next loop.
    m.submit(true);
    m.submit(false);
    m.endTurn();
    const woken = m.waker.wakeups;
    m.quiet();
    expect(m.waker.wakeups).toBe(woken);
    expect(m.done).toBe(24); // the second request waits behind the blocked one
    m.look();
    expect(m.waker.wakeups).toBe(woken + 1);
    m.settle();
    expect(m.done).toBe(25);
  });
});
