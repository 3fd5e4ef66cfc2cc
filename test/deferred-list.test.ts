import { describe, expect, it } from 'vitest';
import { Deferred, succeed } from '../src/reactor/deferred.js';
import { DeferredList, gatherResults } from '../src/reactor/deferredlist.js';
import { CancelledError, FirstError } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';

function failureOf(d: Deferred<unknown>): unknown {
  let error: unknown;
  d.addErrback((f) => {
    error = f.value;
  });
  return error;
}

describe('DeferredList', () => {
  it('fires with [success, value|Failure] per member, in member order', () => {
    const a = new Deferred<number>();
    const b = new Deferred<number>();
    const list = new DeferredList([a, b], { consumeErrors: true });
    b.errback(new Error('b failed'));
    expect(list.called).toBe(false);
    a.callback(1);
    const result = list.result as Array<[boolean, unknown]>;
    expect(result[0]).toEqual([true, 1]);
    expect(result[1]![0]).toBe(false);
    expect((result[1]![1] as Failure).getErrorMessage()).toBe('b failed');
  });

  it('an empty list fires at once with []', () => {
    expect(new DeferredList([]).result).toEqual([]);
  });

  it('consumeErrors leaves the failed member holding null; without it the member keeps its failure', () => {
    const consumed = new Deferred<number>();
    new DeferredList([consumed], { consumeErrors: true });
    consumed.errback(new Error('x'));
    expect(consumed.result).toBeNull();

    const kept = new Deferred<number>();
    new DeferredList([kept]);
    kept.errback(new Error('y'));
    expect(kept.result).toBeInstanceOf(Failure);
    failureOf(kept);
  });

  it('fireOnOneCallback fires with [value, index] at the first success', () => {
    const a = new Deferred<string>();
    const b = new Deferred<string>();
    const list = new DeferredList([a, b], { fireOnOneCallback: true });
    b.callback('bee');
    expect(list.result).toEqual(['bee', 1]);
    a.callback('late');
    expect(list.result).toEqual(['bee', 1]);
  });

  it('fireOnOneErrback errbacks with FirstError (.subFailure, .index)', () => {
    const a = new Deferred<number>();
    const b = new Deferred<number>();
    const list = new DeferredList([a, b], { fireOnOneErrback: true, consumeErrors: true });
    const err = new Error('second');
    b.errback(err);
    const first = failureOf(list) as FirstError;
    expect(first).toBeInstanceOf(FirstError);
    expect(first.index).toBe(1);
    expect(first.subFailure.value).toBe(err);
    a.callback(1);
  });

  it('cancel before firing cancels every member; after firing does nothing', () => {
    let cancels = 0;
    const a = new Deferred<number>(() => cancels++);
    const b = new Deferred<number>(() => cancels++);
    const list = new DeferredList([a, b], { consumeErrors: true });
    list.cancel();
    expect(cancels).toBe(2);
    const result = list.result as Array<[boolean, Failure]>;
    expect(result.map(([ok, f]) => [ok, f.check(CancelledError)])).toEqual([
      [false, CancelledError],
      [false, CancelledError],
    ]);
    list.cancel();
    expect(cancels).toBe(2);
  });

  it('rejects a member that is not a Deferred', () => {
    expect(() => new DeferredList([Promise.resolve(1) as unknown as Deferred<number>])).toThrow(TypeError);
  });
});

describe('gatherResults', () => {
  it('fires with the values in order', () => {
    const a = new Deferred<number>();
    const all = gatherResults([a, succeed(2)]);
    a.callback(1);
    expect(all.result).toEqual([1, 2]);
  });

  it('errbacks FirstError at the first failure', () => {
    const a = new Deferred<number>();
    const all = gatherResults([a, new Deferred<number>()], true);
    a.errback(new RangeError('r'));
    const first = failureOf(all) as FirstError;
    expect(first).toBeInstanceOf(FirstError);
    expect(first.index).toBe(0);
    expect(first.subFailure.check(RangeError)).toBe(RangeError);
    expect(a.result).toBeNull();
  });

  it('await of gatherResults rejects with the FirstError', async () => {
    await expect(
      gatherResults([succeed(1), new Deferred<number>(), Deferred.fromPromise(Promise.reject(new Error('p')))], true),
    ).rejects.toBeInstanceOf(FirstError);
  });
});
