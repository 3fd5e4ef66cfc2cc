/**
 * NodeReactor: a burst of `callLater(0)` shares one clock reading (a
 * performance measure), and that must not show: due times stay between the
 * readings a caller takes around them, calls run in the order scheduled, a
 * shared reading does not outlive its turn, and other delays read the clock.
 * Inequalities against real readings only; nothing measures a duration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NodeReactor, TURN_TIME_MAX_USES } from '../src/reactor/nodereactor.js';
import type { IDelayedCall } from '../src/reactor/interfaces.js';

const reactors: NodeReactor[] = [];
function make(): NodeReactor {
  const r = new NodeReactor();
  reactors.push(r);
  r.run();
  return r;
}
afterEach(async () => {
  for (const r of reactors.splice(0)) {
    for (const c of r.getDelayedCalls()) c.cancel();
    if (r.running) await r.stop();
  }
});

/** Wait for a later macrotask (a new turn of Node's loop). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('NodeReactor callLater(0) bursts', () => {
  it('gives every call of a burst a due time between readings taken around the burst, never decreasing', () => {
    const r = make();
    const before = r.seconds();
    const calls: IDelayedCall[] = [];
    for (let i = 0; i < 5 * TURN_TIME_MAX_USES; i++) calls.push(r.callLater(0, () => {}));
    const after = r.seconds();
    for (let i = 0; i < calls.length; i++) {
      expect(calls[i]!.getTime()).toBeGreaterThanOrEqual(before);
      expect(calls[i]!.getTime()).toBeLessThanOrEqual(after);
      if (i > 0) expect(calls[i]!.getTime()).toBeGreaterThanOrEqual(calls[i - 1]!.getTime());
    }
  });

  it('never gives a call a time earlier than a reading the caller took during the burst', () => {
    const r = make();
    for (let i = 0; i < 10; i++) r.callLater(0, () => {});
    const seen = r.seconds();
    expect(r.callLater(0, () => {}).getTime()).toBeGreaterThanOrEqual(seen);
  });

  it('runs a burst in the order it was scheduled, all in one pass', async () => {
    const r = make();
    const order: number[] = [];
    const n = 3 * TURN_TIME_MAX_USES;
    await new Promise<void>((resolve) => {
      for (let i = 0; i < n; i++) {
        r.callLater(0, () => {
          order.push(i);
          if (i === n - 1) resolve();
        });
      }
    });
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('does not carry a burst reading into a later turn', async () => {
    const r = make();
    for (let i = 0; i < 10; i++) r.callLater(0, () => {});
    const old = r.callLater(0, () => {}).getTime();
    await nextTurn();
    const floor = performance.now() / 1000; // read past the reactor, so no shared reading is refreshed
    const c = r.callLater(0, () => {});
    expect(c.getTime()).toBeGreaterThanOrEqual(floor);
    expect(c.getTime()).toBeGreaterThan(old);
  });

  it('reads the clock for a delay other than 0 even in a burst', () => {
    const r = make();
    for (let i = 0; i < 10; i++) r.callLater(0, () => {});
    const floor = performance.now() / 1000;
    expect(r.callLater(0.001, () => {}).getTime()).toBeGreaterThanOrEqual(floor + 0.001);
  });
});
