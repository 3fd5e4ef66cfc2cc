/**
 * HTTP hello benchmark: a 12-byte response on keep-alive connections, spindle's
 * HTTPFactory with a CPS app against node:http, each server in its own child
 * process, autocannon as the client here. Rows: 50 connections, then the same
 * pipelined 16 deep. The servers are measured alternately (spindle, node,
 * spindle, node, ...) and each figure is the median of its runs. The note adds
 * each server's CPU time per request (from /proc), which holds up better than
 * req/s when the client and other load share the machine's cores. spindle runs
 * compiled by tsc, as installed users run it (bench/servers/dist.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cpuSeconds, type Benchmark, type BenchResult } from './harness.js';
import { buildDist, builtNote, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));

/** autocannon ships no types: the part used here. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  tlsOptions?: object;
}) => Promise<AutocannonResult>;
const autocannonModule = 'autocannon';
const autocannon = ((await import(autocannonModule)) as { default: Autocannon }).default;

/** Start a hello server (`extraEnv`: e.g. SPINDLE_BENCH_TLS for HTTPS) and wait for its port. */
export async function start(
  script: string,
  dist: string | null,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'servers', script)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...serverEnv(dist), ...extraEnv },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before printing its port`)));
  });
  return { child, port };
}

export interface Run {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
  /** Server CPU seconds (user + system) spent during the run, or NaN off Linux. */
  cpu: number;
}

/** One autocannon run of 50 connections (`scheme` https: over TLS, the certificate not checked). */
export async function measure(
  server: { child: ChildProcess; port: number },
  duration: number,
  pipelining: number,
  scheme: 'http' | 'https' = 'http',
): Promise<Run> {
  const cpu0 = cpuSeconds(server.child.pid!);
  const r = await autocannon({
    url: `${scheme}://127.0.0.1:${server.port}/`,
    connections: 50,
    duration,
    pipelining,
    ...(scheme === 'https' ? { tlsOptions: {} } : {}),
  });
  const cpu = cpuSeconds(server.child.pid!) - cpu0;
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx, requests: r.requests.total, cpu };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function summary(runs: Run[]) {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const cpu = runs.reduce((a, r) => a + r.cpu, 0);
  return {
    rps: median(runs.map((r) => r.rps)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    cpuUsPerReq: (cpu / requests) * 1e6,
  };
}

const bench: Benchmark = {
  title: 'HTTP hello: spindle HTTPFactory (CPS) vs node:http, 50 keep-alive connections',
  async run({ quick }) {
    const duration = quick ? 2 : 10;
    const rounds = quick ? 2 : 3;
    const dist = buildDist();
    const rows: BenchResult[] = [];
    const s = await start('spindle-hello.ts', dist);
    const n = await start('node-hello.ts', null);
    try {
      for (const pipelining of [1, 16]) {
        // Warm both servers (JIT) before measuring.
        await measure(s, 1, pipelining);
        await measure(n, 1, pipelining);
        const sr: Run[] = [];
        const nr: Run[] = [];
        // Alternate so that load from elsewhere on the machine hits both alike.
        for (let i = 0; i < rounds; i++) {
          sr.push(await measure(s, duration, pipelining));
          nr.push(await measure(n, duration, pipelining));
        }
        const sp = summary(sr);
        const nd = summary(nr);
        rows.push({
          name: pipelining === 1 ? '12-byte hello, 50 conns keep-alive' : '12-byte hello, 50 conns, pipelined 16',
          unit: 'req/s',
          spindle: sp.rps,
          baseline: nd.rps,
          baselineName: 'node:http',
          higherIsBetter: true,
          target: '>= 1.5x, p99 no worse',
          note: `p99 ${sp.p99} ms vs ${nd.p99} ms; server CPU ${sp.cpuUsPerReq.toFixed(1)} vs ${nd.cpuUsPerReq.toFixed(1)} us/req; median of ${rounds} alternating ${duration}s runs; errors ${sp.errors}/${nd.errors}; ${builtNote(dist)}`,
        });
      }
    } finally {
      s.child.kill();
      n.child.kill();
      removeDist(dist);
    }
    return rows;
  },
};

export default bench;
