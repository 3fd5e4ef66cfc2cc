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

const bench: Benchmark = {
  title: 'hello on a StringTransport: CPU per request of the CPS, gateway and bridge paths',
  async run({ quick }) {
    const dist = buildDist();
    try {
      const rounds = quick ? 7 : 21;
      const us = await child(dist, rounds, quick ? 100 : 200);
      const note = `CPU us/request (process.cpuUsage), median of ${rounds} alternating rounds of ${quick ? 100 : 200} batches of 100 pipelined requests; no socket; load ${loadAverage()}; ${builtNote(dist)}`;
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
    } finally {
      removeDist(dist);
    }
  },
};

export default bench;
