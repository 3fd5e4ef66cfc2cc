/**
 * `Deferred`: a result that is not there yet, with Twisted's semantics.
 *
 * This file is larger than the others on purpose: the callback runner, pause and
 * chaining, cancellation, the unhandled-error tracker and the Promise interop all
 * touch the same private state (`result`, `paused`, the callback list), and
 * splitting them would mean exposing that state across modules.
 *
 * Callbacks run synchronously as soon as the result is there, in the order they
 * were added; a callback's return value (or throw) is the next result. A callback
 * that returns a Deferred (or a Promise) pauses this chain until that one fires.
 * `runCallbacks` is Twisted's `_runCallbacks`: it keeps an explicit stack of the
 * Deferreds it is working on instead of recursing, so chains of any depth
 * (100 000 nested Deferreds, `chainDeferred` cascades) never overflow the stack.
 */
import { AlreadyCalledError, CancelledError, SpindleError, TimeoutError } from './errors.js';
import { Failure, isFailure } from './failure.js';
import type { IReactorTime } from './interfaces.js';
import { Logger } from './log.js';

export type Canceller<T> = (d: Deferred<T>) => void;

/**
 * Marker links. The callback list holds pairs `[callback, errback]`; a marker
 * pair is `[targetDeferred, MARKER]`. CONTINUE hands this Deferred's result to
 * the Deferred waiting on it; CHAIN (from `chainDeferred`) fires the target with
 * it and leaves `undefined` here.
 */
const CONTINUE = Symbol('continue');
const CHAIN = Symbol('chain');
/** `Deferred.running` states (a small int: one field on every Deferred). */
const IDLE = 0;
const RUNNING = 1;
const CHAINED_OUT = 2;
type Running = typeof IDLE | typeof RUNNING | typeof CHAINED_OUT;
function passthru<V>(v: V): V {
  return v;
}

type Fn = (result: unknown, ...args: unknown[]) => unknown;

/** Rarely used per-Deferred state, kept off the hot object so creating a Deferred stays cheap. */
interface Extra {
  label: string | undefined;
  creator: string | undefined;
  firstFired: string | undefined;
  debugInfo: DebugInfo | null;
}

/** Bind extra arguments: `fn(result, ...args)`. Only allocated when there are extra args. */
function withArgs(fn: Fn, args: readonly unknown[] | null | undefined): Fn {
  if (!args || args.length === 0) return fn;
  return (result) => fn(result, ...args);
}

/**
 * The runner's explicit stack, shared by all Deferreds: a nested run (a callback
 * firing an unrelated Deferred) works above its caller's part and pops back down.
 */
const RUN_STACK: Deferred<unknown>[] = [];

/** A Deferred collected while holding an unhandled Failure is logged here. */
const unhandledLog = new Logger('spindle.deferred');

/**
 * The side object the FinalizationRegistry holds. It never refers to the
 * Deferred, so it does not keep it alive; `failure` is cleared when handled.
 */
interface DebugInfo {
  failure: Failure | null;
  label: string | undefined;
  creator: string | undefined;
}

function logUnhandled(failure: Failure, label: string | undefined, creator: string | undefined): void {
  const where = label ? ` (${label})` : '';
  const created = creator ? `\nDeferred created at:\n${creator}` : '';
  unhandledLog.failure(
    `Unhandled error in Deferred${where}:\n${failure.getTraceback()}${created}`,
    failure,
    'critical',
    {
      stack: failure.stack,
    },
  );
}

const unhandledRegistry = new FinalizationRegistry<DebugInfo>((info) => {
  const failure = info.failure;
  if (failure === null || failure._handled) return;
  logUnhandled(failure, info.label, info.creator);
});

function stackHere(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, stackHere);
  return (holder.stack ?? '').split('\n').slice(2).join('\n');
}

const DEFERRED_BRAND = Symbol('spindle.Deferred');

