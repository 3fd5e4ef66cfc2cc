/**
 * `Clock`: a deterministic `IReactorTime` for tests (Twisted's `task.Clock`).
 * Time starts at 0 and moves only when the test calls `advance()` or `pump()`.
 *
 * Unlike a real reactor, a call scheduled while `advance()` runs calls is run
 * in that same `advance()` when it is due (a `callLater(0)` made by a delayed
 * call runs before `advance()` returns). An exception thrown by a delayed call
 * propagates out of `advance()`, so a test sees it; the calls after it stay
 * scheduled for the next `advance()`.
 */
import type { IDelayedCall, IReactorTime } from './interfaces.js';
import { DelayedCall, TimerHeap, checkDelay } from './delayedcall.js';

export class Clock implements IReactorTime {
  private now = 0;
  private readonly heap = new TimerHeap(() => this.now);

  seconds(): number {
    return this.now;
  }

  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall {
    checkDelay(delay, 'callLater(delay)');
    return this.heap.schedule(this.now + delay, fn as (...args: unknown[]) => unknown, args);
  }

  /** The active calls, earliest first: the same objects `callLater` returned. */
  getDelayedCalls(): DelayedCall[] {
    return this.heap.activeCalls();
  }

  /**
   * Move time forward by `seconds` and run every call that is due by then, in
   * time order (ties in scheduling order), including calls they schedule.
   */
  advance(seconds: number): void {
    checkDelay(seconds, 'Clock.advance(seconds)');
    this.now += seconds;
    for (;;) {
      const call = this.heap.popDue(this.now);
      if (call === undefined) break;
      try {
        call.run();
      } catch (err) {
        call.release();
        throw err;
      }
    }
  }

  /** `advance()` by each amount in turn: `pump([1, 1, 1])` is three one-second steps. */
  pump(steps: Iterable<number>): void {
    for (const step of steps) this.advance(step);
  }
}
