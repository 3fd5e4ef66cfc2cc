/**
 * The JS cost of one hello on each of spindle's paths, with no socket: the
 * HTTP server on a StringTransport, 100 keep-alive requests per batch
 * (bench/servers/hotpath-child.ts, spindle compiled by tsc), the three paths
 * timed in alternating rounds. Without system calls and the client, this is
 * the steady figure for a change to a hot path; the ratios are the gateway's
 * and the bridge's cost against the CPS app's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage } from './compare.js';
import type { Benchmark, BenchResult } from './harness.js';
import { buildDist, builtNote, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));

function child(dist: string | null, rounds: number, per: number): Promise<Record<string, number>> {
  const cmd = [
    process.execPath,
    '--import',
    'tsx',
    join(here, 'servers', 'hotpath-child.ts'),
    String(rounds),
    String(per),
  ];
  const argv = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0', ...cmd] : cmd;
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: serverEnv(dist) });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as Record<string, number>)
        : reject(new Error(`hotpath child exited with ${code}`)),
    );
  });
}

/** Median of a list. */
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `HOTPATH_BASE=REV` also builds spindle at git revision REV and alternates
 * child processes of the two builds (`HOTPATH_PROCS` each, default 5): a hot-path
 * change's before and after in one run, with the gateway's and the bridge's own
 * cost over the CPS app (path - CPS, per process) for each. With it,
 * `HOTPATH_HEAP=1` adds the bytes each path allocates per hello (V8's sampling
 * heap profiler), a figure that repeats within ~1% at any load.
 */
const bench: Benchmark = {
  title: 'hello on a StringTransport: CPU per request of the CPS, gateway and bridge paths',
  async run({ quick }) {
    const dist = buildDist();
    const baseRev = process.env.HOTPATH_BASE;
    const baseDist = baseRev === undefined ? null : buildDist(baseRev);
    if (baseRev !== undefined && baseDist === null) throw new Error(`hotpath: could not build HOTPATH_BASE=${baseRev}`);
    try {
      const per = quick ? 100 : 200;
      if (baseDist === null) {
        const rounds = quick ? 7 : 21;
        const us = await child(dist, rounds, per);
        const note = `CPU us/request (process.cpuUsage), median of ${rounds} alternating rounds of ${per} batches of 100 pipelined requests; no socket; load ${loadAverage()}; ${builtNote(dist)}`;
        const row = (name: string, k: string, target?: string): BenchResult => ({
          name,
          unit: 'us/req',
          spindle: us[k]!,
          baseline: us['cps']!,
          baselineName: 'the CPS app',
          higherIsBetter: false,
          ...(target ? { target } : {}),
          note,
        });
        return [
          row('hello, iterator app through the gateway', 'iter'),
          row('hello, toCpsApp(toIterApp(cpsApp))', 'bridge'),
          row('hello, the CPS app itself', 'cps'),
        ];
      }
      const procs = Number(process.env.HOTPATH_PROCS ?? 5);
      const rounds = quick ? 5 : 7;
      const runs: Record<'tree' | 'base', Record<string, number>[]> = { tree: [], base: [] };
      // Which build runs first alternates: with the tree always first, two identical builds came out
      // 0.93x apart on the gateway row (sixth session, load 13).
      for (let i = 0; i < procs; i++) {
        if (i % 2 === 0) runs.tree.push(await child(dist, rounds, per));
        runs.base.push(await child(baseDist, rounds, per));
        if (i % 2 === 1) runs.tree.push(await child(dist, rounds, per));
      }
      const stat = (side: 'tree' | 'base', f: (r: Record<string, number>) => number): number =>
        median(runs[side].map(f));
      const note = `CPU us/request (process.cpuUsage), median of ${procs} alternating processes per build, each the median of ${rounds} rounds of ${per} batches of 100 pipelined requests; no socket; load ${loadAverage()}; ${builtNote(dist)}`;
      const row = (name: string, f: (r: Record<string, number>) => number): BenchResult => ({
        name,
        unit: 'us/req',
        spindle: stat('tree', f),
        baseline: stat('base', f),
        baselineName: `[${baseRev}]`,
        higherIsBetter: false,
        note,
      });
      // HOTPATH_HEAP=1: bytes allocated per hello on each path, the tree's against REV's (sampling heap profiler).
      const heap = process.env.HOTPATH_HEAP === '1';
      const bytesRow = (k: 'cps' | 'iter' | 'bridge'): BenchResult => ({
        name: `bytes allocated per hello, ${k === 'cps' ? 'the CPS app' : k === 'iter' ? 'the gateway' : 'the bridge'}`,
        unit: 'B/req',
        spindle: stat('tree', (r) => r[`${k}Bytes`]!),
        baseline: stat('base', (r) => r[`${k}Bytes`]!),
        baselineName: `[${baseRev}]`,
        higherIsBetter: false,
        note: `V8 sampling heap profiler (128 B), 50 batches of 100 pipelined requests after the timing, median of ${procs} processes per build; ${builtNote(dist)}`,
      });
      return [
        row('hello, the CPS app itself', (r) => r['cps']!),
        row('hello, iterator app through the gateway', (r) => r['iter']!),
        row('hello, toCpsApp(toIterApp(cpsApp))', (r) => r['bridge']!),
        row("the gateway's own cost over the CPS app", (r) => r['iter']! - r['cps']!),
        row("the bridge's own cost over the CPS app", (r) => r['bridge']! - r['cps']!),
        ...(heap ? (['cps', 'iter', 'bridge'] as const).map((k) => bytesRow(k)) : []),
      ];
    } finally {
      removeDist(dist);
      removeDist(baseDist);
    }
  },
};

export default bench;
