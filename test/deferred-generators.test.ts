import { describe, expect, it } from 'vitest';
import { Deferred, fail, succeed } from '../src/reactor/deferred.js';
import { CancelledError } from '../src/reactor/errors.js';
import { ensureDeferred, inlineCallbacks } from '../src/reactor/generators.js';

describe('inlineCallbacks', () => {
  it('returns a function returning a Deferred for the generator return value', () => {
    const add = inlineCallbacks(function* (a: number, b: number) {
      const x = (yield succeed(a)) as number;
      const y = (yield b) as number;
      return x + y;
    });
    const d = add(2, 3);
    expect(d).toBeInstanceOf(Deferred);
    expect(d.result).toBe(5);
  });

  it('waits for an unfired Deferred and resumes when it fires', () => {
    const gate = new Deferred<string>();
    const seen: string[] = [];
    const d = inlineCallbacks(function* () {
      seen.push('before');
      const v = (yield gate) as string;
      seen.push(v);
      return v.toUpperCase();
    })();
    expect(seen).toEqual(['before']);
    gate.callback('after');
    expect(seen).toEqual(['before', 'after']);
    expect(d.result).toBe('AFTER');
  });

  it('throws the original error of a failed yielded Deferred into the generator', () => {
    const err = new RangeError('inner');
    let caught: unknown;
    const d = inlineCallbacks(function* () {
      try {
        yield fail(err);
      } catch (e) {
        caught = e;
      }
      return 'handled';
    })();
    expect(caught).toBe(err);
    expect(d.result).toBe('handled');
  });

  it('a throw from the generator errbacks the Deferred', async () => {
    const err = new Error('out');
    const d = inlineCallbacks(function* () {
      yield 1;
      throw err;
    })();
    await expect(d).rejects.toBe(err);
  });

  it('yielding a Promise works', async () => {
    const d = inlineCallbacks(function* () {
      const v = (yield Promise.resolve(10)) as number;
      return v + 1;
    })();
    expect(await d).toBe(11);
  });

  it('cancelling the returned Deferred cancels the Deferred it waits on', () => {
    let innerCancelled = 0;
    const inner = new Deferred<number>(() => innerCancelled++);
    let sawCancel = false;
    const d = inlineCallbacks(function* () {
      try {
        yield inner;
      } catch (e) {
        sawCancel = e instanceof CancelledError;
        throw e;
      }
    })();
    d.cancel();
    expect(innerCancelled).toBe(1);
    expect(sawCancel).toBe(true);
    let err: unknown;
    d.addErrback((f) => {
      err = f.value;
    });
    expect(err).toBeInstanceOf(CancelledError);
  });

  it('a generator that handles the cancellation can return a value', () => {
    const d = inlineCallbacks(function* () {
      try {
        yield new Deferred<number>();
      } catch {
        return 'cleaned up';
      }
      return 'not reached';
    })();
    d.cancel();
    expect(d.result).toBe('cleaned up');
  });

  it('rejects a non-generator function at call time', () => {
    const wrapped = inlineCallbacks((() => 5) as unknown as () => Generator<unknown, number>);
    expect(() => wrapped()).toThrow(TypeError);
  });
});

describe('ensureDeferred', () => {
  it('passes a Deferred through, converts a Promise, drives a generator', async () => {
    const d = succeed(1);
    expect(ensureDeferred(d)).toBe(d);
    expect(await ensureDeferred(Promise.resolve('p'))).toBe('p');
    const gen = (function* () {
      return ((yield succeed(4)) as number) * 2;
    })();
    expect(ensureDeferred(gen).result).toBe(8);
  });

  it('rejects anything else with TypeError', () => {
    expect(() => ensureDeferred(5 as unknown as Promise<number>)).toThrow(TypeError);
  });
});
