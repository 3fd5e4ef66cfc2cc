/**
 * The bound on replacing dead cluster workers (src/cli/cluster.ts): at most
 * WORKER_RESTARTS_PER_MINUTE replacements within any 60 s; past it the group
 * stops instead of restarting a crashing app for ever. Time is injected.
 */
import { describe, expect, it } from 'vitest';
import { RestartBudget, WORKER_RESTARTS_PER_MINUTE, WORKER_RESTART_WINDOW_SECONDS } from '../src/cli/cluster.js';

describe('RestartBudget', () => {
  it('allows 10 replacements within 60 s, refuses the 11th, and allows again as the oldest leave the window', () => {
    expect([WORKER_RESTARTS_PER_MINUTE, WORKER_RESTART_WINDOW_SECONDS]).toEqual([10, 60]);
    let t = 1000;
    const budget = new RestartBudget(undefined, undefined, () => t);
    for (let i = 0; i < 10; i++) {
      expect(budget.take()).toBe(true);
      t += 5; // one every 5 s: 10 within 45 s
    }
    expect(budget.used).toBe(10);
    expect(budget.take()).toBe(false); // t = 1050: all ten are within the last 60 s
    expect(budget.used).toBe(10);
    t = 1060; // the first (t=1000) is now 60 s old: out of the window
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    t = 1200; // a quiet stretch empties the window
    expect(budget.take()).toBe(true);
    expect(budget.used).toBe(1);
  });

  it('takes its limit and window as given', () => {
    let t = 0;
    const budget = new RestartBudget(2, 1, () => t);
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
    t = 1;
    expect(budget.take()).toBe(true);
  });
});
