/**
 * NodeReactor on the real event loop: only the wiring that a Clock cannot show
 * (the Node timer, passes, liveness, signals). No test measures a duration.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { getReactor, reactor as sharedReactor } from '../src/reactor/shared.js';
import sharedDefault from '../src/reactor/shared.js';
import { Deferred } from '../src/reactor/deferred.js';
import { captureLogs } from '../src/reactor/log.js';
import { InvalidArgumentError } from '../src/reactor/errors.js';
import { Cooperator } from '../src/reactor/task.js';

let logs: ReturnType<typeof captureLogs>;
const reactors: NodeReactor[] = [];
function make(options?: ConstructorParameters<typeof NodeReactor>[0]): NodeReactor {
  const r = new NodeReactor(options);
  reactors.push(r);
  return r;
}
beforeEach(() => {
  logs = captureLogs();
});
afterEach(async () => {
  for (const r of reactors.splice(0)) {
    for (const c of r.getDelayedCalls()) c.cancel();
    if (r.running) await r.stop();
  }
  logs.restore();
});

/** Resolve when `fn` has been called by the reactor. */
function later<T>(r: NodeReactor, delay: number, fn: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    r.callLater(delay, () => {
      try {
        resolve(fn());
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe('NodeReactor time', () => {
  it('fires a callLater on the real loop with its arguments', async () => {
    const r = make();
    const got = await new Promise<[string, number]>((resolve) =>
      r.callLater(0.01, (a: string, b: number) => resolve([a, b]), 'x', 2),
    );
    expect(got).toEqual(['x', 2]);
    expect(r.delayedCallCount()).toBe(0);
  });

  it('seconds() is monotonic and moves forward', async () => {
    const r = make();
    const t0 = r.seconds();
    const t1 = await later(r, 0.005, () => r.seconds());
    expect(t1).toBeGreaterThan(t0);
  });

  it('runs calls due at the same time in scheduling order', async () => {
    const r = make();
    const order: number[] = [];
    for (let i = 0; i < 50; i++) r.callLater(0, () => order.push(i));
    await later(r, 0, () => undefined);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('runs a call scheduled during a pass in a later pass, after Node had a turn', async () => {
    const r = make();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      r.callLater(0, () => {
        order.push('A1');
        setImmediate(() => order.push('node'));
        r.callLater(0, () => {
          order.push('B');
          resolve();
        });
      });
      r.callLater(0, () => order.push('A2'));
    });
    await done;
    expect(order).toEqual(['A1', 'A2', 'node', 'B']);
  });

  it('reset to an earlier time re-arms the timer; cancel stops a call', async () => {
    const r = make();
    const ran: string[] = [];
    const far = r.callLater(3600, () => ran.push('far'));
    const gone = r.callLater(0, () => ran.push('gone'));
    gone.cancel();
    far.reset(0.001);
    await later(r, 0.002, () => undefined);
    expect(ran).toEqual(['far']);
    expect(far.active()).toBe(false);
  });

  it('logs an exception in a delayed call and keeps running the others', async () => {
    const r = make();
    const ran: string[] = [];
    r.callLater(0, function exploding() {
      throw new Error('kaboom');
    });
    r.callLater(0, () => ran.push('after'));
    await later(r, 0.001, () => undefined);
    expect(ran).toEqual(['after']);
    const event = logs.events.find((e) => e.failure?.getErrorMessage() === 'kaboom');
    expect(event?.message).toContain('exploding');
    expect(event?.namespace).toBe('spindle.reactor');
  });

  it('rejects bad delays and counts active calls', () => {
    const r = make();
    expect(() => r.callLater(-1, () => {})).toThrow(InvalidArgumentError);
    expect(() => r.callLater(Number.NaN, () => {})).toThrow(InvalidArgumentError);
    expect(() => r.callLater(Infinity, () => {})).toThrow(InvalidArgumentError);
    const a = r.callLater(100, () => {});
    const b = r.callLater(50, () => {});
    expect(r.getDelayedCalls()).toEqual([b, a]);
    a.cancel();
    expect(r.delayedCallCount()).toBe(1);
  });
});

describe('NodeReactor run and stop', () => {
  it('runs startup triggers and callWhenRunning at run(), shutdown phases in order at stop()', async () => {
    const r = make();
    const order: string[] = [];
    r.callWhenRunning(() => order.push('running'));
    r.addSystemEventTrigger('before', 'startup', () => order.push('before startup'));
    r.addSystemEventTrigger('after', 'shutdown', () => order.push('after'));
    r.addSystemEventTrigger('during', 'shutdown', () => order.push('during'));
    r.addSystemEventTrigger('before', 'shutdown', () => {
      order.push('before');
      // Held back until a real delayed call fires it.
      const d = new Deferred<void>();
      r.callLater(0.001, () => {
        order.push('before done');
        d.callback(undefined);
      });
      return d;
    });
    r.run();
    expect(r.running).toBe(true);
    expect(order).toEqual(['before startup', 'running']);
    const stopping = r.stop();
    expect(r.stop()).toBe(stopping);
    expect(r.running).toBe(true);
    await stopping;
    expect(order).toEqual(['before startup', 'running', 'before', 'before done', 'during', 'after']);
    expect(r.running).toBe(false);
  });

  it('installs SIGINT/SIGTERM handlers when asked and removes them at stop', async () => {
    const r = make();
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    r.run({ installSignalHandlers: true });
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual([
      before[0]! + 1,
      before[1]! + 1,
    ]);
    await r.stop();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });

  it('does not install signal handlers unless asked', async () => {
    const r = make();
    const before = process.listenerCount('SIGTERM');
    r.run();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await r.stop();
  });
});

describe('the shared reactor', () => {
  it('is created once, lazily, and the default export forwards to it', () => {
    const r = getReactor();
    expect(getReactor()).toBe(r);
    expect(sharedDefault).toBe(sharedReactor);
    const call = sharedDefault.callLater(100, () => {});
    expect(r.getDelayedCalls()).toContain(call);
    expect(sharedDefault.delayedCallCount()).toBe(r.delayedCallCount());
    expect(sharedDefault.stats).toBe(r.stats);
    call.cancel();
    expect(sharedDefault.running).toBe(false);
  });
});

describe('Cooperator on NodeReactor', () => {
  it('runs passes on the real loop, letting other callbacks in between', async () => {
    const r = make();
    const coop = new Cooperator({
      clock: r,
      terminationPredicateFactory: () => {
        let left = 10;
        return () => --left <= 0;
      },
    });
    const events: string[] = [];
    function* work(): Generator<undefined> {
      for (let i = 0; i < 100; i++) yield undefined;
      events.push('task done');
    }
    const done = coop.coiterate(work());
    setImmediate(() => events.push('other callback'));
    await done;
    expect(events).toEqual(['other callback', 'task done']);
  });
});
