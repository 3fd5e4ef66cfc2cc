/**
 * Deferred against native Promises, measured in the same run (interleaved).
 *
 * Method. "10 callbacks": spindle creates a Deferred, adds 10 callbacks, fires
 * it and reads the result (available synchronously: that is the contract). The
 * Promise baseline creates a Promise with its resolver, chains 10 `.then`,
 * resolves it and awaits the final promise, which is when its value is
 * available. A second row gives the Promise baseline its best case: all 100 000
 * chains are built and resolved first and awaited once with Promise.all, so no
 * await per chain is charged to it.
 * "nested": 100 000 Deferreds each waiting on the next (a callback returns the
 * next one) vs 100 000 Promises each resolved with the next (adoption).
 * "gather": gatherResults over 10 000 Deferreds vs Promise.all over 10 000.
 */
import { interleavedMs, type Benchmark, type BenchResult } from './harness.js';
import { Deferred } from '../src/reactor/deferred.js';
import { gatherResults } from '../src/reactor/deferredlist.js';

const inc = (x: number): number => x + 1;

function deferredChains(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = new Deferred<number>();
    for (let k = 0; k < 10; k++) d.addCallback(inc);
    d.callback(i);
    sum += d.result as number;
  }
  return sum;
}

async function promiseChainsAwaitEach(n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let resolve!: (v: number) => void;
    let p: Promise<number> = new Promise<number>((r) => (resolve = r));
    for (let k = 0; k < 10; k++) p = p.then(inc);
    resolve(i);
    sum += await p;
  }
  return sum;
}

async function promiseChainsBatched(n: number): Promise<number> {
  const finals: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let resolve!: (v: number) => void;
    let p: Promise<number> = new Promise<number>((r) => (resolve = r));
    for (let k = 0; k < 10; k++) p = p.then(inc);
    resolve(i);
    finals[i] = p;
  }
  const all = await Promise.all(finals);
  let sum = 0;
  for (const v of all) sum += v;
  return sum;
}

function deferredNested(n: number): unknown {
  const ds: Deferred<number>[] = new Array(n);
  for (let i = 0; i < n; i++) ds[i] = new Deferred<number>();
  for (let i = 0; i < n - 1; i++) {
    const next = ds[i + 1]!;
    ds[i]!.addCallback(() => next);
  }
  for (let i = 0; i < n; i++) ds[i]!.callback(i);
  return ds[0]!.result;
}

async function promiseNested(n: number): Promise<unknown> {
  const resolvers: Array<(v: number | Promise<number>) => void> = new Array(n);
  const ps: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = new Promise<number>((r) => (resolvers[i] = r));
  for (let i = 0; i < n - 1; i++) resolvers[i]!(ps[i + 1]!);
  resolvers[n - 1]!(n - 1);
  return ps[0];
}

function deferredGather(n: number): unknown {
  const ds: Deferred<number>[] = new Array(n);
  for (let i = 0; i < n; i++) ds[i] = new Deferred<number>();
  const all = gatherResults(ds);
  for (let i = 0; i < n; i++) ds[i]!.callback(i);
  return all.result;
}

async function promiseGather(n: number): Promise<unknown> {
  const resolvers: Array<(v: number) => void> = new Array(n);
  const ps: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = new Promise<number>((r) => (resolvers[i] = r));
  const all = Promise.all(ps);
  for (let i = 0; i < n; i++) resolvers[i]!(i);
  return await all;
}

const bench: Benchmark = {
  title: 'Deferred vs Promise',
  async run({ quick }) {
    const runs = quick ? 3 : 11;
    const N = 100_000;
    const rows: BenchResult[] = [];

    const each = await interleavedMs(
      runs,
      () => deferredChains(N),
      () => promiseChainsAwaitEach(N),
    );
    rows.push({
      name: 'new + 10 callbacks + fire, x 100 000',
      unit: 'ms',
      spindle: each.spindle,
      baseline: each.baseline,
      baselineName: 'Promise + 10 .then, await each',
      higherIsBetter: false,
      target: '>= 2x',
      note: `median of ${runs}; Deferred result read synchronously`,
    });

    const batched = await interleavedMs(
      runs,
      () => deferredChains(N),
      () => promiseChainsBatched(N),
    );
    rows.push({
      name: 'new + 10 callbacks + fire, x 100 000 (Promise best case)',
      unit: 'ms',
      spindle: batched.spindle,
      baseline: batched.baseline,
      baselineName: 'Promise + 10 .then, one Promise.all',
      higherIsBetter: false,
      target: '>= 2x',
      note: `median of ${runs}; promises awaited once in bulk`,
    });

    const nested = await interleavedMs(
      runs,
      () => deferredNested(N),
      () => promiseNested(N),
    );
    rows.push({
      name: '100 000-deep nested chain',
      unit: 'ms',
      spindle: nested.spindle,
      baseline: nested.baseline,
      baselineName: 'Promise resolved with the next',
      higherIsBetter: false,
      note: `median of ${runs}; build + fire + result`,
    });

    // One gather takes about a millisecond: time 20 per sample so GC pauses average out.
    const REPS = 20;
    const gather = await interleavedMs(
      runs,
      () => {
        for (let r = 0; r < REPS; r++) deferredGather(10_000);
      },
      async () => {
        for (let r = 0; r < REPS; r++) await promiseGather(10_000);
      },
    );
    rows.push({
      name: 'gatherResults over 10 000',
      unit: 'ms',
      spindle: gather.spindle / REPS,
      baseline: gather.baseline / REPS,
      baselineName: 'Promise.all over 10 000',
      higherIsBetter: false,
      note: `median of ${runs} samples of ${REPS}; build + fire all + result`,
    });
    return rows;
  },
};

export default bench;
