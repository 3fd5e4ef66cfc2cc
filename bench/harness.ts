/**
 * The benchmark harness. Each benchmark module in bench/ (every file but this
 * one and run.ts) default-exports a `Benchmark`: it measures spindle and its
 * baseline in the same process run, so the ratio holds up on a noisy machine.
 */
import { Buffer } from 'node:buffer';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface BenchResult {
  /** What was measured, e.g. 'callLater(0) x 100 000'. */
  name: string;
  /** Unit of the two figures, e.g. 'ops/s', 'req/s', 'GB/s', 'ms', 'MiB'. */
  unit: string;
  spindle: number;
  baseline: number;
  /** What the baseline is, e.g. 'setTimeout', 'node:http', 'Promise.then'. */
  baselineName: string;
  /** True when a larger figure is better (throughput); false for times and memory. */
  higherIsBetter: boolean;
  /** The target in words, e.g. '>= 1.5x'. */
  target?: string;
  /** Anything a reader needs to interpret the row (p99, runs, sizes). */
  note?: string;
  /** Further figures of the spindle side, kept in saved runs (e.g. p99Ms, cpuUsPerReq) for plots and --compare. */
  extra?: Record<string, number>;
}

export interface BenchOptions {
  /** Short runs for a smoke check (`npm run bench -- --quick`). */
  quick: boolean;
}

export interface Benchmark {
  title: string;
  run(options: BenchOptions): Promise<BenchResult[]>;
}

/** spindle's advantage as a factor: >1 means spindle did better than the baseline. */
export function ratio(r: BenchResult): number {
  return r.higherIsBetter ? r.spindle / r.baseline : r.baseline / r.spindle;
}

/** A clock in milliseconds: `wallMs` (the default) or `cpuMs`. */
export type MsClock = () => number;

/** The wall clock, in milliseconds. */
export const wallMs: MsClock = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * The CPU time this process has used (user + system, all its threads), in
 * milliseconds. Unlike the wall clock it does not count the time other
 * processes hold the core: on a loaded machine a loop of a few milliseconds
 * measured by the wall clock moved 10x between runs (reset() x 100 000:
 * 9-316 ms in one run of 21 at load 17), by CPU time 5.1-5.8 ms (median 5.6-5.8 in three runs).
 * Time spent waiting (a 1 ms timer, another thread) is not counted.
 */
export const cpuMs: MsClock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Time `fn` `runs` times after one warm-up and return the median in milliseconds (by `clock`, the wall clock by default). */
export async function medianMs(
  runs: number,
  fn: () => unknown | Promise<unknown>,
  clock: MsClock = wallMs,
): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = clock();
    await fn();
    times.push(clock() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Run spindle's and the baseline's measurement alternately (ABAB...) so that
 * machine noise hits both alike; returns the medians in milliseconds (by
 * `clock`, the wall clock by default), and the fastest runs.
 */
export async function interleavedMs(
  runs: number,
  spindle: () => unknown | Promise<unknown>,
  baseline: () => unknown | Promise<unknown>,
  clock: MsClock = wallMs,
): Promise<{ spindle: number; baseline: number; fastest: { spindle: number; baseline: number } }> {
  await spindle();
  await baseline();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = clock();
    await spindle();
    a.push(clock() - t0);
    t0 = clock();
    await baseline();
    b.push(clock() - t0);
  }
  const med = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { spindle: med(a), baseline: med(b), fastest: { spindle: Math.min(...a), baseline: Math.min(...b) } };
}

/**
 * GET `path` from 127.0.0.1:`port` over a raw socket and resolve once `total`
 * body bytes have arrived (the streaming benchmarks' client: it counts bytes and
 * keeps none, so it costs the same against every server).
 */
export function download(port: number, total: number, path = '/', tls = false): Promise<void> {
  return new Promise((resolve, reject) => {
    // Over TLS (bench/https.ts) the client trusts anything: it measures, it does not check.
    const socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : connect({ port, host: '127.0.0.1', noDelay: true });
    let head: Buffer | null = Buffer.alloc(0);
    let body = 0;
    socket.on(tls ? 'secureConnect' : 'connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      if (head !== null) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        body = head.length - end - 4;
        head = null;
      } else body += d.length;
      if (body >= total) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
  });
}

/** utime + stime of a process in seconds (Linux /proc); NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * Counts `\r\n\r\n` (the end of an HTTP head) across chunks: the bare node:net
 * responder counts requests with it, the pipelining client responses.
 */
export class HeadEndCounter {
  private matched = 0;
  /** Head ends completed in `d`. */
  feed(d: Uint8Array): number {
    let n = 0;
    let m = this.matched;
    for (let i = 0; i < d.length; i++) {
      if (d[i] === (m === 0 || m === 2 ? 13 : 10)) m++;
      else m = d[i] === 13 ? 1 : 0;
      if (m === 4) {
        n++;
        m = 0;
      }
    }
    this.matched = m;
    return n;
  }
}

/** The port a bench server process prints as `listening PORT` on its stdout; fails if it exits first. */
export function listeningPort(proc: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`${what} exited with ${code} before listening`)));
  });
}

/** The process's resident memory from /proc: total, anonymous (heap, malloc, buffers) and file-backed (code). */
export function processMemory(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { rss: kB('VmRSS'), anon: kB('RssAnon'), file: kB('RssFile') };
}

export interface Peak {
  peak: number;
  /** RssAnon and RssFile in the sample that was the peak. */
  anon: number;
  file: number;
  /** RSS in the last sample, after `fn` settled. */
  end: number;
  seconds: number;
}

/** Run `fn` while sampling process `pid`'s RSS every 50 ms; returns the peak. */
export async function peakDuring(pid: number, fn: () => Promise<void>): Promise<Peak> {
  let top = processMemory(pid);
  const sample = (): void => {
    const m = processMemory(pid);
    if (m.rss > top.rss) top = m;
  };
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  const last = processMemory(pid);
  if (last.rss > top.rss) top = last;
  return { peak: top.rss, anon: top.anon, file: top.file, end: last.rss, seconds: (performance.now() - t0) / 1000 };
}
