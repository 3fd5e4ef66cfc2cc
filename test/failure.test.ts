import { describe, expect, it } from 'vitest';
import { Failure, responseDone } from '../src/reactor/failure.js';
import { CancelledError, ResponseDone, SpindleError, TimeoutError } from '../src/reactor/errors.js';

describe('Failure', () => {
  it('keeps the original value', () => {
    const err = new TypeError('t');
    const f = new Failure(err);
    expect(f.value).toBe(err);
    expect(f.type).toBe(TypeError);
  });

  it('check returns the first matching class, counting subclasses, else null', () => {
    const f = new Failure(new CancelledError());
    expect(f.check(TimeoutError, SpindleError, CancelledError)).toBe(SpindleError);
    expect(f.check(CancelledError)).toBe(CancelledError);
    expect(f.check(TypeError, RangeError)).toBeNull();
    expect(f.check()).toBeNull();
  });

  it('trap returns the match or rethrows the original value', () => {
    const err = new RangeError('r');
    const f = new Failure(err);
    expect(f.trap(TypeError, RangeError)).toBe(RangeError);
    let thrown: unknown;
    try {
      f.trap(TypeError);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(err);
    expect(() => f.raiseException()).toThrow(err);
  });

  it('wraps non-Error values and still records where', () => {
    const f = new Failure('plain string');
    expect(f.value).toBe('plain string');
    expect(f.getErrorMessage()).toBe('plain string');
    expect(f.check(Error)).toBeNull();
    expect(f.stack).toContain('failure.test.ts');
    expect(f.getTraceback()).toMatch(/non-Error value string/);
    expect(new Failure({ code: 1 }).getErrorMessage()).toBe('{"code":1}');
    expect(new Failure(undefined).type).toBeUndefined();
  });

  it('wrapping a Failure or Failure.from gives the same value', () => {
    const inner = new Failure(new Error('x'));
    expect(new Failure(inner).value).toBe(inner.value);
    expect(Failure.from(inner)).toBe(inner);
    expect(Failure.from(5).value).toBe(5);
  });

  it('getTraceback is the error stack plus its cause chain', () => {
    const cause = new Error('root cause');
    const f = new Failure(new Error('outer', { cause }));
    const tb = f.getTraceback();
    expect(tb).toMatch(/^Error: outer\n/);
    expect(tb).toContain('Caused by: Error: root cause');
    expect(tb).toContain('failure.test.ts');
    expect(String(f)).toBe('[Failure Error: outer]');
  });

  it('responseDone() is Failure(ResponseDone) without a stack trace, and leaves the global stack limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const f = responseDone();
    expect(f.check(ResponseDone)).toBe(ResponseDone);
    expect((f.value as ResponseDone).code).toBe('ERR_RESPONSE_DONE');
    expect((f.value as Error).stack).not.toMatch(/\n\s+at /);
    expect(new Failure(new ResponseDone()).value).toHaveProperty('stack', expect.stringMatching(/\n\s+at /));
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