/** True when `v` is a Deferred (or a subclass); used on hot paths instead of `instanceof` (see `isFailure`). */
export function isDeferred(v: unknown): v is Deferred<unknown> {
  return typeof v === 'object' && v !== null && (v as { [DEFERRED_BRAND]?: boolean })[DEFERRED_BRAND] === true;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

export class Deferred<T = unknown> implements PromiseLike<T> {
  /**
   * When true, every Deferred records where it was created and first fired, and
   * `AlreadyCalledError` messages include both. Costs a stack capture per Deferred.
   */
  static debug = false;

  /** True once `callback`/`errback` was called. */
  called = false;
  /** How many `pause()` calls are not yet balanced by `unpause()`. */
  paused = 0;
  /**
   * The current result: a value, a `Failure`, or (while waiting on an inner
   * Deferred a callback returned) that inner Deferred. `undefined` before firing.
   */
  result: unknown = undefined;

  // Typed loosely so that Deferred<T> stays covariant in T (a Deferred<number> is a Deferred<unknown>).
  private readonly canceller: Canceller<any> | undefined;
  /**
   * Pending links, oldest first: `cb0`/`eb0` hold the oldest one when there is
   * no list (most Deferreds only ever hold one or two links, and this spares
   * them an array); `cbs` holds flat pairs `[callback, errback]` from `cbIndex` on.
   */
  private cb0: unknown = undefined;
  private eb0: unknown = undefined;
  private cbs: unknown[] | null = null;
  private cbIndex = 0;
  /**
   * The re-entry guard: RUNNING while a callback runs; CHAINED_OUT while this
   * Deferred's result is out on a chained one (a CHAIN link ran). As in Twisted,
   * where `chainDeferred` is `addCallbacks(d.callback, d.errback)`, this one is
   * then still inside that callback and keeps its result until the chained one
   * has run; the runner clears it when it comes back to this one. One field, not
   * two flags: every Deferred carries it.
   */
  private running: Running = IDLE;
  private suppressAlreadyCalled = false;
  private extra: Extra | null = null;

  constructor(canceller?: Canceller<T>, label?: string) {
    this.canceller = canceller;
    if (label !== undefined) this.label = label;
    if (Deferred.debug) this.getExtra().creator = stackHere();
  }

  /** A name for messages and logs, e.g. 'HTTP request body'. */
  get label(): string | undefined {
    return this.extra?.label;
  }
  set label(value: string | undefined) {
    this.getExtra().label = value;
  }

  private getExtra(): Extra {
    return (this.extra ??= { label: undefined, creator: undefined, firstFired: undefined, debugInfo: null });
  }

  private get debugInfo(): DebugInfo | null {
    return this.extra === null ? null : this.extra.debugInfo;
  }

  // ---------------------------------------------------------------- firing

  /** Fire with a value. Throws `AlreadyCalledError` if fired before; `TypeError` for a Deferred. */
  callback(result: T): void {
    if (isDeferred(result)) {
      throw new TypeError(
        'Deferred.callback(d) was given a Deferred; return it from a callback, or use d.chainDeferred(this)',
      );
    }
    this.startRunCallbacks(result);
  }

  /** Fire with a failure: `reason` is wrapped in a `Failure` unless it is one. */
  errback(reason: unknown): void {
    this.startRunCallbacks(Failure.from(reason));
  }

  private startRunCallbacks(result: unknown): void {
    if (this.called) {
      if (this.suppressAlreadyCalled) {
        // Cancelled without a canceller: the producer's later fire is expected; eat one.
        this.suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError(this.alreadyCalledMessage());
    }
    if (Deferred.debug) this.getExtra().firstFired = stackHere();
    this.called = true;
    this.result = result;
    this.runCallbacks();
  }

  private alreadyCalledMessage(): string {
    const name = this.label ? `Deferred "${this.label}"` : 'Deferred';
    const how = isFailure(this.result) ? `with a failure (${this.result.getErrorMessage()})` : 'with a result';
    let msg = `${name} was already fired ${how}; a Deferred fires once. Fix: check d.called before firing, or create a new Deferred for the new result.`;
    if (this.extra?.creator !== undefined) msg += `\nCreated at:\n${this.extra.creator}`;
    if (this.extra?.firstFired !== undefined) msg += `\nFirst fired at:\n${this.extra.firstFired}`;
    if (!Deferred.debug) msg += ' (Set Deferred.debug = true, or give the Deferred a label, to see which one.)';
    return msg;
  }

  // ---------------------------------------------------------------- adding callbacks

  /**
   * Add a callback/errback pair; `errback` defaults to passing the failure on.
   * Returns this Deferred (typed with the new result).
   */
  addCallbacks<R1, R2 = never>(
    callback: ((result: T, ...args: any[]) => R1) | null,
    errback?: ((failure: Failure, ...args: any[]) => R2) | null,
    callbackArgs?: readonly unknown[] | null,
    errbackArgs?: readonly unknown[] | null,
  ): Deferred<Awaited<R1> | Awaited<R2>> {
    const cb = callback ?? passthru;
    const eb = errback ?? passthru;
    if (typeof cb !== 'function') throw new TypeError(`addCallbacks: callback must be a function, got ${typeof cb}`);
    if (typeof eb !== 'function') throw new TypeError(`addCallbacks: errback must be a function, got ${typeof eb}`);
    this.pushLink(withArgs(cb as Fn, callbackArgs), withArgs(eb as Fn, errbackArgs));
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<Awaited<R1> | Awaited<R2>>;
  }

  private pushLink(cb: unknown, eb: unknown): void {
    const cbs = this.cbs;
    if (cbs !== null) {
      cbs.push(cb, eb);
    } else if (this.cb0 === undefined) {
      // Only when no list is pending, so the inline link is always the oldest.
      this.cb0 = cb;
      this.eb0 = eb;
    } else {
      this.cbs = [cb, eb];
    }
  }

  // The three below read extra arguments from `arguments` so that the common
  // no-extra-args call allocates nothing (a rest parameter would be an array).

  /** Add `fn(result, ...args)` to run on success; failures pass by it. */
  addCallback<R, A extends unknown[]>(fn: (result: T, ...args: A) => R, ...args: A): Deferred<Awaited<R>>;
  addCallback(fn: any): any {
    if (typeof fn !== 'function') throw new TypeError(`addCallback: expected a function, got ${typeof fn}`);
    this.pushLink(arguments.length > 1 ? withArgs(fn, Array.prototype.slice.call(arguments, 1)) : fn, passthru);
    if (this.called) this.runCallbacks();
    return this;
  }

  /** Add `fn(failure, ...args)` to run on failure; its return value recovers the chain. */
  addErrback<R, A extends unknown[]>(fn: (failure: Failure, ...args: A) => R, ...args: A): Deferred<T | Awaited<R>>;
  addErrback(fn: any): any {
    if (typeof fn !== 'function') throw new TypeError(`addErrback: expected a function, got ${typeof fn}`);
    this.pushLink(passthru, arguments.length > 1 ? withArgs(fn, Array.prototype.slice.call(arguments, 1)) : fn);
    if (this.called) this.runCallbacks();
    return this;
  }

  /** Add `fn(resultOrFailure, ...args)` to run either way. */
  addBoth<R, A extends unknown[]>(fn: (result: T | Failure, ...args: A) => R, ...args: A): Deferred<Awaited<R>>;
  addBoth(fn: any): any {
    if (typeof fn !== 'function') throw new TypeError(`addBoth: expected a function, got ${typeof fn}`);
    const both = arguments.length > 1 ? withArgs(fn, Array.prototype.slice.call(arguments, 1)) : fn;
    this.pushLink(both, both);
    if (this.called) this.runCallbacks();
    return this;
  }

  /**
   * When this Deferred fires, fire `d` with the same result (or failure). This
   * Deferred's result becomes `undefined`, as in Twisted (`d.callback` returns nothing).
   */
  chainDeferred(d: Deferred<T>): Deferred<undefined> {
    if (!isDeferred(d)) throw new TypeError(`chainDeferred: expected a Deferred, got ${typeof d}`);
    if ((d as unknown) === this) throw new TypeError('chainDeferred: a Deferred cannot be chained to itself');
    this.pushLink(d, CHAIN);
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<undefined>;
  }

  // ---------------------------------------------------------------- pause

  /** Stop running callbacks until a matching `unpause()`. */
  pause(): void {
    this.paused++;
  }

  /** Balance one `pause()`; when none are left and the result is there, run callbacks. Extra calls do nothing. */
  unpause(): void {
    if (this.paused === 0) return;
    this.paused--;
    if (this.paused === 0 && this.called) this.runCallbacks();
  }

  // ---------------------------------------------------------------- cancel and timeout

  /**
   * Cancel: run the canceller; if that did not fire this Deferred, errback with
   * `CancelledError`. Without a canceller the producer's one later fire is ignored.
   * A fired Deferred waiting on an inner one cancels the inner one; otherwise no-op.
   */
  cancel(): void {
    if (!this.called) {
      if (this.canceller) {
        this.canceller(this);
      } else {
        this.suppressAlreadyCalled = true;
      }
      if (!this.called)
        this.errback(new CancelledError(`${this.label ? `Deferred "${this.label}"` : 'Deferred'} was cancelled`));
    } else if (isDeferred(this.result)) {
      this.result.cancel();
    }
  }

  /**
   * Cancel this Deferred if it has not fired after `seconds` on `clock`, turning
   * the `CancelledError` into a `TimeoutError` (or into what
   * `onTimeoutCancel(result, seconds)` returns). Schedules exactly one delayed
   * call, cancelled if the Deferred fires first.
   */
  addTimeout(
    seconds: number,
    clock: IReactorTime,
    onTimeoutCancel?: (result: T | Failure, timeout: number) => unknown,
  ): Deferred<T> {
    let timedOut = false;
    const call = clock.callLater(seconds, () => {
      timedOut = true;
      this.cancel();
    });
    this.addBoth((result) => {
      if (!timedOut) return result;
      if (onTimeoutCancel) return onTimeoutCancel(result, seconds);
      if (isFailure(result)) {
        result.trap(CancelledError);
        throw new TimeoutError(`${this.label ? `Deferred "${this.label}"` : 'Deferred'} timed out after ${seconds} s`);
      }
      return result;
    });
    this.addBoth((result) => {
      if (call.active()) call.cancel();
      return result;
    });
    return this;
  }

  // ---------------------------------------------------------------- the runner

  /**
   * Twisted's `_runCallbacks`. `RUN_STACK` holds the Deferreds being worked on:
   * when a Deferred's result moves to the Deferred waiting on it (CONTINUE) or to
   * a chained one (CHAIN), that one is pushed and processed before this one goes
   * on. The re-entry guard (`running`) makes a callback that adds links
   * to, or resumes, the Deferred it runs on leave the work to the running loop.
   */
  private runCallbacks(): void {
    if (this.running !== IDLE) return; // a callback added callbacks or fired a chained Deferred: the loop below picks it up
    const base = RUN_STACK.length;
    RUN_STACK.push(this as Deferred<unknown>);
    try {
      while (RUN_STACK.length > base) {
        const current = RUN_STACK[RUN_STACK.length - 1]!;
        let running = current.running;
        if (running === CHAINED_OUT) {
          // Back from the chained Deferred: `d.callback(result)` returned undefined.
          current.running = running = IDLE;
          current.result = undefined;
        }
        const handedTo = current.paused > 0 || running !== IDLE ? null : current.runLinks();
        if (handedTo === null) RUN_STACK.pop();
        else RUN_STACK.push(handedTo);
      }
    } finally {
      // Only after an unexpected throw (e.g. a RangeError from a user's own deep recursion).
      if (RUN_STACK.length !== base) {
        for (let i = base; i < RUN_STACK.length; i++) {
          const d = RUN_STACK[i]!;
          if (d.running === CHAINED_OUT) d.running = IDLE;
        }
        RUN_STACK.length = base;
      }
    }
  }

  /**
   * Run this Deferred's links until it runs out, pauses (waiting on an inner
   * Deferred), or hands its result to another Deferred; in that last case the
   * other one is returned for the runner to process first.
   */
  private runLinks(): Deferred<unknown> | null {
    for (;;) {
      let cb: unknown;
      let eb: unknown;
      if (this.cb0 !== undefined) {
        cb = this.cb0;
        eb = this.eb0;
        this.cb0 = this.eb0 = undefined;
      } else {
        const cbs = this.cbs;
        if (cbs === null) break;
        const i = this.cbIndex;
        if (i >= cbs.length) {
          // Ran out: drop the list and the closures it held.
          this.cbs = null;
          this.cbIndex = 0;
          break;
        }
        this.cbIndex = i + 2;
        cb = cbs[i];
        eb = cbs[i + 1];
        cbs[i] = cbs[i + 1] = null; // let the closures go once run
      }
      if (eb === CONTINUE || eb === CHAIN) {
        const target = cb as Deferred<unknown>;
        if (eb === CONTINUE) {
          target.result = this.result;
          this.result = undefined;
          target.paused--;
        } else if (target.called) {
          // What `target.callback(result)` would do: eat it after a canceller-less cancel, else fail here.
          if (target.suppressAlreadyCalled) {
            target.suppressAlreadyCalled = false;
            this.result = undefined;
          } else {
            this.result = new Failure(new AlreadyCalledError(target.alreadyCalledMessage()));
          }
          continue;
        } else {
          target.called = true;
          target.result = this.result;
          // Keep the result until the target has run (see `running`); links
          // added meanwhile wait, as they would inside a running callback.
          this.running = CHAINED_OUT;
        }
        return target;
      }
      const fn = (isFailure(this.result) ? eb : cb) as (result: unknown) => unknown;
      let next: unknown;
      this.running = RUNNING;
      try {
        next = fn(this.result);
      } catch (err) {
        next = new Failure(err);
      }
      this.running = IDLE;
      if (typeof next === 'object' && next !== null) {
        if (next === this) {
          next = new Failure(
            new SpindleError(
              'ERR_DEFERRED_SELF',
              `a callback of ${this.label ? `Deferred "${this.label}"` : 'a Deferred'} returned that same Deferred; return a value or another Deferred`,
            ),
          );
        } else if (!isDeferred(next) && isThenable(next)) {
          next = Deferred.fromPromise(next);
        }
      }
      this.result = next;
      if (isDeferred(next)) {
        const inner = next as Deferred<unknown>;
        const innerResult = inner.result;
        if (!inner.called || inner.paused > 0 || isDeferred(innerResult)) {
          // The inner one has no result yet: wait for it.
          this.paused++;
          inner.pushLink(this, CONTINUE);
          break;
        }
        // Already fired: take its result (it is left holding undefined, as in Twisted).
        inner.result = undefined;
        inner.clearUnhandled();
        this.result = innerResult;
      }
    }
    if (this.paused === 0 && (this.debugInfo !== null || isFailure(this.result))) this.trackUnhandled();
    return null;
  }

  /** Remember a Failure left at the end of the chain, to log it if nobody ever handles it. */
  private trackUnhandled(): void {
    const result = this.result;
    if (isFailure(result) && !result._handled) {
      // V8 keeps the frames' receivers (this Deferred among them) alive until an
      // Error's stack is formatted; the registry holds the Failure strongly, so
      // format it now or the Deferred could never be collected (and never logged).
      result.formatStack();
      const extra = this.getExtra();
      let info = extra.debugInfo;
      if (info === null) {
        info = extra.debugInfo = { failure: null, label: extra.label, creator: extra.creator };
        unhandledRegistry.register(this, info, info);
      }
      info.failure = result;
    } else {
      this.clearUnhandled();
    }
  }

  /**
   * @internal Log the Failure this Deferred ends with now, if nothing handled
   * it, rather than when it is garbage-collected (which a short process may
   * never reach). For failures that must not pass silently, such as a port that
   * could not listen. The later report at collection is dropped (it would
   * repeat this one). Returns whether it logged.
   */
  logUnhandledNow(): boolean {
    const result = this.result;
    if (!this.called || this.paused > 0 || this.running !== IDLE || !isFailure(result) || result._handled) return false;
    this.clearUnhandled();
    const extra = this.extra;
    logUnhandled(result, extra?.label, extra?.creator);
    return true;
  }

  private clearUnhandled(): void {
    const info = this.debugInfo;
    if (info !== null) info.failure = null;
  }

  // ---------------------------------------------------------------- Promise interop

  /**
   * A Deferred is a thenable: `await d` gives the result, or rejects with the
   * original error (`failure.value`). Observing does not change the result seen
   * by callbacks added later, but a failure observed here counts as handled.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.asPromise().then(onFulfilled, onRejected);
  }

  /** A Promise for the result (rejected with the original error on failure). */
  asPromise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.addCallbacks(
        (value) => {
          resolve(value);
          return value;
        },
        (failure) => {
          failure._handled = true;
          reject(failure.value);
          return failure;
        },
      );
    });
  }

  /** A Deferred that fires when `promise` settles. Cancelling it does not stop the promise's work. */
  static fromPromise<V>(promise: PromiseLike<V>): Deferred<V> {
    const d = new Deferred<V>();
    promise.then(
      (value) => {
        if (!d.called) d.callback(value);
        else d.suppressAlreadyCalled = false;
      },
      (err: unknown) => {
        if (!d.called) d.errback(err);
        else d.suppressAlreadyCalled = false;
      },
    );
    return d;
  }

  /**
   * Run `start(signal)` and fire with its promise's outcome; `cancel()` aborts
   * `signal` and errbacks with `CancelledError` (the promise's later rejection is ignored).
   */
  static fromAbortable<V>(start: (signal: AbortSignal) => PromiseLike<V>): Deferred<V> {
    const controller = new AbortController();
    const d = new Deferred<V>(() =>
      controller.abort(new CancelledError('Deferred was cancelled; its operation was aborted')),
    );
    let promise: PromiseLike<V>;
    try {
      promise = start(controller.signal);
    } catch (err) {
      d.errback(err);
      return d;
    }
    promise.then(
      (value) => {
        if (!d.called) d.callback(value);
      },
      (err: unknown) => {
        if (!d.called) d.errback(err);
      },
    );
    return d;
  }
}

Object.defineProperty(Deferred.prototype, DEFERRED_BRAND, { value: true });

/** A Deferred already fired with `result`. */
export function succeed<V>(result: V): Deferred<V> {
  const d = new Deferred<V>();
  d.callback(result);
  return d;
}

/** A Deferred already failed with `reason` (wrapped in a Failure unless it is one). */
export function fail<V = never>(reason: unknown): Deferred<V> {
  const d = new Deferred<V>();
  d.errback(reason);
  return d;
}

/**
 * Call `fn(...args)` and return a Deferred for what it gives: its Deferred as
 * is, a Promise converted, a value succeeded, a throw as a failed Deferred.
 */
export function maybeDeferred<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): Deferred<Awaited<R>> {
  let result: unknown;
  try {
    result = fn(...args);
  } catch (err) {
    return fail(err);
  }
  if (isDeferred(result)) return result as Deferred<Awaited<R>>;
  if (isThenable(result)) return Deferred.fromPromise(result) as Deferred<Awaited<R>>;
  return succeed(result as Awaited<R>);
}
