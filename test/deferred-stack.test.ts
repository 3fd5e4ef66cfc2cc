/**
 * Stack safety: each case builds 100 000 links, which would overflow the stack
 * if any part recursed per link.
 */
import { describe, expect, it } from 'vitest';
import { Deferred, succeed } from '../src/reactor/deferred.js';
import { DeferredLock, DeferredSemaphore } from '../src/reactor/sync.js';
import { inlineCallbacks } from '../src/reactor/generators.js';
import { gatherResults } from '../src/reactor/deferredlist.js';

const N = 100_000;

function makeNested(): Deferred<number>[] {
  const ds: Deferred<number>[] = [];
  for (let i = 0; i < N; i++) ds.push(new Deferred<number>());
  for (let i = 0; i < N - 1; i++) {
    const next = ds[i + 1]!;
    ds[i]!.addCallback(() => next);
  }
  return ds;
}

describe('stack safety', () => {
  it('100 000 Deferreds each waiting on the next, fired outermost first', () => {
    const ds = makeNested();
    for (let i = 0; i < N; i++) ds[i]!.callback(i);
    expect(ds[0]!.result).toBe(N - 1);
  });

  it('100 000 Deferreds each waiting on the next, fired innermost first', () => {
    const ds = makeNested();
    for (let i = N - 1; i >= 0; i--) ds[i]!.callback(i);
    expect(ds[0]!.result).toBe(N - 1);
  });

  it('a failure travels out through 100 000 nested Deferreds', () => {
    const ds = makeNested();
    for (let i = 0; i < N - 1; i++) ds[i]!.callback(i);
    ds[N - 1]!.errback(new Error('deep'));
    let message = '';
    ds[0]!.addErrback((f) => {
      message = f.getErrorMessage();
    });
    expect(message).toBe('deep');
  });

  it('one Deferred with 100 000 callbacks each returning an already-fired Deferred', () => {
    const d = new Deferred<number>();
    for (let i = 0; i < N; i++) d.addCallback((x) => succeed(x + 1));
    d.callback(0);
    expect(d.result).toBe(N);
  });

  it('a chainDeferred cascade of 100 000', () => {
    const ds: Deferred<string>[] = [];
    for (let i = 0; i < N; i++) ds.push(new Deferred<string>());
    for (let i = 0; i < N - 1; i++) ds[i]!.chainDeferred(ds[i + 1]!);
    let got: string | undefined;
    ds[N - 1]!.addCallback((v) => {
      got = v;
    });
    ds[0]!.callback('end');
    expect(got).toBe('end');
  });

  it('a DeferredLock release cascade of 100 000 waiters', () => {
    const lock = new DeferredLock();
    let ran = 0;
    const first = lock.acquire();
    expect(first.called).toBe(true);
    for (let i = 0; i < N; i++) lock.run(() => ran++);
    lock.release();
    expect(ran).toBe(N);
    expect(lock.locked).toBe(false);
  });

  it('a DeferredSemaphore release cascade of 100 000 waiters', () => {
    const sem = new DeferredSemaphore(2);
    sem.acquire();
    sem.acquire();
    let ran = 0;
    for (let i = 0; i < N; i++) {
      sem.acquire().addCallback((s) => {
        ran++;
        s.release();
      });
    }
    sem.release();
    expect(ran).toBe(N);
    expect(sem.tokens).toBe(1);
  });

  it('inlineCallbacks over 100 000 already-fired yields', () => {
    const run = inlineCallbacks(function* () {
      let total = 0;
      for (let i = 0; i < N; i++) total += (yield succeed(1)) as number;
      return total;
    });
    expect(run().result).toBe(N);
  });

  it('gatherResults over 100 000 Deferreds', () => {
    const ds: Deferred<number>[] = [];
    for (let i = 0; i < N; i++) ds.push(new Deferred<number>());
    const all = gatherResults(ds);
    for (let i = 0; i < N; i++) ds[i]!.callback(i);
    expect((all.result as number[])[N - 1]).toBe(N - 1);
  });
});
