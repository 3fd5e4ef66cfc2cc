/**
 * The soak's load steps, against the demo served by the CLI in a child
 * process (`node --import tsx src/cli.ts serve examples/demo/app.ts:app`):
 * autocannon at a fixed number of connections with the child's RSS sampled
 * from /proc, and SIGTERM in the middle of a load run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { completeResponses, rawClient, until } from '../../test/reliability/helpers.js';
import type { Row } from './steps.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** RSS (median of the run's last quarter against its first) may grow at most this fraction once warmed up. */
export const RSS_GROWTH_BOUND = 0.1;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (o: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;
const autocannonName = 'autocannon';
const autocannon = ((await import(autocannonName)) as { default: Autocannon }).default;

interface Demo {
  proc: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  stderr: () => string;
}

async function startDemo(): Promise<Demo> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'serve', 'examples/demo/app.ts:app', '--style', 'cps', '--port', '0'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    proc.once('exit', (code, signal) => r({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`demo exited before listening: ${err}`)));
  });
  return { proc, port, exited, stderr: () => err };
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** `seconds` of autocannon at `path` after a warm-up; RSS sampled twice a second during the measured run. */
export async function load(path: string, seconds: number, connections = 50): Promise<Row> {
  const demo = await startDemo();
  try {
    const url = `http://127.0.0.1:${demo.port}${path}`;
    await autocannon({ url, connections, duration: Math.max(2, Math.round(seconds / 6)) }); // warm-up
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssKiB(demo.proc.pid!)), 500);
    samples.push(rssKiB(demo.proc.pid!));
    const r = await autocannon({ url, connections, duration: seconds });
    clearInterval(sampler);
    samples.push(rssKiB(demo.proc.pid!));
    // The heap breathes with GC: compare the run's last quarter with its first
    // (medians), which a leak raises and a GC sawtooth does not; report the peak too.
    const q = Math.max(1, Math.floor(samples.length / 4));
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const first = median(samples.slice(0, q));
    const last = median(samples.slice(-q));
    const growth = (last - first) / first;
    const peak = (Math.max(...samples) - first) / first;
    const failures = r.errors + r.timeouts + r.non2xx;
    return {
      step: `load ${path} (demo, CLI child)`,
      load: `${connections} conns x ${seconds} s`,
      faults: 0,
      leaks: failures + (growth > RSS_GROWTH_BOUND ? 1 : 0),
      figure: `${r.requests.total} requests, ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms; errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}; RSS first quarter ${(first / 1024).toFixed(1)} -> last quarter ${(last / 1024).toFixed(1)} MiB (${(growth * 100).toFixed(1)}%, bound ${RSS_GROWTH_BOUND * 100}%), peak +${(peak * 100).toFixed(1)}%`,
    };
  } finally {
    if (demo.proc.exitCode === null) demo.proc.kill('SIGKILL');
  }
}

/**
 * SIGTERM while autocannon runs (for `loadSeconds`, past the CLI's grace when
 * it is long) and `inflight` requests are mid-response; `keepers` keep-alive
 * clients send their next request as soon as each response ends, so they
 * show whether requests arriving after the signal on open connections are
 * refused (answered with `Connection: close`, or not read) or served.
 */
export async function shutdownUnderLoad(inflight: number, loadSeconds = 4, keepers = 10): Promise<Row> {
  const demo = await startDemo();
  const url = `http://127.0.0.1:${demo.port}/cps`;
  const run = autocannon({ url, connections: 50, duration: loadSeconds });
  await new Promise((r) => setTimeout(r, 1500));
  // Signal delivery is asynchronous, so the parent's clock cannot say which requests came after the
  // child saw it: per connection, the promise is 2xx* then (503 + close | close), never a 2xx after a 503.
  let servedAfter503 = 0;
  let refusedAfter = 0;
  let cutKeepers = 0;
  const keep = Array.from({ length: keepers }, async () => {
    const c = rawClient(demo.port);
    let n = 0;
    let refusedHere = false;
    c.write('GET /iter HTTP/1.1\r\nHost: x\r\n\r\n');
    c.sock.on('data', () => {
      const rs = completeResponses(c.text());
      while (n < rs.length) {
        n++;
        if (refusedHere && rs[n - 1]!.status < 300) servedAfter503++;
        if (rs[n - 1]!.status === 503) {
          refusedAfter++;
          refusedHere = true;
        }
        if (!/close/i.test(rs[n - 1]!.headers.connection ?? '')) c.write('GET /iter HTTP/1.1\r\nHost: x\r\n\r\n');
      }
    });
    await c.closed;
    if (!c.text().endsWith('\r\n') && completeResponses(c.text()).length === 0) cutKeepers++;
  });
  const clients = Array.from({ length: inflight }, () => rawClient(demo.port));
  clients.forEach((c) => c.write('GET /cps HTTP/1.1\r\nHost: x\r\n\r\n'));
  // In flight: the demo's CPS app writes its first lines, then waits 50 ms on a Deferred.
  await until(
    () => clients.every((c) => c.text().includes('Hello from a CPS app')),
    'in-flight responses to start',
    10_000,
  );
  const t0 = performance.now();
  demo.proc.kill('SIGTERM');
  const exit = await demo.exited;
  const exitMs = performance.now() - t0;
  const r = await run;
  await Promise.all(clients.map((c) => c.closed));
  await Promise.all(keep);
  const whole = clients.filter((c) => /The Deferred fired/.test(completeResponses(c.text())[0]?.body ?? '')).length;
  const refused = rawClient(demo.port);
  await refused.closed;
  const newRefused = refused.text() === '' ? 1 : 0;
  const cut = /cut|still running|unfinished/i.test(demo.stderr()) ? 1 : 0;
  const ok =
    exit.code === 0 && exitMs < 5000 && whole === inflight && newRefused === 1 && cut === 0 && servedAfter503 === 0;
  return {
    step: `SIGTERM under ${loadSeconds} s of load (CLI)`,
    load: `50 conns + ${keepers} keep-alive + ${inflight} in flight`,
    faults: 1,
    leaks: ok ? 0 : 1 + inflight - whole,
    figure: `exit ${exit.code} after ${exitMs.toFixed(0)} ms (bound 5000); ${whole}/${inflight} in-flight responses whole; new connection refused: ${newRefused === 1}; on open keep-alive connections: ${refusedAfter} refused 503 + close, ${servedAfter503} answered 2xx after a 503 (must be 0); responses cut at the grace end: ${cut ? 'yes' : 'no'}; autocannon errors ${r.errors}, ${r.requests.total} requests`,
  };
}
