/**
 * The timer heap against a plain model (a list sorted on demand), through
 * random sequences of schedule / cancel / reset / delay / advance. The heap's
 * lazy cancellation, lazy reset and compaction must never change what runs or
 * in which order.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Clock } from '../src/reactor/clock.js';
import { HEAP_COMPACT_MIN } from '../src/reactor/delayedcall.js';
import type { IDelayedCall } from '../src/reactor/interfaces.js';

type Op =
  | { kind: 'schedule'; delay: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'reset'; pick: number; s: number }
  | { kind: 'delay'; pick: number; s: number }
  | { kind: 'advance'; s: number };

// Small integer times make ties (same due time) common.
const seconds = fc.integer({ min: 0, max: 6 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: seconds.map((delay) => ({ kind: 'schedule' as const, delay })) },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ kind: 'cancel' as const, pick })) },
  { weight: 2, arbitrary: fc.record({ pick: fc.nat(), s: seconds }).map((r) => ({ kind: 'reset' as const, ...r })) },
  { weight: 1, arbitrary: fc.record({ pick: fc.nat(), s: seconds }).map((r) => ({ kind: 'delay' as const, ...r })) },
  { weight: 2, arbitrary: seconds.map((s) => ({ kind: 'advance' as const, s })) },
);

interface ModelCall {
  id: number;
  time: number;
  order: number;
  live: boolean;
}

function runBoth(ops: Op[]): { real: number[]; model: number[] } {
  const clock = new Clock();
  const real: number[] = [];
  const model: number[] = [];
  const calls: IDelayedCall[] = [];
  const mcalls: ModelCall[] = [];
  let now = 0;
  let order = 0;
  const liveIndex = (pick: number) => {
    const live = mcalls.filter((m) => m.live);
    return live.length === 0 ? undefined : live[pick % live.length]!.id;
  };
  for (const o of ops) {
    if (o.kind === 'schedule') {
      const id = calls.length;
      calls.push(clock.callLater(o.delay, () => real.push(id)));
      mcalls.push({ id, time: now + o.delay, order: order++, live: true });
    } else if (o.kind === 'advance') {
      now += o.s;
      clock.advance(o.s);
      const due = mcalls.filter((m) => m.live && m.time <= now).sort((a, b) => a.time - b.time || a.order - b.order);
      for (const m of due) {
        m.live = false;
        model.push(m.id);
      }
    } else {
      const id = liveIndex(o.pick);
      if (id === undefined) continue;
      const m = mcalls[id]!;
      if (o.kind === 'cancel') {
        calls[id]!.cancel();
        m.live = false;
      } else {
        if (o.kind === 'reset') calls[id]!.reset(o.s);
        else calls[id]!.delay(o.s);
        m.time = o.kind === 'reset' ? now + o.s : m.time + o.s;
        m.order = order++;
      }
    }
    expect(clock.getDelayedCalls().length).toBe(mcalls.filter((m) => m.live).length);
  }
  return { real, model };
}

describe('timer heap', () => {
  it('runs exactly what a sorted list would, in the same order', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400, size: 'large' }), (ops) => {
        const { real, model } = runBoth(ops);
        expect(real).toEqual(model);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps order through a compaction of many cancelled calls', () => {
    const clock = new Clock();
    const ran: number[] = [];
    const n = HEAP_COMPACT_MIN * 4;
    const calls = Array.from({ length: n }, (_, i) => clock.callLater(n - i, () => ran.push(i)));
    for (let i = 0; i < n; i++) if (i % 4 !== 0) calls[i]!.cancel();
    calls[4]!.reset(0.5);
    expect(clock.getDelayedCalls()).toHaveLength(n / 4);
    clock.advance(n);
    const expected = [4, ...Array.from({ length: n / 4 }, (_, k) => n - 4 - 4 * k).filter((i) => i !== 4)];
    expect(ran).toEqual(expected);
  });

  it('a call cancelled and one reset many times leave one entry in getDelayedCalls', () => {
    const clock = new Clock();
    const kept = clock.callLater(1, () => {});
    for (let i = 0; i < 1000; i++) kept.reset(1 + i);
    for (let i = 0; i < 1000; i++) clock.callLater(1, () => {}).cancel();
    expect(clock.getDelayedCalls()).toEqual([kept]);
    expect(kept.getTime()).toBe(1000);
  });
});
