/**
 * Time-based helpers over any `IReactorTime` (Twisted's `twisted.internet.task`):
 * `LoopingCall` (run a function every N seconds, on a fixed grid), `deferLater`
 * (a Deferred that fires after a delay), and, re-exported from cooperator.ts,
 * `Cooperator`/`cooperate` (run iterators a slice at a time).
 *
 * None of them uses a global reactor: the clock is always given, so a test
 * drives them with a `Clock`.
 */
import type { IDelayedCall, IReactorTime } from './interfaces.js';
import { Deferred, maybeDeferred } from './deferred.js';
import type { Failure } from './failure.js';
import { checkDelay } from './delayedcall.js';
import { LoopingCallStateError, NoClockError } from './errors.js';

export { Cooperator, CooperativeTask, cooperate, COOPERATOR_SLICE } from './cooperator.js';
export type { CooperatorOptions, Scheduler, TerminationPredicateFactory } from './cooperator.js';

export interface LoopingCallOptions {
  /** The clock (a reactor or `Clock`) to schedule on; can also be set later as `lc.clock`. */
  clock?: IReactorTime;
}

/**
 * Call `fn` every `interval` seconds. The calls keep to the grid
 * start + k * interval: if a call (or the Deferred it returns) runs past one
 * or more grid points, those intervals are skipped, not run late in a burst.
 * If `fn` returns a Deferred or Promise, the next call waits for it.
 */
export class LoopingCall {
  clock: IReactorTime | undefined;
  /** True between `start()` and `stop()` (or the failure that ended it). */
  running = false;
  /** The interval given to `start()`, seconds. */
  interval: number | undefined = undefined;
  /** The pending delayed call, or null while `fn` runs or its Deferred waits. */
  call: IDelayedCall | null = null;
  /** The clock time at which `start()` was called (reset by `reset()`). */
  starttime: number | undefined = undefined;
  private deferred: Deferred<LoopingCall> | null = null;
  private runAtStart = false;

  constructor(
    readonly fn: () => unknown,
    options: LoopingCallOptions = {},
  ) {
    this.clock = options.clock;
  }

  /**
   * A LoopingCall that passes `countFn` the number of intervals elapsed since
   * its last call: 1 normally, more when intervals were skipped because the
   * process was busy. With interval 0 the count is always 1.
   */
  static withCount(countFn: (count: number) => unknown, options: LoopingCallOptions = {}): LoopingCall {
    let lastTime: number | undefined;
    const lc: LoopingCall = new LoopingCall(() => {
      const now = lc.clock!.seconds();
      const interval = lc.interval!;
      if (interval === 0) {
        lastTime = now;
        return countFn(1);
      }
      let last = lastTime;
      if (last === undefined) {
        // The first call: with now=true it stands for the interval that starts at starttime.
        last = lc.starttime!;
        if (lc.runAtStart) last -= interval;
      }
      const count = lc.intervalOf(now) - lc.intervalOf(last);
      if (count > 0) {
        lastTime = now;
        return countFn(count);
      }
      return undefined;
    }, options);
    return lc;
  }

  /**
   * Start calling `fn` every `interval` seconds, the first time at once when
   * `now` is true. The Deferred fires with this LoopingCall when `stop()` is
   * called, and errbacks with the error if `fn` throws or its Deferred fails
   * (the loop stops then).
   */
  start(interval: number, now = true): Deferred<LoopingCall> {
    if (this.running) {
      throw new LoopingCallStateError('LoopingCall.start() called while it is running; call stop() first');
    }
    checkDelay(interval, 'LoopingCall.start(interval)');
    const clock = this.clock;
    if (clock === undefined)
      throw new NoClockError(
        'LoopingCall',
        'pass one, e.g. new LoopingCall(fn, { clock: reactor }), or set lc.clock = reactor before start()',
      );
    this.running = true;
    const deferred = (this.deferred = new Deferred<LoopingCall>(undefined, 'LoopingCall'));
    this.starttime = clock.seconds();
    this.interval = interval;
    this.runAtStart = now;
    if (now) this.tick();
    else this.scheduleFrom(this.starttime);
    return deferred;
  }

  /** Stop looping. The `start()` Deferred fires now, or when a pending `fn` Deferred fires. */
  stop(): void {
    if (!this.running) {
      throw new LoopingCallStateError('LoopingCall.stop() called while it is not running; check lc.running first');
    }
    this.running = false;
    if (this.call !== null) {
      this.call.cancel();
      this.call = null;
      this.fire(this);
    }
  }

  /** Restart the grid from now: the next call comes one interval from now. */
  reset(): void {
    if (!this.running) {
      throw new LoopingCallStateError('LoopingCall.reset() called while it is not running; start() it first');
    }
    if (this.call !== null) {
      this.call.cancel();
      this.call = null;
      this.starttime = this.clock!.seconds();
      this.scheduleFrom(this.starttime);
    }
  }

  private readonly tick = (): void => {
    this.call = null;
    maybeDeferred(this.fn).addCallbacks(
      () => {
        if (this.running) this.scheduleFrom(this.clock!.seconds());
        else this.fire(this);
      },
      (failure: Failure) => {
        this.running = false;
        this.fire(failure);
      },
    );
  };

  private fire(result: LoopingCall | Failure): void {
    const d = this.deferred!;
    this.deferred = null;
    if (result instanceof LoopingCall) d.callback(result);
    else d.errback(result);
  }

  /** Schedule the next call at the next grid point after `when`. */
  private scheduleFrom(when: number): void {
    this.call = this.clock!.callLater(this.untilNext(when), this.tick);
  }

  private untilNext(when: number): number {
    const interval = this.interval!;
    if (interval === 0) return 0;
    const runningFor = when - this.starttime!;
    const until = interval - (runningFor % interval);
    // When `when` is so large that adding `until` does not change it, wait a whole interval.
    return when === when + until ? interval : until;
  }

  private intervalOf(t: number): number {
    return Math.trunc((t - this.starttime!) / this.interval!);
  }
}

/**
 * A Deferred that fires after `delay` seconds on `clock`, with the result of
 * `fn(...args)` (or `undefined` with no `fn`; a throw or failed Deferred
 * becomes its failure). Cancelling it cancels the delayed call, and it
 * errbacks with `CancelledError`.
 */
export function deferLater<R = undefined, A extends unknown[] = []>(
  clock: IReactorTime,
  delay: number,
  fn?: (...args: A) => R,
  ...args: A
): Deferred<Awaited<R>> {
  const d = new Deferred<undefined>(() => {
    if (delayed.active()) delayed.cancel();
  }, 'deferLater');
  const delayed = clock.callLater(delay, () => d.callback(undefined));
  if (fn === undefined) return d as unknown as Deferred<Awaited<R>>;
  return d.addCallback(() => fn(...args)) as Deferred<Awaited<R>>;
}
