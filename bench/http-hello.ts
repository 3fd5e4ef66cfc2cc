/**
 * HTTP hello benchmark: a 12-byte response on keep-alive connections, spindle's
 * HTTPFactory with a CPS app against node:http, each server in its own child
 * process, autocannon as the client here. Rows: 50 connections, then the same
 * pipelined 16 deep. The servers are measured alternately (spindle, node,
 * spindle, node) and each figure is the better of its two runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import autocannon from 'autocannon';
import type { Benchmark, BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

async function start(script: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'servers', script)], { stdio: ['ignore', 'pipe', 'inherit'] });
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

interface Run {
  rps: number;
  p99: number;
  errors: number;
}

async function measure(port: number, duration: number, pipelining: number): Promise<Run> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 50, duration, pipelining });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

const best = (a: Run, b: Run): Run => (a.rps >= b.rps ? a : b);

const bench: Benchmark = {
  title: 'HTTP hello: spindle HTTPFactory (CPS) vs node:http, 50 keep-alive connections',
  async run({ quick }) {
    const duration = quick ? 2 : 10;
    const s = await start('spindle-hello.ts');
    const n = await start('node-hello.ts');
    const rows: BenchResult[] = [];
    try {
      for (const pipelining of [1, 16]) {
        // Warm both servers (JIT) before measuring.
        await measure(s.port, 1, pipelining);
        await measure(n.port, 1, pipelining);
        let sp = await measure(s.port, duration, pipelining);
        let nd = await measure(n.port, duration, pipelining);
        sp = best(sp, await measure(s.port, duration, pipelining));
        nd = best(nd, await measure(n.port, duration, pipelining));
        rows.push({
          name: pipelining === 1 ? '12-byte hello, 50 conns keep-alive' : '12-byte hello, 50 conns, pipelined 16',
          unit: 'req/s',
          spindle: sp.rps,
          baseline: nd.rps,
          baselineName: 'node:http',
          higherIsBetter: true,
          target: '>= 1.5x, p99 no worse',
          note: `p99 ${sp.p99} ms vs ${nd.p99} ms; ${duration}s x2 each, best run; errors ${sp.errors}/${nd.errors}`,
        });
      }
    } finally {
      s.child.kill();
      n.child.kill();
    }
    return rows;
  },
};

export default bench;
