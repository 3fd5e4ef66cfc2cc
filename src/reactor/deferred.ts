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
import { Failure } from './failure.js';
import type { IReactorTime } from './interfaces.js';
import { Logger } from './log.js';

export type Canceller<T> = (d: Deferred<T>) => void;

/** A link in the callback list that hands this Deferred's result to the Deferred waiting on it. */
function CONTINUE(): never {
  throw new Error('unreachable: CONTINUE is a marker');
}
/** A link added by `chainDeferred`: fire the target with this result, leave `undefined` here. */
function CHAIN(): never {
  throw new Error('unreachable: CHAIN is a marker');
}
function passthru<V>(v: V): V {
  return v;
}

type Fn = (result: unknown, ...args: unknown[]) => unknown;

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

const unhandledRegistry = new FinalizationRegistry<DebugInfo>((info) => {
  const failure = info.failure;
  if (failure === null || failure._handled) return;
  const where = info.label ? ` (${info.label})` : '';
  const created = info.creator ? `\nDeferred created at:\n${info.creator}` : '';
  unhandledLog.failure(`Unhandled error in Deferred${where}:\n${failure.getTraceback()}${created}`, failure, 'critical', {
    stack: failure.stack,
  });
});

function stackHere(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, stackHere);
  return (holder.stack ?? '').split('\n').slice(2).join('\n');
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
  /** A name for messages and logs, e.g. 'HTTP request body'. */
  label: string | undefined = undefined;

  private readonly canceller: Canceller<T> | undefined;
  /** Flat list of links: [callback, errback, callbackArgs, errbackArgs] per link. */
  private cbs: unknown[] = [];
  private cbIndex = 0;
  private runningCallbacks = false;
  private suppressAlreadyCalled = false;
  /** The Deferred this one waits on (set while paused on an inner Deferred). */
  private chainedTo: Deferred<unknown> | null = null;
  private debugInfo: DebugInfo | null = null;
  private creator: string | undefined = undefined;
  private firstFired: string | undefined = undefined;

  constructor(canceller?: Canceller<T>, label?: string) {
    this.canceller = canceller;
    if (label !== undefined) this.label = label;
    if (Deferred.debug) this.creator = stackHere();
  }

  // ---------------------------------------------------------------- firing

  /** Fire with a value. Throws `AlreadyCalledError` if fired before; `TypeError` for a Deferred. */
  callback(result: T): void {
    if (result instanceof Deferred) {
      throw new TypeError('Deferred.callback(d) was given a Deferred; return it from a callback, or use d.chainDeferred(this)');
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
    if (Deferred.debug) this.firstFired = stackHere();
    this.called = true;
    this.result = result;
    this.runCallbacks();
  }

  private alreadyCalledMessage(): string {
    const name = this.label ? `Deferred "${this.label}"` : 'Deferred';
    const how = this.result instanceof Failure ? `with a failure (${this.result.getErrorMessage()})` : 'with a result';
    let msg = `${name} was already fired ${how}; a Deferred fires once. Fix: check d.called before firing, or create a new Deferred for the new result.`;
    if (this.creator !== undefined) msg += `\nCreated at:\n${this.creator}`;
    if (this.firstFired !== undefined) msg += `\nFirst fired at:\n${this.firstFired}`;
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
    this.cbs.push(cb, eb, callbackArgs && callbackArgs.length ? callbackArgs : null, errbackArgs && errbackArgs.length ? errbackArgs : null);
    if (this.called) this.runCallbacks();
    return this as unknown as Deferred<Awaited<R1> | Awaited<R2>>;
  }

  /** Add `fn(result, ...args)` to run on success; failures pass by it. */
  addCallback<R, A extends unknown[]>(fn: (result: T, ...args: A) => R, ...args: A): Deferred<Awaited<R>> {
    if (typeof fn !== 'function') throw new TypeError(`addCallback: expected a function, got ${typeof fn}`);
    return this.addCallbacks(fn, passthru as (f: Failure) => never, args, null);
  }

  /** Add `fn(failure, ...args)` to run on failure; its return value recovers the chain. */
  addErrback<R, A extends unknown[]>(fn: (failure: Failure, ...args: A) => R, ...args: A): Deferred<T | Awaited<R>> {
    if (typeof fn !== 'function') throw new TypeError(`addErrback: expected a function, got ${typeof fn}`);
    return this.addCallbacks(passthru as (r: T) => T, fn, null, args) as unknown as Deferred<T | Awaited<R>>;
  }

  /** Add `fn(resultOrFailure, ...args)` to run either way. */
  addBoth<R, A extends unknown[]>(fn: (result: T | Failure, ...args: A) => R, ...args: A): Deferred<Awaited<R>> {
    if (typeof fn !== 'function') throw new TypeError(`addBoth: expected a function, got ${typeof fn}`);
    const both = fn as unknown as (r: unknown) => R;
    return this.addCallbacks(both, both, args, args) as Deferred<Awaited<R>>;
  }

  /**
   * When this Deferred fires, fire `d` with the same result (or failure). This
   * Deferred's result becomes `undefined`, as in Twisted (`d.callback` returns nothing).
   */
  chainDeferred(d: Deferred<T>): Deferred<undefined> {
    d.chainedTo = this as Deferred<unknown>;
    this.cbs.push(CHAIN, CHAIN, d, d);
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
      if (!this.called) this.errback(new CancelledError(`${this.label ? `Deferred "${this.label}"` : 'Deferred'} was cancelled`));
    } else if (this.result instanceof Deferred) {
      this.result.cancel();
    }
  }

  /**
   * Cancel this Deferred if it has not fired after `seconds` on `clock`, turning
   * the `CancelledError` into a `TimeoutError` (or into what
   * `onTimeoutCancel(result, seconds)` returns). Schedules exactly one delayed
   * call, cancelled if the Deferred fires first.
   */
  addTimeout(seconds: number, clock: IReactorTime, onTimeoutCancel?: (result: T | Failure, timeout: number) => unknown): Deferred<T> {
    let timedOut = false;
    const call = clock.callLater(seconds, () => {
      timedOut = true;
      this.cancel();
    });
    this.addBoth((result) => {
      if (!timedOut) return result;
      if (onTimeoutCancel) return onTimeoutCancel(result, seconds);
      if (result instanceof Failure) {
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
   * Twisted's `_runCallbacks`. `chain` holds the Deferreds being worked on: when
   * a Deferred's result moves to the Deferred waiting on it (CONTINUE) or to a
   * chained one (CHAIN), that one is pushed and processed before this one goes on.
   */
  private runCallbacks(): void {
    if (this.runningCallbacks) return; // a callback added callbacks or fired a chained Deferred: the loop below picks it up
    const chain: Deferred<unknown>[] = [this as Deferred<unknown>];
    while (chain.length > 0) {
      const current = chain[chain.length - 1]!;
      if (current.paused > 0 || current.runningCallbacks) {
        chain.pop();
        continue;
      }
      current.chainedTo = null;
      let finished = true;
      const cbs = current.cbs;
      while (current.cbIndex < cbs.length) {
        const i = current.cbIndex;
        current.cbIndex = i + 4;
        const isFailure = current.result instanceof Failure;
        const fn = cbs[isFailure ? i + 1 : i] as Fn;
        const args = cbs[isFailure ? i + 3 : i + 2] as unknown[] | null;
        if (fn === CONTINUE || fn === CHAIN) {
          const target = args as unknown as Deferred<unknown>;
          cbs[i] = cbs[i + 1] = cbs[i + 2] = null;
          if (fn === CONTINUE) {
            target.result = current.result;
            current.result = undefined;
            target.paused--;
          } else if (target.called) {
            // What `target.callback(result)` would do: eat it after a canceller-less cancel, else fail here.
            if (target.suppressAlreadyCalled) {
              target.suppressAlreadyCalled = false;
              current.result = undefined;
            } else {
              current.result = new Failure(new AlreadyCalledError(target.alreadyCalledMessage()));
            }
            continue;
          } else {
            target.called = true;
            target.result = current.result;
            current.result = undefined;
          }
          chain.push(target);
          finished = false;
          break;
        }
        cbs[i] = cbs[i + 1] = cbs[i + 2] = cbs[i + 3] = null; // let closures go as soon as they ran
        let next: unknown;
        current.runningCallbacks = true;
        try {
          next = args === null ? fn(current.result) : fn(current.result, ...args);
        } catch (err) {
          next = new Failure(err);
        } finally {
          current.runningCallbacks = false;
        }
        if (next === current) {
          next = new Failure(new SpindleError('ERR_DEFERRED_SELF', `a callback of ${current.label ? `Deferred "${current.label}"` : 'a Deferred'} returned that same Deferred; return a value or another Deferred`));
        } else if (!(next instanceof Deferred) && isThenable(next)) {
          next = Deferred.fromPromise(next);
        }
        current.result = next;
        if (next instanceof Deferred) {
          const inner = next as Deferred<unknown>;
          const innerResult = inner.result;
          if (!inner.called || inner.paused > 0 || innerResult instanceof Deferred || inner.runningCallbacks) {
            // The inner one has no result yet: wait for it.
            current.paused++;
            current.chainedTo = inner;
            inner.cbs.push(CONTINUE, CONTINUE, current, current);
            break;
          } else {
            // Already fired: take its result (it is left holding undefined, as in Twisted).
            inner.result = undefined;
            inner.clearUnhandled();
            current.result = innerResult;
          }
        }
      }
      if (finished) {
        if (current.paused === 0) current.trackUnhandled();
        chain.pop();
      }
      if (current.cbIndex >= cbs.length && current.cbIndex > 0) {
        cbs.length = 0;
        current.cbIndex = 0;
      }
    }
  }

  /** Remember a Failure left at the end of the chain, to log it if nobody ever handles it. */
  private trackUnhandled(): void {
    const result = this.result;
    if (result instanceof Failure && !result._handled) {
      // V8 keeps the frames' receivers (this Deferred among them) alive until an
      // Error's stack is formatted; the registry holds the Failure strongly, so
      // format it now or the Deferred could never be collected (and never logged).
      result.formatStack();
      let info = this.debugInfo;
      if (info === null) {
        info = this.debugInfo = { failure: null, label: this.label, creator: this.creator };
        unhandledRegistry.register(this, info, info);
      }
      info.failure = result;
    } else if (this.debugInfo !== null) {
      this.debugInfo.failure = null;
    }
  }

  private clearUnhandled(): void {
    if (this.debugInfo !== null) this.debugInfo.failure = null;
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
    const d = new Deferred<V>(() => controller.abort(new CancelledError('Deferred was cancelled; its operation was aborted')));
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
  if (result instanceof Deferred) return result as Deferred<Awaited<R>>;
  if (isThenable(result)) return Deferred.fromPromise(result) as Deferred<Awaited<R>>;
  return succeed(result as Awaited<R>);
}
