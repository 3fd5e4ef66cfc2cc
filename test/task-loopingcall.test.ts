import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import { LoopingCall, deferLater } from '../src/reactor/task.js';
import { Deferred } from '../src/reactor/deferred.js';
import { CancelledError, InvalidArgumentError } from '../src/reactor/errors.js';
import { LoopingCallStateError, NoClockError } from '../src/reactor/errors.js';
import { assertNoResult, failureResultOf, successResultOf } from '../src/testing/index.js';

describe('LoopingCall', () => {
  it('calls at once, then every interval, and stop() fires the Deferred with the LoopingCall', () => {
    const clock = new Clock();
    const times: number[] = [];
    const lc = new LoopingCall(() => times.push(clock.seconds()), { clock });
    const done = lc.start(2);
    expect(lc.running).toBe(true);
    expect(lc.interval).toBe(2);
    clock.pump([1, 1, 1, 1, 1]);
    expect(times).toEqual([0, 2, 4]);
    assertNoResult(done);
    lc.stop();
    expect(successResultOf(done)).toBe(lc);
    expect(lc.running).toBe(false);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('with now=false waits one interval before the first call', () => {
    const clock = new Clock();
    const times: number[] = [];
    const lc = new LoopingCall(() => times.push(clock.seconds()));
    lc.clock = clock;
    lc.start(1, false);
    expect(times).toEqual([]);
    clock.pump([1, 1]);
    expect(times).toEqual([1, 2]);
  });

  it('keeps to the interval grid and skips missed intervals instead of bursting', () => {
    const clock = new Clock();
    const times: number[] = [];
    const lc = new LoopingCall(() => times.push(clock.seconds()), { clock });
    lc.start(1);
    clock.advance(3.5); // three grid points missed while "busy"
    clock.advance(0.5);
    clock.advance(0.2);
    clock.advance(0.8);
    expect(times).toEqual([0, 3.5, 4, 5]);
  });

  it('waits for a Deferred returned by fn before scheduling the next call', () => {
    const clock = new Clock();
    const times: number[] = [];
    let pending: Deferred<void> | undefined;
    const lc = new LoopingCall(
      () => {
        times.push(clock.seconds());
        pending = new Deferred<void>();
        return pending;
      },
      { clock },
    );
    lc.start(1);
    expect(lc.call).toBeNull();
    clock.advance(2.5);
    expect(times).toEqual([0]);
    pending!.callback(undefined);
    expect(lc.call?.getTime()).toBe(3);
    clock.advance(0.5);
    expect(times).toEqual([0, 3]);
  });

  it('stop() while fn Deferred is pending fires once that Deferred fires', () => {
    const clock = new Clock();
    const pending = new Deferred<void>();
    const lc = new LoopingCall(() => pending, { clock });
    let stopped = false;
    lc.start(1).addCallback(() => void (stopped = true));
    lc.stop();
    expect(stopped).toBe(false);
    pending.callback(undefined);
    expect(stopped).toBe(true);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('errbacks the Deferred and stops when fn throws or its Deferred fails', () => {
    const clock = new Clock();
    let n = 0;
    const lc = new LoopingCall(
      () => {
        if (++n === 3) throw new RangeError('third time');
      },
      { clock },
    );
    const done = lc.start(1);
    clock.pump([1, 1, 1, 1]);
    expect(n).toBe(3);
    failureResultOf(done, RangeError);
    expect(lc.running).toBe(false);

    const lc2 = new LoopingCall(() => Promise.reject(new Error('async no')), { clock });
    const d = lc2.start(1);
    return d.asPromise().then(
      () => expect.unreachable(),
      (err: Error) => {
        expect(err.message).toBe('async no');
        expect(lc2.running).toBe(false);
      },
    );
  });

  it('stop() from inside fn ends the loop with the LoopingCall as result', () => {
    const clock = new Clock();
    let calls = 0;
    const lc: LoopingCall = new LoopingCall(
      () => {
        if (++calls === 2) lc.stop();
      },
      { clock },
    );
    const done = lc.start(1);
    clock.pump([1, 1, 1]);
    expect(calls).toBe(2);
    expect(successResultOf(done)).toBe(lc);
  });

  it('reset() restarts the grid from now', () => {
    const clock = new Clock();
    const times: number[] = [];
    const lc = new LoopingCall(() => times.push(clock.seconds()), { clock });
    lc.start(2);
    clock.advance(1.5);
    lc.reset();
    clock.pump([1, 1, 1, 1]);
    expect(times).toEqual([0, 3.5, 5.5]);
  });

  it('interval 0 calls on every pass', () => {
    const clock = new Clock();
    let n = 0;
    const lc: LoopingCall = new LoopingCall(
      () => {
        if (++n === 5) lc.stop();
      },
      { clock },
    );
    lc.start(0);
    clock.advance(0);
    expect(n).toBe(5);
  });

  it('typed errors: start twice, stop/reset when not running, no clock, bad interval', () => {
    const clock = new Clock();
    const lc = new LoopingCall(() => {}, { clock });
    expect(() => lc.stop()).toThrow(LoopingCallStateError);
    expect(() => lc.reset()).toThrow(LoopingCallStateError);
    expect(() => lc.start(-1)).toThrow(InvalidArgumentError);
    expect(lc.running).toBe(false);
    lc.start(1);
    try {
      lc.start(1);
      expect.unreachable();
    } catch (err) {
      expect((err as LoopingCallStateError).code).toBe('ERR_LOOPING_CALL_STATE');
    }
    const noClock = new LoopingCall(() => {});
    expect(() => noClock.start(1)).toThrow(NoClockError);
    expect(() => noClock.start(1)).toThrow(/pass one/);
  });
});

describe('LoopingCall.withCount', () => {
  it('passes 1 per regular interval and the number skipped when late', () => {
    const clock = new Clock();
    const counts: number[] = [];
    const lc = LoopingCall.withCount((count) => counts.push(count), { clock });
    lc.start(1);
    clock.advance(1);
    clock.advance(3); // two intervals went by without a call
    clock.advance(1);
    expect(counts).toEqual([1, 1, 3, 1]);
  });

  it('counts from the start time when the first call is not immediate', () => {
    const clock = new Clock();
    const counts: number[] = [];
    const lc = LoopingCall.withCount((count) => counts.push(count), { clock });
    lc.start(1, false);
    clock.advance(2.5);
    clock.advance(0.5);
    expect(counts).toEqual([2, 1]);
  });

  it('passes 1 each time with interval 0', () => {
    const clock = new Clock();
    const counts: number[] = [];
    const lc: LoopingCall = LoopingCall.withCount(
      (count) => {
        counts.push(count);
        if (counts.length === 3) lc.stop();
      },
      { clock },
    );
    lc.start(0);
    clock.advance(0);
    expect(counts).toEqual([1, 1, 1]);
  });

  it('keeps an accurate count when its fn returns a slow Deferred', () => {
    const clock = new Clock();
    const counts: number[] = [];
    let pending: Deferred<void> | undefined;
    const lc = LoopingCall.withCount(
      (count) => {
        counts.push(count);
        pending = new Deferred<void>();
        return pending;
      },
      { clock },
    );
    lc.start(1);
    clock.advance(3.2);
    pending!.callback(undefined); // next call at 4
    clock.advance(0.8);
    expect(counts).toEqual([1, 4]);
  });
});

describe('deferLater', () => {
  it('fires after the delay with fn’s result', () => {
    const clock = new Clock();
    const d = deferLater(clock, 2, (a: number, b: number) => a + b, 2, 3);
    clock.advance(1.9);
    assertNoResult(d);
    clock.advance(0.1);
    expect(successResultOf(d)).toBe(5);
  });

  it('with no fn fires with undefined', () => {
    const clock = new Clock();
    const d = deferLater(clock, 1);
    clock.advance(1);
    expect(successResultOf(d)).toBeUndefined();
  });

  it('turns a throw into a failure', () => {
    const clock = new Clock();
    const d = deferLater(clock, 1, () => {
      throw new TypeError('late');
    });
    clock.advance(1);
    expect(failureResultOf(d, TypeError).value).toEqual(new TypeError('late'));
  });

  it('cancel() cancels the delayed call and errbacks with CancelledError', () => {
    const clock = new Clock();
    let ran = false;
    const d = deferLater(clock, 1, () => (ran = true));
    d.cancel();
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(2);
    expect(ran).toBe(false);
    failureResultOf(d, CancelledError);
  });
});
