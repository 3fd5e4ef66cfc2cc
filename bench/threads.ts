/**
 * Threads as middleware, measured against the same work without threads:
 * (a) 1 GiB (quick: 128 MiB) streamed in 64 KiB chunks by a generator app on a
 *     worker thread (threadedIterApp) vs the same generator hosted in-process,
 *     each on spindle's HTTP server in a child process (this file, run with
 *     `serve MODE TOTAL`), read by a node:net client in this process;
 * (b) 10 000 sequential `deferToThread` calls of a trivial function on a warm
 *     pool vs 10 000 sequential awaited direct async calls (the cost of the
 *     thread hop itself), reported per call;
 * (c) the same 10 000 calls submitted at once to a pool of 2 (throughput);
 * (d) hello-world req/s through 4 worker threads vs in-process (autocannon):
 *     the cost of the per-request thread hops, measured with no target.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { cpuMs, download, interleavedMs, medianMs, type Benchmark, type BenchResult } from './harness.js';
import { ThreadPool } from '../src/reactor/threadpool.js';
import { THREAD_RING_SIZE } from '../src/bridge/threaded.js';
import type { Environ, StartResponse } from '../src/bridge/interfaces.js';

const self = fileURLToPath(import.meta.url);
const selfUrl = pathToFileURL(self).href;
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const chunk = new Uint8Array(CHUNK).fill(0x61);

/** The app both ways: QUERY_STRING bytes in 64 KiB chunks of one buffer, with Content-Length. */
export function* stream(environ: Environ, startResponse: StartResponse): Generator<Uint8Array> {
  const total = Number(environ.QUERY_STRING);
  startResponse('200 OK', [
    ['Content-Type', 'application/octet-stream'],
    ['Content-Length', String(total)],
  ]);
  for (let sent = 0; sent < total; sent += CHUNK) yield sent + CHUNK <= total ? chunk : chunk.subarray(0, total - sent);
}

export function hello(environ: Environ, startResponse: StartResponse): string[] {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['Hello, world!'];
}

export function add(a: number, b: number): number {
  return a + b;
}

async function addAsync(a: number, b: number): Promise<number> {
  return a + b;
}

// ---------------------------------------------------------------- server mode (child process)

