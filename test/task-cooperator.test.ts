import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import { Cooperator, cooperate, COOPERATOR_SLICE, type Scheduler } from '../src/reactor/task.js';
import { Deferred } from '../src/reactor/deferred.js';
import type { Failure } from '../src/reactor/failure.js';
import {
  NoClockError,
  NotPaused,
  SchedulerStopped,
  TaskDone,
  TaskFailed,
  TaskFinished,
  TaskStopped,
} from '../src/reactor/errors.js';

/** A scheduler the test steps by hand: `pass()` runs one pass. */
function manualScheduler(): { scheduler: Scheduler; pass(): void; readonly pending: number } {
  let queue: Array<() => void> = [];
  return {
    scheduler: (fn) => {
      queue.push(fn);
      return { cancel: () => void (queue = queue.filter((f) => f !== fn)) };
    },
    pass() {
      const run = queue;
      queue = [];
      for (const fn of run) fn();
    },
    get pending() {
      return queue.length;
    },
  };
}

/** Ends a pass after `n` units. */
const afterUnits = (n: number) => () => {
  let left = n;
  return () => --left <= 0;
};

function* counter(name: string, n: number, log: string[]): Generator<undefined> {
  for (let i = 0; i < n; i++) {
    log.push(`${name}${i}`);
    yield undefined;
  }
}

