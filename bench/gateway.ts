/**
 * The iterator-app gateway against node:http, each server in its own child
 * process (bench/servers/gateway-*.ts), the client in this process:
 * (a) hello from an iterator app, autocannon req/s;
 * (b) 1 GiB (quick: 128 MiB) from a generator in 64 KiB chunks, read by a
 *     node:net client, vs `pipeline(Readable.from(gen), res)`;
 * (c) a slow client reading 100 KiB/s from an infinite generator of fresh
 *     chunks for 15 s (quick: 3 s): the server's RSS growth, vs node's pipeline.
 * spindle runs compiled by tsc, as installed users run it (bench/servers/dist.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, download, interleavedMs, type Benchmark, type BenchResult } from './harness.js';
import { buildDist, builtNote, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
/** The tsc build of src/ the spindle servers load, while the bench runs. */
let dist: string | null = null;

export interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Start a bench server and wait for its `listening PORT` line. */
export function startServer(
  kind: 'spindle' | 'node',
  mode: string,
  total = 0,
  build: string | null = dist,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'servers', `gateway-${kind}.ts`), mode, String(total)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...serverEnv(kind === 'spindle' ? build : null), ...extraEnv },
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        resolve({
          proc,
          port: Number(m[1]),
          stop: () =>
            new Promise((r) => (proc.exitCode !== null ? r() : (proc.once('exit', () => r()), proc.kill('SIGKILL')))),
        });
      }
    });
    proc.once('exit', (code) => reject(new Error(`bench server ${kind}/${mode} exited with ${code} before listening`)));
  });
}

/** Resident set size of a process in bytes (Linux /proc). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function helloReqPerSec(port: number, seconds: number): Promise<number> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 32, duration: seconds });
  return r.requests.average;
}

/** Read `rate` bytes/s from an endless response for `seconds`; returns the server's RSS growth in bytes. */
async function slowClient(server: Child, rate: number, seconds: number): Promise<number> {
  const s = connect({ port: server.port, host: '127.0.0.1' });
  s.pause();
  await new Promise((r) => s.once('connect', r));
  s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
  await new Promise((r) => s.once('readable', r));
  // Let the pipes fill (socket buffers, high-water marks) before the baseline sample.
  await new Promise((r) => setTimeout(r, 300));
  const start = rss(server.proc.pid!);
  let peak = start;
  const tick = 100;
  const perTick = Math.round((rate * tick) / 1000);
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, tick));
    s.read(Math.min(perTick, s.readableLength) || undefined);
    peak = Math.max(peak, rss(server.proc.pid!));
  }
  s.destroy();
  return peak - start;
}

const MiB = 1024 * 1024;
/** RSS moves in pages: a growth below one page is reported as one page, so the ratio stays finite. */
const PAGE = 4096;
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** autocannon ships no types; the part used here. */
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<{ requests: { average: number } }>;
const autocannonModule = 'autocannon';
const autocannon = ((await import(autocannonModule)) as { default: Autocannon }).default;

const bench: Benchmark = {
  title: 'iterator-app gateway vs node:http',
  async run(options) {
    dist = buildDist();
    try {
      return await measure(options.quick, builtNote(dist));
    } finally {
      removeDist(dist);
      dist = null;
    }
  },
};

async function measure(quick: boolean, built: string): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];

  // (a) hello
  {
    const sp = await startServer('spindle', 'hello');
    const nd = await startServer('node', 'hello');
    // Short alternating slices, medians: load from other processes hits both alike.
    const secs = quick ? 2 : 3;
    const rounds = quick ? 3 : 7;
    await helloReqPerSec(sp.port, 1);
    await helloReqPerSec(nd.port, 1);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await helloReqPerSec(sp.port, secs));
      b.push(await helloReqPerSec(nd.port, secs));
    }
    await sp.stop();
    await nd.stop();
    rows.push({
      name: 'hello from an iterator app',
      unit: 'req/s',
      spindle: median(a),
      baseline: median(b),
      baselineName: 'node:http',
      higherIsBetter: true,
      target: '>= 1.3x',
      note: `autocannon 32 connections, median of ${rounds} alternating ${secs}s slices, servers in child processes, ${built}`,
    });
  }

  // (b) stream
  {
    const total = quick ? 128 * MiB : 1024 * MiB;
    const sp = await startServer('spindle', 'stream', total);
    const nd = await startServer('node', 'stream', total);
    const runs = quick ? 3 : 5;
    const cpu0 = [cpuSeconds(sp.proc.pid!), cpuSeconds(nd.proc.pid!)];
    const ms = await interleavedMs(
      runs,
      () => download(sp.port, total),
      () => download(nd.port, total),
    );
    // CPU per GiB over every download (the warm-up one too): steadier than wall clock on a shared machine.
    const gib = ((runs + 1) * total) / (1024 * MiB);
    const cpuPerGiB = [cpuSeconds(sp.proc.pid!) - cpu0[0]!, cpuSeconds(nd.proc.pid!) - cpu0[1]!].map((c) => c / gib);
    await sp.stop();
    await nd.stop();
    const mbps = (t: number) => total / MiB / (t / 1000);
    rows.push({
      name: `${total / MiB} MiB from a generator in 64 KiB chunks`,
      unit: 'MiB/s',
      spindle: mbps(ms.spindle),
      baseline: mbps(ms.baseline),
      baselineName: 'node:http pipeline(Readable.from(gen), res)',
      higherIsBetter: true,
      target: '>= 0.95x',
      note: `median of ${runs} interleaved runs, node:net client counting bytes; server CPU ${cpuPerGiB[0]!.toFixed(2)} vs ${cpuPerGiB[1]!.toFixed(2)} s/GiB; ${built}`,
    });
  }

  // (c) slow client
  {
    const secs = quick ? 3 : 15;
    const sp = await startServer('spindle', 'infinite');
    const growthSpindle = await slowClient(sp, 100 * 1024, secs);
    await sp.stop();
    const nd = await startServer('node', 'infinite');
    const growthNode = await slowClient(nd, 100 * 1024, secs);
    await nd.stop();
    rows.push({
      name: `slow client 100 KiB/s for ${secs}s, infinite generator of fresh 64 KiB chunks`,
      unit: 'MiB RSS growth',
      spindle: Math.max(growthSpindle, PAGE) / MiB,
      baseline: Math.max(growthNode, PAGE) / MiB,
      baselineName: 'node:http pipeline',
      higherIsBetter: false,
      target: 'spindle <= 8 MiB',
      note: 'server RSS peak minus RSS once the pipes were full (floored at one 4 KiB page)',
    });
  }
  return rows;
}

export default bench;
