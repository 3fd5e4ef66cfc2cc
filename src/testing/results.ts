/**
 * Synchronous assertions about a Deferred's result (Twisted's
 * `SynchronousTestCase.successResultOf` and friends). A Deferred fires
 * synchronously, so a test driven by a `Clock` or a `StringTransport` can ask
 * "has it fired, and with what?" right now, without awaiting anything.
 *
 * As in Twisted, reading a result consumes it: the Deferred holds `undefined`
 * afterwards, and a failure read this way no longer counts as unhandled.
 * Unlike Twisted, asking a Deferred that has no result yet leaves its later
 * result alone.
 */
import { inspect } from 'node:util';
import { isDeferred, type Deferred } from '../reactor/deferred.js';
import { Failure } from '../reactor/failure.js';
import { DeferredResultError } from './errors.js';

type Held = { fired: false } | { fired: true; result: unknown };

/** Take the current result out of `d`, if it has one. */
function take(d: Deferred<unknown>): Held {
  if (!isDeferred(d))
    throw new DeferredResultError(
      `expected a Deferred, got ${describe(d)}; wrap a Promise with Deferred.fromPromise() and await it instead`,
    );
  let held: Held = { fired: false };
  let now = true;
  d.addBoth((result: unknown) => {
    // Fired later (it had no result when asked): leave the result to the chain.
    if (!now) return result;
    held = { fired: true, result };
    return undefined;
  });
  now = false;
  return held;
}

function describe(value: unknown): string {
  return inspect(value, { depth: 2, breakLength: Infinity });
}

function describeFailure(f: Failure): string {
  const v = f.value;
  if (v instanceof Error) {
    // The class's own name: a subclass that does not set `name` still reads as itself.
    const name = v.constructor?.name || v.name;
    const frames = (v.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
    return [`${name}: ${v.message}`, ...frames].join('\n');
  }
  return describe(v);
}

function typeName(t: Function): string {
  return t.name || '<anonymous class>';
}

/** The success result `d` holds now; throws (naming what it holds instead) if it has none or holds a failure. */
export function successResultOf<T>(d: Deferred<T>): T {
  const held = take(d as Deferred<unknown>);
  if (!held.fired)
    throw new DeferredResultError(
      `successResultOf: expected a success result, found no result instead (the Deferred has not fired, or waits on another Deferred)`,
    );
  if (held.result instanceof Failure) {
    throw new DeferredResultError(
      `successResultOf: expected a success result, found a failure instead: ${describeFailure(held.result)}`,
    );
  }
  return held.result as T;
}

/**
 * The Failure `d` holds now. With `types`, the failure's value must be an
 * instance of one of them. Throws (naming what it holds) otherwise.
 */
export function failureResultOf(d: Deferred<unknown>, ...types: Function[]): Failure {
  const held = take(d);
  const wanted = types.length === 0 ? 'a failure' : `a failure of type ${types.map(typeName).join(' or ')}`;
  if (!held.fired)
    throw new DeferredResultError(
      `failureResultOf: expected ${wanted}, found no result instead (the Deferred has not fired, or waits on another Deferred)`,
    );
  if (!(held.result instanceof Failure)) {
    throw new DeferredResultError(
      `failureResultOf: expected ${wanted}, found a success result instead: ${describe(held.result)}`,
    );
  }
  const failure = held.result;
  if (types.length > 0 && failure.check(...(types as (new (...a: never[]) => unknown)[])) === null) {
    throw new DeferredResultError(
      `failureResultOf: expected ${wanted}, found a failure of another type instead: ${describeFailure(failure)}`,
    );
  }
  return failure;
}

/**
 * Passes when `d` has no result yet. Throws (naming the result) when it has
 * one; a failure found this way is consumed so it is not also logged as unhandled.
 */
export function assertNoResult(d: Deferred<unknown>): void {
  if (!isDeferred(d)) throw new DeferredResultError(`expected a Deferred, got ${describe(d)}`);
  let held: Held = { fired: false };
  d.addBoth((result: unknown) => {
    held = { fired: true, result };
    return result;
  });
  if (!held.fired) return;
  const result = (held as { result: unknown }).result;
  if (result instanceof Failure) {
    d.addErrback(() => undefined);
    throw new DeferredResultError(`assertNoResult: expected no result, found a failure: ${describeFailure(result)}`);
  }
  throw new DeferredResultError(`assertNoResult: expected no result, found a success result: ${describe(result)}`);
}
