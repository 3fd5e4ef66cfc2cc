/**
 * HTTP client benchmark: keep-alive GETs of a 12-byte body from a node:http
 * server (bench/servers/node-hello.ts), through 1 pooled connection and
 * through 50, by spindle's Agent, node:http's keep-alive Agent and undici's
 * request(), each client in its own child process (bench/servers/http-client-runner.ts),
 * run alternately; figures are medians. spindle runs compiled by tsc.
 * Then proxy throughput: a large download through spindle's reverseProxy
 * against the same download straight from the upstream (node:http), and against
 * a node:http proxy (request().pipe()) that adds the same hop. Each proxy's own
 * CPU per GiB (from /proc) is in the notes: on a shared machine it is steadier
 * than the GB/s. `PROXY_BASE_DIST=DIR` (a build of another commit, as
 * bench/servers/dist.ts makes) adds that build's proxy to the same alternation,
 * for a before/after pair in one run.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cpuSeconds, download, interleavedMs, type Benchmark, type BenchResult } from './harness.js';
import { start } from './http-hello.js';
import { buildDist, builtNote, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));

interface ClientRun {
  requests: number;
  seconds: number;
  cpu: number;
}

function runClient(
  client: string,
  port: number,
  conns: number,
  seconds: number,
  dist: string | null,
): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'servers', 'http-client-runner.ts'),
        client,
        String(port),
        String(conns),
        String(seconds),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: serverEnv(dist),
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as ClientRun) : reject(new Error(`${client} client exited with ${code}`)),
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bench: Benchmark = {
  title: 'HTTP client: spindle Agent vs node:http Agent and undici, keep-alive; reverseProxy vs direct download',
  async run({ quick }) {
    const seconds = quick ? 1 : 4;
    const rounds = quick ? 1 : 3;
    const dist = buildDist();
    const rows: BenchResult[] = [];
    const target = await start('node-hello.ts', null);
    try {
      for (const conns of [1, 50]) {
        const runs: Record<string, ClientRun[]> = { spindle: [], node: [], undici: [] };
        for (let i = 0; i < rounds; i++)
          for (const c of Object.keys(runs)) runs[c]!.push(await runClient(c, target.port, conns, seconds, dist));
        const rps = (c: string) => median(runs[c]!.map((r) => r.requests / r.seconds));
        const cpuUs = (c: string) => median(runs[c]!.map((r) => (r.cpu / r.requests) * 1e6));
        rows.push({
          name: `keep-alive GET, 12-byte body, ${conns} pooled connection${conns > 1 ? 's' : ''}`,
          unit: 'req/s',
          spindle: rps('spindle'),
          baseline: rps('node'),
          baselineName: 'node:http keep-alive Agent',
          higherIsBetter: true,
          target: '>= 1.0x',
          note: `undici request(): ${rps('undici').toFixed(0)} req/s (spindle/undici ${(rps('spindle') / rps('undici')).toFixed(2)}x); client CPU ${cpuUs('spindle').toFixed(1)} / ${cpuUs('node').toFixed(1)} / ${cpuUs('undici').toFixed(1)} us/req (spindle/node/undici); median of ${rounds} alternating ${seconds}s runs; ${builtNote(dist)}`,
        });
      }
    } finally {
      target.child.kill();
    }
    const total = quick ? 64 * 1024 * 1024 : 512 * 1024 * 1024;
    const upstream = await start('proxy-upstream.ts', null);
    const proxy = await startWithArg('proxy-spindle.ts', dist, String(upstream.port));
    const nodeProxy = await startWithArg('proxy-node.ts', null, String(upstream.port));
    const baseDist = process.env.PROXY_BASE_DIST;
    const baseProxy = baseDist ? await startWithArg('proxy-spindle.ts', baseDist, String(upstream.port)) : null;
    try {
      const path = `/bytes/${total}`;
      const runs = quick ? 1 : 5;
      /** Download through `port`, adding the proxy process's CPU seconds to `cpu`. */
      const through = (p: { child: ReturnType<typeof spawn>; port: number }, cpu: number[]) => async () => {
        const c0 = cpuSeconds(p.child.pid!);
        await download(p.port, total, path);
        cpu.push(cpuSeconds(p.child.pid!) - c0);
      };
      const perGiB = (cpu: number[]) => (median(cpu) / total) * 1024 ** 3;
      const spindleCpu: number[] = [];
      const t = await interleavedMs(runs, through(proxy, spindleCpu), () => download(upstream.port, total, path));
      const gbps = (ms: number) => total / 1e9 / (ms / 1000);
      rows.push({
        name: `${total / 1024 / 1024} MiB download through reverseProxy vs direct`,
        unit: 'GB/s',
        spindle: gbps(t.spindle),
        baseline: gbps(t.baseline),
        baselineName: 'direct from the node:http upstream',
        higherIsBetter: true,
        target: '>= 0.8x',
        note: `one connection each; proxy CPU ${perGiB(spindleCpu).toFixed(2)} s/GiB; median of ${runs} alternating runs; ${builtNote(dist)}`,
      });
      const nodeCpu: number[] = [];
      const n = await interleavedMs(runs, through(proxy, spindleCpu), through(nodeProxy, nodeCpu));
      rows.push({
        name: `${total / 1024 / 1024} MiB download through reverseProxy vs through a node:http proxy`,
        unit: 'GB/s',
        spindle: gbps(n.spindle),
        baseline: gbps(n.baseline),
        baselineName: 'node:http request().pipe() proxy (bench/servers/proxy-node.ts)',
        higherIsBetter: true,
        note: `the same extra hop both ways; proxy CPU ${perGiB(spindleCpu).toFixed(2)} / ${perGiB(nodeCpu).toFixed(2)} s/GiB (spindle/node); median of ${runs} alternating runs`,
      });
      if (baseProxy) {
        const baseCpu: number[] = [];
        const b = await interleavedMs(runs, through(proxy, spindleCpu), through(baseProxy, baseCpu));
        rows.push({
          name: `${total / 1024 / 1024} MiB download through reverseProxy, this build vs PROXY_BASE_DIST`,
          unit: 'GB/s',
          spindle: gbps(b.spindle),
          baseline: gbps(b.baseline),
          baselineName: `reverseProxy built at ${baseDist}`,
          higherIsBetter: true,
          note: `proxy CPU ${perGiB(spindleCpu).toFixed(2)} / ${perGiB(baseCpu).toFixed(2)} s/GiB (this / base); median of ${runs} alternating runs`,
        });
      }
    } finally {
      baseProxy?.child.kill();
      nodeProxy.child.kill();
      proxy.child.kill();
      upstream.child.kill();
      removeDist(dist);
    }
    return rows;
  },
};

/** Start a bench server with one argument (the proxy's upstream port). */
function startWithArg(script: string, dist: string | null, arg: string) {
  return new Promise<{ child: ReturnType<typeof spawn>; port: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'servers', script), arg], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: serverEnv(dist),
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

export default bench;