if (isMainThread && process.argv[1] === self && process.argv[2] === 'serve') {
  const { NodeReactor } = await import('../src/reactor/nodereactor.js');
  const { serve } = await import('../src/bridge/serve.js');
  const { threadedIterApp } = await import('../src/bridge/threaded.js');
  const reactor = new NodeReactor();
  reactor.run();
  const name = process.argv[5] === 'hello' ? 'hello' : 'stream';
  const threads = name === 'hello' ? 4 : 1;
  const app =
    process.argv[3] === 'thread'
      ? threadedIterApp(selfUrl, name, { threads, reactor, ringSize: Number(process.argv[4]) })
      : name === 'hello'
        ? hello
        : stream;
  const port = await serve(app, { style: 'iter', port: 0, host: '127.0.0.1', reactor });
  process.stdout.write(`listening ${port.getHost().port}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------- client side

interface Server {
  proc: ChildProcess;
  port: number;
}

function startServer(
  mode: 'thread' | 'inline',
  app: 'stream' | 'hello' = 'stream',
  ringSize = THREAD_RING_SIZE,
): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', self, 'serve', mode, String(ringSize), app], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) =>
      reject(new Error(`threads bench server (${mode}) exited with ${code} before listening`)),
    );
  });
}

function stopServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) return resolve();
    s.proc.once('exit', () => resolve());
    s.proc.kill('SIGTERM');
  });
}

/** autocannon ships no types; the part used here. */
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<{ requests: { average: number } }>;

async function helloReqPerSec(port: number, seconds: number): Promise<number> {
  const name = 'autocannon';
  const autocannon = ((await import(name)) as { default: Autocannon }).default;
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 32, duration: seconds });
  return r.requests.average;
}

const bench: Benchmark = {
  title: 'threadedIterApp and deferToThread vs the same work in-process',
  async run({ quick }) {
    const rows: BenchResult[] = [];

    {
      const total = quick ? 128 * MiB : 1024 * MiB;
      const threaded = await startServer('thread');
      const inline = await startServer('inline');
      try {
        const ms = await interleavedMs(
          quick ? 2 : 3,
          () => download(threaded.port, total, `/?${total}`),
          () => download(inline.port, total, `/?${total}`),
        );
        const gbps = (t: number) => total / 1e9 / (t / 1000);
        rows.push({
          name: `${total / MiB} MiB in 64 KiB chunks from a generator app`,
          unit: 'GB/s',
          spindle: gbps(ms.spindle),
          baseline: gbps(ms.baseline),
          baselineName: 'same app in-process (toCpsApp)',
          higherIsBetter: true,
          target: '>= 0.5x and > 0.74 GB/s',
          note: `threadedIterApp, 1 worker, ${THREAD_RING_SIZE / 1024} KiB ring (THREAD_RING_SIZE); servers in child processes; median of interleaved runs`,
        });
      } finally {
        await stopServer(threaded);
        await stopServer(inline);
      }
    }

    {
      const threaded = await startServer('thread', 'hello');
      const inline = await startServer('inline', 'hello');
      try {
        const secs = quick ? 3 : 10;
        // Warm: four workers start and load the app (through tsx here), and each isolate's JIT
        // warms up; on a busy 2-core machine that took 2-3 s, and a 1 s warm-up left the
        // measured seconds at a few hundred req/s for either tree.
        await helloReqPerSec(threaded.port, quick ? 3 : 5);
        await helloReqPerSec(inline.port, 1);
        const a = await helloReqPerSec(threaded.port, secs);
        const b = await helloReqPerSec(inline.port, secs);
        rows.push({
          name: 'hello from an iterator app',
          unit: 'req/s',
          spindle: a,
          baseline: b,
          baselineName: 'same app in-process (toCpsApp)',
          higherIsBetter: true,
          note: `threadedIterApp, 4 workers; autocannon 32 connections ${secs}s; the per-request thread hops, measured (no target)`,
        });
      } finally {
        await stopServer(threaded);
        await stopServer(inline);
      }
    }

    {
      const n = 10_000;
      const pool = new ThreadPool(null, { size: 1 });
      await pool.deferToThread(selfUrl, 'add', 1, 1); // warm: the worker is up and the module loaded
      // By CPU time (both threads): the wall clock of a thread round trip is mostly waiting for the
      // other thread to be scheduled, 14-110 us per call between runs of the same code at load 13-16.
      const ms = await interleavedMs(
        5,
        async () => {
          for (let i = 0; i < n; i++) await pool.deferToThread(selfUrl, 'add', i, 1);
        },
        async () => {
          for (let i = 0; i < n; i++) await addAsync(i, 1);
        },
        cpuMs,
      );
      rows.push({
        name: `${n} sequential deferToThread(add) calls, per call`,
        unit: 'µs',
        spindle: (ms.spindle * 1000) / n,
        baseline: (ms.baseline * 1000) / n,
        baselineName: 'awaited direct async call',
        higherIsBetter: false,
        note: 'warm pool of 1; CPU time of the process (both threads) per thread round trip (postMessage both ways + Deferred), median of 5',
      });
      await pool.stop();

      const two = new ThreadPool(null, { size: 2, maxQueue: n });
      await Promise.all([two.deferToThread(selfUrl, 'add', 1, 1), two.deferToThread(selfUrl, 'add', 1, 1)]);
      const burst = await medianMs(
        5,
        () => Promise.all(Array.from({ length: n }, (_, i) => two.deferToThread(selfUrl, 'add', i, 1))),
        cpuMs,
      );
      const direct = await medianMs(5, () => Promise.all(Array.from({ length: n }, (_, i) => addAsync(i, 1))), cpuMs);
      rows.push({
        name: `${n} deferToThread(add) calls submitted at once, per call`,
        unit: 'µs',
        spindle: (burst * 1000) / n,
        baseline: (direct * 1000) / n,
        baselineName: 'Promise.all of direct async calls',
        higherIsBetter: false,
        note: 'warm pool of 2, maxQueue 10 000; CPU time of the process (all threads), median of 5',
      });
      await two.stop();
    }
    return rows;
  },
};

export default bench;
