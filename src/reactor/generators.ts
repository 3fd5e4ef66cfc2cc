/**
 * `inlineCallbacks` and `ensureDeferred`: write Deferred code as a generator
 * (Twisted's `@inlineCallbacks`). `const x = yield d` waits for `d`; when `d`
 * fails, its original error is thrown at the `yield`. Yielding a Promise or a
 * plain value works too (a plain value comes straight back).
 *
 * The driver is a loop: Deferreds that have already fired are consumed without
 * recursion, so a generator may yield a million fired Deferreds. Cancelling the
 * returned Deferred cancels the Deferred the generator is waiting on (its
 * `CancelledError` is thrown into the generator, which may handle it).
 */
import { Deferred } from './deferred.js';
import { Failure } from './failure.js';

/** What a generator for `inlineCallbacks` looks like; `yield` gives `any` (the awaited value). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InlineGenerator<R> = Generator<unknown, R, any>;

const NOTHING: unique symbol = Symbol('nothing');

/** Drive `gen` to its end; the returned Deferred fires with its return value or thrown error. */
function drive<R>(gen: InlineGenerator<R>): Deferred<R> {
  let waitingOn: Deferred<unknown> | null = null;
  const result = new Deferred<R>(() => {
    const inner = waitingOn;
    if (inner !== null) inner.cancel();
  });

  const step = (sendValue: unknown, isFailure: boolean): void => {
    for (;;) {
      let next: IteratorResult<unknown, R>;
      try {
        next = isFailure ? gen.throw(sendValue) : gen.next(sendValue);
      } catch (err) {
        if (!result.called) result.errback(err);
        return;
      }
      if (next.done) {
        if (!result.called) result.callback(next.value);
        return;
      }
      let yielded = next.value;
      if (!(yielded instanceof Deferred)) {
        if (isPromiseLike(yielded)) {
          yielded = Deferred.fromPromise(yielded);
        } else {
          sendValue = yielded;
          isFailure = false;
          continue;
        }
      }
      // Learn whether it fired already (then loop) or later (then resume from its callback).
      let settled: unknown = NOTHING;
      let inLoop = true;
      const inner = yielded as Deferred<unknown>;
      waitingOn = inner;
      inner.addBoth((r) => {
        if (inLoop) settled = r;
        else {
          waitingOn = null;
          step(r instanceof Failure ? r.value : r, r instanceof Failure);
        }
        return null; // the generator took the result (and any failure) over
      });
      inLoop = false;
      if (settled === NOTHING) return;
      waitingOn = null;
      isFailure = settled instanceof Failure;
      sendValue = isFailure ? (settled as Failure).value : settled;
    }
  };

  step(undefined, false);
  return result;
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

function isGenerator(v: unknown): v is InlineGenerator<unknown> {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { next?: unknown }).next === 'function' &&
    typeof (v as { throw?: unknown }).throw === 'function'
  );
}

/**
 * Wrap a generator function: calling the wrapper starts the generator and
 * returns a Deferred for what it returns.
 */
export function inlineCallbacks<A extends unknown[], R>(
  genFn: (...args: A) => InlineGenerator<R>,
): (...args: A) => Deferred<R> {
  if (typeof genFn !== 'function')
    throw new TypeError(`inlineCallbacks: expected a generator function, got ${typeof genFn}`);
  return function (this: unknown, ...args: A): Deferred<R> {
    let gen: InlineGenerator<R>;
    try {
      gen = genFn.apply(this, args);
    } catch (err) {
      const d = new Deferred<R>();
      d.errback(err);
      return d;
    }
    if (!isGenerator(gen)) {
      throw new TypeError(
        `inlineCallbacks: ${genFn.name || 'the function'} did not return a generator; declare it with function*`,
      );
    }
    return drive(gen);
  };
}

/** A Deferred for a Deferred (itself), a Promise/thenable, or a generator (driven as by inlineCallbacks). */
export function ensureDeferred<R>(value: Deferred<R> | PromiseLike<R> | InlineGenerator<R>): Deferred<R> {
  if (value instanceof Deferred) return value;
  if (isPromiseLike(value)) return Deferred.fromPromise(value);
  if (isGenerator(value)) return drive(value);
  throw new TypeError(
    `ensureDeferred: expected a Deferred, a Promise or a generator, got ${value === null ? 'null' : typeof value}`,
  );
}
