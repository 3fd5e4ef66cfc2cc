import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import { AlreadyCalled, AlreadyCancelled, InvalidArgumentError } from '../src/reactor/errors.js';

describe('Clock', () => {
  it('starts at 0 and moves only on advance', () => {
    const clock = new Clock();
    expect(clock.seconds()).toBe(0);
    clock.advance(2.5);
    expect(clock.seconds()).toBe(2.5);
    clock.pump([1, 0.5, 0]);
    expect(clock.seconds()).toBe(4);
  });

  it('runs a call when its time comes, with its arguments, and not before', () => {
    const clock = new Clock();
    const seen: Array<[string, number]> = [];
    const call = clock.callLater(3, (name: string, n: number) => seen.push([name, n]), 'a', 1);
    expect(call.getTime()).toBe(3);
    clock.advance(2.999);
    expect(seen).toEqual([]);
    expect(call.active()).toBe(true);
    clock.advance(0.001);
    expect(seen).toEqual([['a', 1]]);
    expect(call.active()).toBe(false);
  });

  it('runs calls in time order, ties in scheduling order', () => {
    const clock = new Clock();
    const order: string[] = [];
    clock.callLater(2, () => order.push('c'));
    clock.callLater(1, () => order.push('a'));
    clock.callLater(1, () => order.push('b'));
    clock.callLater(2, () => order.push('d'));
    clock.advance(5);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sees the advanced time inside calls', () => {
    const clock = new Clock();
    let inside = -1;
    clock.callLater(1, () => (inside = clock.seconds()));
    clock.advance(10);
    expect(inside).toBe(10);
  });

  it('runs a callLater(0) made during advance() within the same advance', () => {
    const clock = new Clock();
    const order: string[] = [];
    clock.callLater(1, () => {
      order.push('first');
      clock.callLater(0, () => order.push('nested'));
      clock.callLater(5, () => order.push('too late'));
    });
    clock.advance(1);
    expect(order).toEqual(['first', 'nested']);
    clock.advance(5);
    expect(order).toEqual(['first', 'nested', 'too late']);
  });

  it('getDelayedCalls returns the same active call objects, earliest first', () => {
    const clock = new Clock();
    const late = clock.callLater(5, () => {});
    const early = clock.callLater(1, () => {});
    const gone = clock.callLater(2, () => {});
    gone.cancel();
    const calls = clock.getDelayedCalls();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toBe(early);
    expect(calls[1]).toBe(late);
    clock.advance(1);
    expect(clock.getDelayedCalls()).toEqual([late]);
  });

  it('reset(s) moves the call to now + s; delay(s) postpones it by s', () => {
    const clock = new Clock();
    const ran: number[] = [];
    const a = clock.callLater(10, () => ran.push(clock.seconds()));
    clock.advance(4);
    a.reset(2);
    expect(a.getTime()).toBe(6);
    a.delay(3);
    expect(a.getTime()).toBe(9);
    clock.advance(4.9);
    expect(ran).toEqual([]);
    clock.advance(0.1);
    expect(ran).toEqual([9]);
  });

  it('reset to an earlier time runs the call earlier than first scheduled', () => {
    const clock = new Clock();
    const ran: string[] = [];
    const a = clock.callLater(10, () => ran.push('a'));
    clock.callLater(5, () => ran.push('b'));
    a.reset(1);
    clock.advance(1);
    expect(ran).toEqual(['a']);
  });

  it('a reset call runs after calls already scheduled for the same time', () => {
    const clock = new Clock();
    const ran: string[] = [];
    const a = clock.callLater(1, () => ran.push('a'));
    clock.callLater(2, () => ran.push('b'));
    a.reset(2);
    clock.advance(2);
    expect(ran).toEqual(['b', 'a']);
  });

  it('a cancelled call never runs', () => {
    const clock = new Clock();
    const ran: string[] = [];
    const a = clock.callLater(1, () => ran.push('a'));
    a.cancel();
    expect(a.active()).toBe(false);
    clock.advance(2);
    expect(ran).toEqual([]);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('cancel, reset and delay throw AlreadyCancelled / AlreadyCalled with codes', () => {
    const clock = new Clock();
    const a = clock.callLater(1, () => {});
    a.cancel();
    expect(() => a.cancel()).toThrow(AlreadyCancelled);
    expect(() => a.reset(1)).toThrow(AlreadyCancelled);
    expect(() => a.delay(1)).toThrow(AlreadyCancelled);
    const b = clock.callLater(1, () => {});
    clock.advance(1);
    expect(() => b.cancel()).toThrow(AlreadyCalled);
    expect(() => b.reset(1)).toThrow(AlreadyCalled);
    expect(() => b.delay(1)).toThrow(
      expect.objectContaining({ name: AlreadyCalled.name, code: 'ERR_ALREADY_CALLED_DELAYED' }),
    );
  });

  it.each([-1, Number.NaN, Infinity, -Infinity])('rejects a delay of %s with InvalidArgumentError', (bad) => {
    const clock = new Clock();
    expect(() => clock.callLater(bad, () => {})).toThrow(InvalidArgumentError);
    const call = clock.callLater(1, () => {});
    expect(() => call.reset(bad)).toThrow(/finite number of seconds >= 0/);
    expect(() => call.delay(bad)).toThrow(InvalidArgumentError);
    expect(() => clock.advance(bad)).toThrow(InvalidArgumentError);
    expect(call.getTime()).toBe(1);
  });

  it('lets an exception escape advance() and keeps the later calls scheduled', () => {
    const clock = new Clock();
    const ran: string[] = [];
    clock.callLater(1, () => {
      throw new Error('boom');
    });
    clock.callLater(1, () => ran.push('after'));
    expect(() => clock.advance(1)).toThrow('boom');
    expect(ran).toEqual([]);
    clock.advance(0);
    expect(ran).toEqual(['after']);
  });

  it('a call that cancels a later call due in the same advance stops it', () => {
    const clock = new Clock();
    const ran: string[] = [];
    const victim = clock.callLater(2, () => ran.push('victim'));
    clock.callLater(1, () => victim.cancel());
    clock.advance(3);
    expect(ran).toEqual([]);
  });
});
