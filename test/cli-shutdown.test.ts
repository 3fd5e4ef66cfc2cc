/**
 * The graceful stop's bound, on a Clock: it stops accepting first, returns as
 * soon as in-flight responses are done, and gives up at the grace period.
 */
import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import {
  REPEAT_SIGNAL_SECONDS,
  SHUTDOWN_GRACE_SECONDS,
  drain,
  signalTracker,
  type DrainResult,
} from '../src/cli/shutdown.js';

const flush = () => new Promise<void>((done) => setImmediate(done));

function target(initial: number) {
  const state = { inFlight: initial, stopped: false, stopCalls: 0 };
  return {
    state,
    stopListening() {
      state.stopCalls++;
      state.stopped = true;
    },
    inFlight: () => state.inFlight,
  };
}

describe('drain', () => {
  it('stops listening and resolves at once when nothing is in flight', async () => {
    const clock = new Clock();
    const t = target(0);
    expect(await drain(t, clock)).toEqual({ drained: true, left: 0 });
    expect(t.state.stopCalls).toBe(1);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('waits for in-flight responses and resolves when the last one ends', async () => {
    const clock = new Clock();
    const t = target(2);
    let result: DrainResult | undefined;
    void drain(t, clock).then((r) => (result = r));
    await flush();
    clock.advance(1);
    await flush();
    expect(result).toBeUndefined();
    t.state.inFlight = 0;
    clock.advance(0.05);
    await flush();
    expect(result).toEqual({ drained: true, left: 0 });
    expect(clock.seconds()).toBeLessThan(SHUTDOWN_GRACE_SECONDS);
  });

  it('gives up after the grace period and reports what is left', async () => {
    const clock = new Clock();
    const t = target(3);
    let result: DrainResult | undefined;
    void drain(t, clock, 2).then((r) => (result = r));
    await flush();
    clock.advance(1.9);
    await flush();
    expect(result).toBeUndefined();
    clock.advance(0.1);
    await flush();
    expect(result).toEqual({ drained: false, left: 3 });
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('bounds a stopListening that never completes by the same grace', async () => {
    const clock = new Clock();
    let result: DrainResult | undefined;
    const hung = { stopListening: () => new Promise<void>(() => undefined), inFlight: () => 0 };
    void drain(hung, clock, 1).then((r) => (result = r));
    await flush();
    clock.advance(1);
    await flush();
    expect(result).toEqual({ drained: true, left: 0 });
  });
});

describe('signalTracker', () => {
  it('stops on the first signal, ignores a quick repeat, forces on a later one', () => {
    let now = 100;
    const next = signalTracker(() => now);
    expect(next()).toBe('stop');
    now += REPEAT_SIGNAL_SECONDS / 2;
    expect(next()).toBe('ignore');
    now += REPEAT_SIGNAL_SECONDS;
    expect(next()).toBe('force');
  });
});
