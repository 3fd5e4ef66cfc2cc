import { describe, expect, it } from 'vitest';
import { Deferred, fail } from '../src/reactor/deferred.js';
import { CancelledError, NotAcquiredError, QueueOverflow } from '../src/reactor/errors.js';
import {
  DEFERRED_QUEUE_DEFAULT_BACKLOG,
  DEFERRED_QUEUE_DEFAULT_SIZE,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
} from '../src/reactor/sync.js';

describe('DeferredLock', () => {
  it('serves waiters in order, one at a time', () => {
    const lock = new DeferredLock();
    const order: string[] = [];
    lock.acquire().addCallback(() => order.push('first'));
    lock.acquire().addCallback(() => order.push('second'));
    lock.acquire().addCallback(() => order.push('third'));
    expect(order).toEqual(['first']);
    expect(lock.locked).toBe(true);
    lock.release();
    expect(order).toEqual(['first', 'second']);
    lock.release();
    lock.release();
    expect(order).toEqual(['first', 'second', 'third']);
    expect(lock.locked).toBe(false);
  });

  it('release of an unheld lock throws NotAcquiredError', () => {
    const lock = new DeferredLock();
    expect(() => lock.release()).toThrow(NotAcquiredError);
  });

  it('cancelling a waiting acquire withdraws it', () => {
    const lock = new DeferredLock();
    lock.acquire();
    const waiting = lock.acquire();
    const next = lock.acquire();
    waiting.cancel();
    waiting.addErrback(() => null);
    expect(lock.waitingCount).toBe(1);
    expect(lock.waiting).toEqual([next]);
    lock.release();
    expect(next.called).toBe(true);
  });

  it('run releases after the function, also when it throws or its Deferred fails', async () => {
    const lock = new DeferredLock();
    const results: unknown[] = [];
    lock.run((a: number, b: number) => a + b, 1, 2).addCallback((v) => results.push(v));
    expect(lock.locked).toBe(false);
    lock
      .run(() => {
        throw new Error('thrown');
      })
      .addErrback((f) => results.push(f.getErrorMessage()));
    expect(lock.locked).toBe(false);
    lock.run(() => fail(new Error('failed'))).addErrback((f) => results.push(f.getErrorMessage()));
    expect(lock.locked).toBe(false);
    const later = new Deferred<string>();
    const done = lock.run(() => later);
    expect(lock.locked).toBe(true);
    later.callback('async');
    expect(await done).toBe('async');
    expect(lock.locked).toBe(false);
    expect(results).toEqual([3, 'thrown', 'failed']);
  });
  it('cancelling a run() that waits for the lock withdraws it: fn never runs and the lock stays balanced', () => {
    const lock = new DeferredLock();
    const gate = new Deferred<void>();
    lock.run(() => gate);
    let ran = false;
    const waiting = lock.run(() => {
      ran = true;
    });
    waiting.cancel();
    let cancelled = false;
    waiting.addErrback((f) => {
      cancelled = f.check(CancelledError) !== null;
    });
    gate.callback();
    expect(cancelled).toBe(true);
    expect(ran).toBe(false);
    expect(lock.locked).toBe(false);
  });
});

describe('DeferredSemaphore', () => {
  it('lets up to `tokens` holders in', () => {
    const sem = new DeferredSemaphore(2);
    const a = sem.acquire();
    const b = sem.acquire();
    const c = sem.acquire();
    expect([a.called, b.called, c.called]).toEqual([true, true, false]);
    expect(sem.tokens).toBe(0);
    sem.release();
    expect(c.called).toBe(true);
    sem.release();
    sem.release();
    expect(sem.tokens).toBe(2);
    expect(() => sem.release()).toThrow(NotAcquiredError);
  });

  it('rejects a bad token count', () => {
    expect(() => new DeferredSemaphore(0)).toThrow(RangeError);
    expect(() => new DeferredSemaphore(1.5)).toThrow(RangeError);
  });

  it('run limits concurrency', () => {
    const sem = new DeferredSemaphore(2);
    const gates = [new Deferred<void>(), new Deferred<void>(), new Deferred<void>()];
    let running = 0;
    let peak = 0;
    for (const gate of gates) {
      sem.run(() => {
        running++;
        peak = Math.max(peak, running);
        return gate.addCallback(() => {
          running--;
        });
      });
    }
    expect(running).toBe(2);
    gates[0]!.callback();
    expect(running).toBe(2);
    gates[1]!.callback();
    gates[2]!.callback();
    expect(running).toBe(0);
    expect(peak).toBe(2);
  });
});

describe('DeferredQueue', () => {
  it('hands items to gets in order, whichever comes first', () => {
    const q = new DeferredQueue<string>();
    q.put('a');
    const got: string[] = [];
    q.get().addCallback((v) => got.push(v));
    q.get().addCallback((v) => got.push(v));
    expect(got).toEqual(['a']);
    q.put('b');
    expect(got).toEqual(['a', 'b']);
  });

  it('put past size throws QueueOverflow synchronously; a stalled reader cannot grow it', () => {
    const q = new DeferredQueue<number>(3);
    q.put(1);
    q.put(2);
    q.put(3);
    expect(() => q.put(4)).toThrow(QueueOverflow);
    expect(q.pendingCount).toBe(3);
    expect(q.pending).toEqual([1, 2, 3]);
  });

  it('get past backlog throws QueueOverflow synchronously', () => {
    const q = new DeferredQueue<number>(10, 2);
    q.get();
    q.get();
    expect(() => q.get()).toThrow(QueueOverflow);
    expect(q.waitingCount).toBe(2);
  });

  it('cancelling a pending get removes it', () => {
    const q = new DeferredQueue<number>();
    const first = q.get();
    const second = q.get();
    first.cancel();
    first.addErrback(() => null);
    expect(q.waitingCount).toBe(1);
    expect(q.waiting).toEqual([second]);
    q.put(7);
    expect(second.result).toBe(7);
  });

  it('has bounded defaults', () => {
    const q = new DeferredQueue<number>();
    expect(q.size).toBe(DEFERRED_QUEUE_DEFAULT_SIZE);
    expect(q.backlog).toBe(DEFERRED_QUEUE_DEFAULT_BACKLOG);
    for (let i = 0; i < DEFERRED_QUEUE_DEFAULT_SIZE; i++) q.put(i);
    expect(() => q.put(-1)).toThrow(QueueOverflow);
  });
});
