/**
 * spindle/testing's Deferred assertions: the result comes back when there is
 * one, and every failure message names what the Deferred holds instead.
 */
import { describe, expect, it } from 'vitest';
import { Deferred, fail, succeed, CancelledError, TimeoutError } from '../src/index.js';
import { assertNoResult, DeferredResultError, failureResultOf, successResultOf } from '../src/testing/index.js';

class NotFound extends Error {}

function thrown(fn: () => unknown): DeferredResultError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DeferredResultError);
    expect((err as DeferredResultError).code).toBe('ERR_TESTING_DEFERRED_RESULT');
    return err as DeferredResultError;
  }
  throw new Error('expected a throw');
}

describe('successResultOf', () => {
  it('returns the result of a fired Deferred, now', () => {
    expect(successResultOf(succeed(42))).toBe(42);
    const d = new Deferred<string>();
    d.addCallback((s) => s.toUpperCase());
    d.callback('ok');
    expect(successResultOf(d)).toBe('OK');
  });

  it('says "found no result" for a Deferred that has not fired', () => {
    expect(thrown(() => successResultOf(new Deferred())).message).toMatch(
      /^successResultOf: expected a success result, found no result instead/,
    );
  });

  it('says "found no result" for a Deferred paused on an inner one', () => {
    const inner = new Deferred<number>();
    const d = succeed(1).addCallback(() => inner);
    expect(thrown(() => successResultOf(d)).message).toMatch(/found no result/);
    inner.callback(7);
    expect(successResultOf(d)).toBe(7);
  });

  it('names the failure (class, message, stack) it found instead, and consumes it', () => {
    const err = thrown(() => successResultOf(fail(new NotFound('no user 7'))));
    expect(err.message).toMatch(
      /^successResultOf: expected a success result, found a failure instead: NotFound: no user 7\n/,
    );
    expect(err.message).toContain('testing-results.test.ts');
  });

  it('refuses a Promise with a hint', () => {
    expect(thrown(() => successResultOf(Promise.resolve(1) as never)).message).toMatch(
      /expected a Deferred, got Promise .*Deferred\.fromPromise/,
    );
  });
});

describe('failureResultOf', () => {
  it('returns the Failure, checked against the types given (subclasses count)', () => {
    const f = failureResultOf(fail(new NotFound('x')), TimeoutError, Error);
    expect(f.value).toBeInstanceOf(NotFound);
    expect(failureResultOf(fail(new CancelledError())).value).toBeInstanceOf(CancelledError);
  });

  it('names the expected types and the failure found', () => {
    const err = thrown(() => failureResultOf(fail(new NotFound('gone')), TimeoutError, CancelledError));
    expect(err.message).toMatch(
      /^failureResultOf: expected a failure of type TimeoutError or CancelledError, found a failure of another type instead: NotFound: gone/,
    );
  });

  it('names the success result found instead', () => {
    expect(thrown(() => failureResultOf(succeed({ id: 7, name: 'ada' }), NotFound)).message).toBe(
      "failureResultOf: expected a failure of type NotFound, found a success result instead: { id: 7, name: 'ada' }",
    );
  });

  it('says "found no result" when nothing fired', () => {
    expect(thrown(() => failureResultOf(new Deferred())).message).toMatch(
      /^failureResultOf: expected a failure, found no result instead/,
    );
  });
});

describe('assertNoResult', () => {
  it('passes for a pending Deferred and leaves it usable', () => {
    const d = new Deferred<number>();
    assertNoResult(d);
    d.callback(3);
    expect(successResultOf(d)).toBe(3);
  });

  it('names the success result found', () => {
    expect(thrown(() => assertNoResult(succeed('early'))).message).toBe(
      "assertNoResult: expected no result, found a success result: 'early'",
    );
  });

  it('names a failure found, and consumes it so it is not logged as unhandled too', () => {
    const d = fail(new TimeoutError());
    expect(thrown(() => assertNoResult(d)).message).toMatch(
      /^assertNoResult: expected no result, found a failure: TimeoutError: /,
    );
    expect(successResultOf(d)).toBeUndefined();
  });
});