describe('Cooperator', () => {
  it('runs tasks round-robin and ends each pass when the predicate says so', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(3) });
    const log: string[] = [];
    coop.cooperate(counter('a', 3, log));
    coop.cooperate(counter('b', 3, log));
    expect(log).toEqual([]);
    m.pass();
    expect(log).toEqual(['a0', 'b0', 'a1']);
    m.pass();
    expect(log).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  it('whenDone fires with the iterator once it is exhausted, and later callers get it too', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(100) });
    const it = counter('x', 2, []);
    const task = coop.cooperate(it);
    let got: unknown;
    task.whenDone().addCallback((r) => void (got = r));
    m.pass();
    expect(got).toBe(it);
    let again: unknown;
    task.whenDone().addCallback((r) => void (again = r));
    expect(again).toBe(it);
    expect(() => task.pause()).toThrow(TaskDone);
    expect(m.pending).toBe(0);
  });

  it('accepts an iterable and coiterate returns the whenDone Deferred', () => {
    const clock = new Clock();
    const coop = new Cooperator({ clock });
    let done = false;
    coop.coiterate([1, 2, 3]).addCallback(() => void (done = true));
    clock.advance(0);
    expect(done).toBe(true);
  });

  it('a yielded Deferred pauses only that task until it fires', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(100) });
    const log: string[] = [];
    const gate = new Deferred<void>();
    function* waiter(): Generator<Deferred<void> | undefined> {
      log.push('w0');
      yield gate;
      log.push('w1');
    }
    coop.cooperate(waiter());
    coop.cooperate(counter('c', 3, log));
    m.pass();
    expect(log).toEqual(['w0', 'c0', 'c1', 'c2']);
    expect(m.pending).toBe(0);
    gate.callback(undefined);
    m.pass();
    expect(log).toEqual(['w0', 'c0', 'c1', 'c2', 'w1']);
  });

  it('an iterator that throws, or yields a failing Deferred, errbacks whenDone', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(100) });
    function* throws(): Generator<undefined> {
      yield undefined;
      throw new RangeError('bad step');
    }
    const bad = new Deferred<void>();
    function* yieldsFailure(): Generator<Deferred<void>> {
      yield bad;
    }
    const failures: Failure[] = [];
    const t1 = coop.cooperate(throws());
    t1.whenDone().addErrback((f) => void failures.push(f));
    coop
      .cooperate(yieldsFailure())
      .whenDone()
      .addErrback((f) => void failures.push(f));
    m.pass();
    bad.errback(new Error('deferred failed'));
    expect(failures.map((f) => f.getErrorMessage())).toEqual(['bad step', 'deferred failed']);
    expect(() => t1.resume()).toThrow(NotPaused);
    expect(() => t1.stop()).toThrow(TaskFailed);
  });

  it('pause() and resume() balance; resume without pause throws NotPaused', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(100) });
    const log: string[] = [];
    const task = coop.cooperate(counter('p', 2, log));
    task.pause();
    task.pause();
    m.pass();
    expect(log).toEqual([]);
    task.resume();
    m.pass();
    expect(log).toEqual([]);
    task.resume();
    m.pass();
    expect(log).toEqual(['p0', 'p1']);
    expect(() => task.resume()).toThrow(NotPaused);
  });

  it('stop() ends a task with TaskStopped and closes its generator', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(1) });
    let closed = false;
    function* endless(): Generator<undefined> {
      try {
        for (;;) yield undefined;
      } finally {
        closed = true;
      }
    }
    const task = coop.cooperate(endless());
    m.pass();
    let failure: Failure | undefined;
    task.whenDone().addErrback((f) => void (failure = f));
    task.stop();
    expect(failure?.value).toBeInstanceOf(TaskStopped);
    expect((failure?.value as TaskStopped).code).toBe('ERR_TASK_STOPPED');
    expect(closed).toBe(true);
    expect(() => task.stop()).toThrow(TaskFinished);
    expect(m.pending).toBe(0);
  });

  it('stopping the Cooperator ends its tasks with SchedulerStopped and refuses new ones', () => {
    const m = manualScheduler();
    const coop = new Cooperator({ scheduler: m.scheduler, terminationPredicateFactory: afterUnits(1) });
    const failures: unknown[] = [];
    coop
      .cooperate(counter('s', 5, []))
      .whenDone()
      .addErrback((f) => void failures.push(f.value));
    coop.stop();
    expect(coop.running).toBe(false);
    coop
      .cooperate(counter('t', 5, []))
      .whenDone()
      .addErrback((f) => void failures.push(f.value));
    expect(failures.map((e) => (e as SchedulerStopped).code)).toEqual([
      'ERR_SCHEDULER_STOPPED',
      'ERR_SCHEDULER_STOPPED',
    ]);
    expect(m.pending).toBe(0);
  });

  it('started: false schedules nothing until start()', () => {
    const m = manualScheduler();
    const coop = new Cooperator({
      scheduler: m.scheduler,
      terminationPredicateFactory: afterUnits(10),
      started: false,
    });
    const log: string[] = [];
    coop.cooperate(counter('q', 1, log));
    expect(m.pending).toBe(0);
    coop.start();
    m.pass();
    expect(log).toEqual(['q0']);
  });

  it('by default a pass ends after COOPERATOR_SLICE seconds of work on the clock', () => {
    const clock = new Clock();
    let scheduled: (() => void) | undefined;
    const coop = new Cooperator({
      clock,
      scheduler: (fn) => {
        scheduled = fn;
        return { cancel: () => void (scheduled = undefined) };
      },
    });
    const units: number[] = [];
    // Each unit "takes" 0.3 of the slice: the test clock moves inside the step.
    function* slow(): Generator<undefined> {
      for (let i = 0; i < 8; i++) {
        units.push(i);
        clock.advance(COOPERATOR_SLICE * 0.3);
        yield undefined;
      }
    }
    coop.cooperate(slow());
    const pass = scheduled!;
    scheduled = undefined;
    pass();
    expect(units).toEqual([0, 1, 2, 3]);
    expect(scheduled).toBeDefined();
  });
});

describe('cooperate(iterator, clock)', () => {
  it('shares one Cooperator per clock and runs on callLater(0)', () => {
    const clock = new Clock();
    const log: string[] = [];
    let done = 0;
    cooperate(counter('a', 2, log), clock)
      .whenDone()
      .addCallback(() => void done++);
    cooperate(counter('b', 2, log), clock)
      .whenDone()
      .addCallback(() => void done++);
    expect(clock.getDelayedCalls()).toHaveLength(1);
    clock.advance(0);
    expect(log).toEqual(['a0', 'b0', 'a1', 'b1']);
    expect(done).toBe(2);
  });

  it('a Cooperator built without a clock needs its scheduler and slice', () => {
    expect(() => new Cooperator()).toThrow(NoClockError);
  });

  it("cooperate(iterator) without a clock runs each task to its end on Node's own loop", async () => {
    const log: string[] = [];
    const a = cooperate(counter('a', 3, log));
    const b = cooperate(counter('b', 3, log));
    await Promise.all([a.whenDone().asPromise(), b.whenDone().asPromise()]);
    expect([...log].sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    expect(log.filter((x) => x.startsWith('a'))).toEqual(['a0', 'a1', 'a2']);
  });
});
