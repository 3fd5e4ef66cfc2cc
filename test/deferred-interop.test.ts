import { describe, expect, it } from 'vitest';
import { Deferred, fail, succeed } from '../src/reactor/deferred.js';
import { CancelledError } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';

describe('Deferred as a thenable', () => {
  it('await gives the result', async () => {
    const d = new Deferred<number>();
    queueMicrotask(() => d.callback(42));
    expect(await d).toBe(42);
  });

  it('await rejects with the original error, not the Failure', async () => {
    const err = new TypeError('original');
    await expect(fail(err)).rejects.toBe(err);
  });

  it('then() observes without changing the result seen by later callbacks', async () => {
    const d = new Deferred<number>();
    const observed = d.then((v) => v * 2);
    d.callback(5);
    expect(await observed).toBe(10);
    let later: unknown;
    d.addCallback((v) => {
      later = v;
    });
    expect(later).toBe(5);
  });

  it('then() observing a failure leaves it for later errbacks too', async () => {
    const err = new Error('kept');
    const d = fail(err);
    await expect(d.then(() => 'no')).rejects.toBe(err);
    let seen: unknown;
    d.addErrback((f) => {
      seen = f.value;
    });
    expect(seen).toBe(err);
  });

  it('asPromise() settles like await', async () => {
    expect(await succeed('x').asPromise()).toBe('x');
    const err = new Error('y');
    await expect(fail(err).asPromise()).rejects.toBe(err);
  });

  it('Promise.all / Promise.resolve adopt a Deferred', async () => {
    expect(await Promise.all([succeed(1), succeed(2)])).toEqual([1, 2]);
    expect(await Promise.resolve(succeed('z'))).toBe('z');
  });
});

describe('Deferred.fromPromise', () => {
  it('fires with the resolved value or errbacks with the rejection', async () => {
    const ok = Deferred.fromPromise(Promise.resolve(3));
    expect(await ok).toBe(3);
    const err = new Error('rejected');
    const bad = Deferred.fromPromise(Promise.reject(err));
    let seen: unknown;
    bad.addErrback((f) => {
      seen = f.value;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toBe(err);
  });

  it('cancel errbacks CancelledError and the later resolution is ignored', async () => {
    let resolve!: (v: number) => void;
    const d = Deferred.fromPromise(new Promise<number>((r) => (resolve = r)));
    d.cancel();
    let failure: Failure | undefined;
    d.addErrback((f) => {
      failure = f;
    });
    expect(failure?.check(CancelledError)).toBe(CancelledError);
    resolve(1);
    await new Promise((r) => setImmediate(r));
    expect(d.result).toBeUndefined();
  });
});

describe('Deferred.fromAbortable', () => {
  it('fires with the operation result', async () => {
    const d = Deferred.fromAbortable(async (signal) => (signal.aborted ? 'aborted' : 'done'));
    expect(await d).toBe('done');
  });

  it('cancel aborts the signal and errbacks CancelledError; the rejection that follows is ignored', async () => {
    let seenSignal: AbortSignal | undefined;
    const d = Deferred.fromAbortable(
      (signal) =>
        new Promise<string>((_resolve, reject) => {
          seenSignal = signal;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    d.cancel();
    expect(seenSignal!.aborted).toBe(true);
    expect(seenSignal!.reason).toBeInstanceOf(CancelledError);
    await expect(d).rejects.toBeInstanceOf(CancelledError);
  });

  it('a synchronous throw from the starter errbacks', async () => {
    const err = new Error('sync');
    const d = Deferred.fromAbortable(() => {
      throw err;
    });
    await expect(d).rejects.toBe(err);
  });
});
