/**
 * NodeReactor's timers against Node's own, in the same run:
 * - 100 000 `callLater(0)` scheduled up front and run until the last one ran,
 *   against 100 000 `setTimeout(fn, 0)`;
 * - `reset()` of 100 000 pending calls, against `timeout.refresh()`;
 * - `cancel()` of 100 000 pending calls, against `clearTimeout()`.
 *
 * Each figure is the process's CPU time (`cpuMs`) of the fastest of 21 runs
 * (11 with --quick); the medians are in the note. By the wall clock these
 * few-millisecond rows moved by up to 10x between runs of the same code on a
 * loaded machine. By CPU time the medians still jumped about 3x (reset 6 or 18 ms,
 * callLater(0) 3 or 8 ms, on identical code): a scavenge lands inside the timed
 * loop or not, and it copies the 100 000 calls and timers the run just made.
 * The fastest run is the one no scavenge hit; it repeats within a few percent
 * (BENCHMARKS.md, "Reactor time").
 */
import { cpuMs, interleavedMs, type Benchmark, type BenchResult } from './harness.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IDelayedCall } from '../src/reactor/interfaces.js';

const N = 100_000;
const FAR = 3600;

function runCallLaters(reactor: NodeReactor): Promise<void> {
  return new Promise((resolve) => {
    let left = N;
    const fn = () => {
      if (--left === 0) resolve();
    };
    for (let i = 0; i < N; i++) reactor.callLater(0, fn);
  });
}

function runSetTimeouts(): Promise<void> {
  return new Promise((resolve) => {
    let left = N;
    const fn = () => {
      if (--left === 0) resolve();
    };
    for (let i = 0; i < N; i++) setTimeout(fn, 0);
  });
}

function elapsedMs(fn: () => void): number {
  const t0 = cpuMs();
  fn();
  return cpuMs() - t0;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The row's figures: the fastest runs, and a note with the medians. */
function fastest(
  r: { spindle: number; baseline: number; fastest: { spindle: number; baseline: number } },
  how: string,
): { spindle: number; baseline: number; note: string } {
  return {
    ...r.fastest,
    note: `CPU time, fastest of ${how} (medians ${r.spindle.toFixed(2)} / ${r.baseline.toFixed(2)} ms)`,
  };
}

/**
 * Time `op` on N pending calls and on N pending Node timers, alternately; the
 * calls and timers are made (and cleaned up) outside the timing.
 */
function pendingOps(
  runs: number,
  spindleOp: (c: IDelayedCall) => void,
  nodeOp: (t: NodeJS.Timeout) => void,
): { spindle: number; baseline: number; fastest: { spindle: number; baseline: number } } {
  const reactor = new NodeReactor();
  const noop = () => {};
  const a: number[] = [];
  const b: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const calls = Array.from({ length: N }, () => reactor.callLater(FAR, noop));
    const timers = Array.from({ length: N }, () => setTimeout(noop, FAR * 1000).unref());
    const ta = elapsedMs(() => {
      for (let i = 0; i < N; i++) spindleOp(calls[i]!);
    });
    const tb = elapsedMs(() => {
      for (let i = 0; i < N; i++) nodeOp(timers[i]!);
    });
    if (run > 0) {
      // run 0 is the warm-up
      a.push(ta);
      b.push(tb);
    }
    for (const c of calls) if (c.active()) c.cancel();
    for (const t of timers) clearTimeout(t);
  }
  return {
    spindle: median([...a]),
    baseline: median([...b]),
    fastest: { spindle: Math.min(...a), baseline: Math.min(...b) },
  };
}

const bench: Benchmark = {
  title: 'NodeReactor callLater / reset / cancel vs Node timers',
  async run({ quick }) {
    const runs = quick ? 11 : 21;
    const reactor = new NodeReactor();
    // Running: its timer keeps the process alive while the calls are pending.
    reactor.run();
    const fire = await interleavedMs(runs, () => runCallLaters(reactor), runSetTimeouts, cpuMs);
    reactor.stop();
    const results: BenchResult[] = [
      {
        name: `callLater(0) x ${N} scheduled then run`,
        unit: 'ms',
        ...fastest(fire, `${runs}, interleaved`),
        baselineName: 'setTimeout(fn, 0)',
        higherIsBetter: false,
        target: '>= 1.5x',
      },
    ];
    const reset = pendingOps(
      runs,
      (c) => c.reset(FAR),
      (t) => t.refresh(),
    );
    results.push({
      name: `reset() x ${N} pending calls`,
      unit: 'ms',
      ...fastest(reset, `${runs}, alternating`),
      baselineName: 'timeout.refresh()',
      higherIsBetter: false,
    });
    const cancel = pendingOps(
      runs,
      (c) => c.cancel(),
      (t) => clearTimeout(t),
    );
    results.push({
      name: `cancel() x ${N} pending calls`,
      unit: 'ms',
      ...fastest(cancel, `${runs}, alternating`),
      baselineName: 'clearTimeout()',
      higherIsBetter: false,
    });
    return results;
  },
};

export default bench;
