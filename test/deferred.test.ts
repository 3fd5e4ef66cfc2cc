import { describe, expect, it } from 'vitest';
import { Deferred, fail, maybeDeferred, succeed } from '../src/reactor/deferred.js';
import { AlreadyCalledError, CancelledError, TimeoutError } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { Clock } from '../src/reactor/clock.js';

/** Read a fired Deferred's outcome synchronously, handling a failure. */
function outcome<T>(d: Deferred<T>): { ok: true; value: T } | { ok: false; error: unknown } | 'pending' {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | 'pending' = 'pending';
  d.addCallbacks(
    (value) => {
      out = { ok: true, value };
      return value;
    },
    (f) => {
      out = { ok: false, error: f.value };
      return null;
    },
  );
  return out;
}

describe('Deferred callbacks', () => {
  it('runs callbacks synchronously, in order, each getting the previous result and extra args', () => {
    const seen: unknown[] = [];
    const d = new Deferred<number>();
    d.addCallback((x, add: number) => {
      seen.push(['a', x]);
      return x + add;
    }, 10);
    d.addCallback((x) => {
      seen.push(['b', x]);
      return String(x);
    });
    expect(seen).toEqual([]);
    d.callback(1);
    expect(seen).toEqual([
      ['a', 1],
      ['b', 11],
    ]);
    expect(d.result).toBe('11');
  });

  it('runs a callback added after firing immediately', () => {
    const d = succeed(5);
    let got: number | undefined;
    d.addCallback((x) => {
      got = x;
    });
    expect(got).toBe(5);
  });

  it('turns a throw in a callback into a Failure of the thrown value for the next errback', () => {
    const err = new RangeError('bad');
    const d = new Deferred<number>();
    let failure: Failure | undefined;
    d.addCallback(() => {
      throw err;
    })
      .addCallback(() => 'skipped')
      .addErrback((f) => {
        failure = f;
        return 'recovered';
      });
    d.callback(1);
    expect(failure).toBeInstanceOf(Failure);
    expect(failure!.value).toBe(err);
    expect(d.result).toBe('recovered');
  });

  it('wraps non-Error throws in a Failure too', () => {
    const d = new Deferred<number>();
    let value: unknown;
    d.addCallback(() => {
      throw 'just a string';
    }).addErrback((f) => {
      value = f.value;
    });
    d.callback(0);
    expect(value).toBe('just a string');
  });

  it('errback skips callbacks until an errback; addErrback extra args are passed', () => {
    const d = new Deferred<number>();
    const seen: unknown[] = [];
    d.addCallback(() => seen.push('cb'))
      .addErrback((f, tag: string) => {
        seen.push([tag, f.getErrorMessage()]);
        return 7;
      }, 'eb')
      .addCallback((x) => seen.push(['after', x]));
    d.errback(new Error('nope'));
    expect(seen).toEqual([
      ['eb', 'nope'],
      ['after', 7],
    ]);
  });

  it('addBoth sees values and failures; addCallbacks picks one side with its own args', () => {
    const seen: unknown[] = [];
    const d1 = succeed(1).addBoth((r, tag: string) => seen.push([tag, r]), 'both');
    const d2 = fail(new Error('x')).addCallbacks(
      () => seen.push('cb'),
      (f: Failure, a: number, b: number) => seen.push(['eb', f.getErrorMessage(), a, b]),
      null,
      [1, 2],
    );
    expect(seen).toEqual([
      ['both', 1],
      ['eb', 'x', 1, 2],
    ]);
    expect(d1.called && d2.called).toBe(true);
  });

  it('addCallback with a non-function throws TypeError at the call', () => {
    const d = new Deferred();
    expect(() => d.addCallback(42 as unknown as () => void)).toThrow(TypeError);
    expect(() => d.addErrback('x' as unknown as () => void)).toThrow(TypeError);
    expect(() => d.addBoth(null as unknown as () => void)).toThrow(TypeError);
    expect(() => d.addCallbacks({} as unknown as () => void)).toThrow(TypeError);
  });

  it('firing twice throws AlreadyCalledError naming the Deferred and the fix', () => {
    const d = new Deferred<number>(undefined, 'user lookup');
    d.callback(1);
    let err: unknown;
    try {
      d.callback(2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AlreadyCalledError);
    expect((err as AlreadyCalledError).code).toBe('ERR_ALREADY_CALLED');
    expect((err as Error).message).toContain('user lookup');
    expect((err as Error).message).toMatch(/fires once/);
    expect(() => d.errback(new Error('late'))).toThrow(AlreadyCalledError);
    expect(d.result).toBe(1);
  });

  it('with Deferred.debug the AlreadyCalledError says where it was created and first fired', () => {
    Deferred.debug = true;
    try {
      const d = new Deferred<number>();
      d.callback(1);
      expect(() => d.callback(2)).toThrow(/Created at:[\s\S]*deferred\.test\.ts[\s\S]*First fired at:/);
    } finally {
      Deferred.debug = false;
    }
  });

  it('callback(aDeferred) is a TypeError', () => {
    expect(() => new Deferred<unknown>().callback(new Deferred())).toThrow(TypeError);
  });

  it('a callback returning its own Deferred fails the chain instead of hanging', () => {
    const d = new Deferred<number>();
    d.addCallback(() => d);
    d.callback(1);
    const o = outcome(d);
    expect(o).toMatchObject({ ok: false });
    expect((o as { error: { code: string } }).error.code).toBe('ERR_DEFERRED_SELF');
  });

  it('a callback that adds a callback to the same Deferred runs it after itself, not inside', () => {
    const seen: string[] = [];
    const d = new Deferred<number>();
    d.addCallback((x) => {
      d.addCallback(() => seen.push('added'));
      seen.push('first-end');
      return x;
    });
    d.addCallback(() => seen.push('second'));
    d.callback(1);
    expect(seen).toEqual(['first-end', 'second', 'added']);
  });
});

describe('Deferred chaining', () => {
  it('a callback returning an unfired Deferred pauses the chain until it fires', () => {
    const inner = new Deferred<string>();
    const outer = new Deferred<number>();
    const seen: unknown[] = [];
    outer.addCallback(() => inner).addCallback((v) => seen.push(v));
    outer.callback(1);
    expect(seen).toEqual([]);
    expect(outer.result).toBe(inner);
    inner.callback('inner value');
    expect(seen).toEqual(['inner value']);
    expect(inner.result).toBeUndefined();
  });

  it('a failure of the inner Deferred reaches the outer errbacks', () => {
    const inner = new Deferred<string>();
    const outer = succeed(1).addCallback(() => inner);
    inner.errback(new TypeError('inner broke'));
    const o = outcome(outer);
    expect(o).toMatchObject({ ok: false });
    expect((o as { error: Error }).error.message).toBe('inner broke');
  });

  it('a callback returning an already-fired Deferred takes its result at once', () => {
    const inner = succeed('ready');
    const d = succeed(0).addCallback(() => inner);
    expect(d.result).toBe('ready');
    expect(inner.result).toBeUndefined();
  });

  it('a callback returning a Promise waits for it', async () => {
    const d = succeed(2).addCallback(async (x) => x * 3);
    expect(d.called).toBe(true);
    expect(await d).toBe(6);
  });

  it('chainDeferred passes the result on and leaves undefined behind', () => {
    const a = new Deferred<number>();
    const b = new Deferred<number>();
    const seen: unknown[] = [];
    a.chainDeferred(b);
    a.addCallback((r) => seen.push(['a', r]));
    b.addCallback((r) => seen.push(['b', r]));
    a.callback(3);
    expect(seen).toEqual([
      ['b', 3],
      ['a', undefined],
    ]);
  });

  it('chainDeferred passes failures on and handles them in the source', () => {
    const a = new Deferred<number>();
    const b = new Deferred<number>();
    a.chainDeferred(b);
    a.errback(new Error('down'));
    expect(a.result).toBeUndefined();
    const o = outcome(b);
    expect((o as { error: Error }).error.message).toBe('down');
  });

  it('chainDeferred to itself or to a non-Deferred is a TypeError', () => {
    const a = new Deferred<number>();
    expect(() => a.chainDeferred(a)).toThrow(TypeError);
    expect(() => a.chainDeferred({} as Deferred<number>)).toThrow(TypeError);
  });

  it('chainDeferred into an already-fired Deferred fails the source with AlreadyCalledError', () => {
    const a = new Deferred<number>();
    const b = succeed(1);
    a.chainDeferred(b);
    a.callback(2);
    expect((outcome(a) as { error: unknown }).error).toBeInstanceOf(AlreadyCalledError);
  });
});

describe('pause and unpause', () => {
  it('holds callbacks while paused and runs them on the balancing unpause', () => {
    const d = new Deferred<number>();
    const seen: number[] = [];
    d.pause();
    d.pause();
    d.addCallback((x) => seen.push(x));
    d.callback(1);
    d.unpause();
    expect(seen).toEqual([]);
    d.unpause();
    expect(seen).toEqual([1]);
  });

  it('an extra unpause does nothing', () => {
    const d = new Deferred<number>();
    d.unpause();
    expect(d.paused).toBe(0);
    d.pause();
    const seen: number[] = [];
    d.addCallback((x) => seen.push(x));
    d.callback(4);
    d.unpause();
    expect(seen).toEqual([4]);
  });
});

describe('cancel', () => {
  it('without a canceller errbacks CancelledError and ignores one later callback', () => {
    const d = new Deferred<number>();
    d.cancel();
    expect((outcome(d) as { error: unknown }).error).toBeInstanceOf(CancelledError);
    expect(() => d.callback(1)).not.toThrow();
    expect(() => d.callback(2)).toThrow(AlreadyCalledError);
  });

  it('runs the canceller; if it fired the Deferred there is no CancelledError', () => {
    let calls = 0;
    const d = new Deferred<string>((self) => {
      calls++;
      self.callback('cancelled nicely');
    });
    d.cancel();
    expect(calls).toBe(1);
    expect(d.result).toBe('cancelled nicely');
  });

  it('with a canceller that does not fire, errbacks CancelledError and a later fire throws', () => {
    const d = new Deferred<number>(() => {});
    d.cancel();
    expect((outcome(d) as { error: unknown }).error).toBeInstanceOf(CancelledError);
    expect(() => d.callback(1)).toThrow(AlreadyCalledError);
  });

  it('after firing is a no-op', () => {
    let calls = 0;
    const d = new Deferred<number>(() => calls++);
    d.callback(1);
    d.cancel();
    expect(calls).toBe(0);
    expect(d.result).toBe(1);
  });

  it('of a Deferred waiting on an inner Deferred cancels the inner', () => {
    let innerCancelled = 0;
    const inner = new Deferred<number>(() => innerCancelled++);
    const outer = succeed(0).addCallback(() => inner);
    outer.cancel();
    expect(innerCancelled).toBe(1);
    expect((outcome(outer) as { error: unknown }).error).toBeInstanceOf(CancelledError);
  });
});

describe('addTimeout', () => {
  it('times out: cancels, converts CancelledError to TimeoutError, schedules exactly one call', () => {
    const clock = new Clock();
    let cancelled = 0;
    const d = new Deferred<number>(() => cancelled++).addTimeout(5, clock);
    expect(clock.getDelayedCalls()).toHaveLength(1);
    clock.advance(4.9);
    expect(d.called).toBe(false);
    clock.advance(0.1);
    expect(cancelled).toBe(1);
    const err = (outcome(d) as { error: unknown }).error;
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/5 s/);
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it('cancels its delayed call when the Deferred fires first', () => {
    const clock = new Clock();
    const d = new Deferred<number>().addTimeout(5, clock);
    d.callback(9);
    expect(clock.getDelayedCalls()).toHaveLength(0);
    clock.advance(10);
    expect(d.result).toBe(9);
  });

  it('onTimeoutCancel(result, timeout) gives the new result', () => {
    const clock = new Clock();
    const args: unknown[] = [];
    const d = new Deferred<string>().addTimeout(2, clock, (result, timeout) => {
      args.push(result instanceof Failure ? result.check(CancelledError) : result, timeout);
      return 'fallback';
    });
    clock.advance(2);
    expect(args).toEqual([CancelledError, 2]);
    expect(d.result).toBe('fallback');
  });

  it('a canceller that fires with a value on timeout keeps that value', () => {
    const clock = new Clock();
    const d = new Deferred<string>((self) => self.callback('partial')).addTimeout(1, clock);
    clock.advance(1);
    expect(d.result).toBe('partial');
  });
});

describe('succeed, fail, maybeDeferred', () => {
  it('succeed and fail are fired', () => {
    expect(succeed(3).result).toBe(3);
    const f = fail(new Error('e'));
    expect(f.called).toBe(true);
    expect((outcome(f) as { error: Error }).error.message).toBe('e');
  });

  it('maybeDeferred covers values, throws, Deferreds and Promises', async () => {
    expect(maybeDeferred((a: number, b: number) => a + b, 1, 2).result).toBe(3);
    const thrown = maybeDeferred(() => {
      throw new Error('t');
    });
    expect((outcome(thrown) as { error: Error }).error.message).toBe('t');
    const inner = new Deferred<number>();
    expect(maybeDeferred(() => inner)).toBe(inner);
    expect(await maybeDeferred(async () => 'p')).toBe('p');
  });
});
