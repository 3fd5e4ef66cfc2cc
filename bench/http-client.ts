/**
 * HTTP client benchmark: keep-alive GETs of a 12-byte body from a node:http
 * server (bench/servers/node-hello.ts), through 1 pooled connection and
 * through 50, by spindle's Agent, node:http's keep-alive Agent and undici's
 * request(), each client in its own child process (bench/servers/http-client-runner.ts),
 * run alternately; figures are medians. spindle runs compiled by tsc.
 * Then proxy throughput: a large download by curl (its own process; it
 * discards the body, and costs least of the clients tried, so it is not the
 * bottleneck) through spindle's reverseProxy against the same download straight
 * from the upstream (node:http), through a node:http proxy (request().pipe())
 * and through a bare TCP relay (bench/servers/proxy-relay.ts: no HTTP, the floor
 * for a proxy on Node), all in one alternation; and, when python3 has `os.splice`
 * (Linux, Python 3.10+), through a relay that copies nothing in user space
 * (bench/servers/proxy-splice.py: socket -> pipe -> socket in the kernel), the
 * floor for any user-space proxy on the machine; and through reverseProxy whose
 * pool keeps no connection (a new upstream connection per request, as the direct
 * download has): a pooled upstream connection's receive buffer, autotuned by the
 * kernel, grows to 20-33 MB over its life (a cold start, or the scheduler's stalls,
 * do it), and such a connection costs the upstream twice the CPU and often (not
 * always) runs slower (BENCHMARKS.md; Node cannot set SO_RCVBUF on a TCP socket).
 * Nothing is pinned: with 2 cores three processes cannot have one each, and
 * pinning the client and the upstream apart made the direct download 2.4x slower
 * here. Each
 * process's CPU per GiB (from /proc; curl's from this process's reaped-children
 * times) is in the notes: on a shared machine it is steadier than the GB/s.
 * `PROXY_BASE_DIST=DIR` (a build of another commit, as bench/servers/dist.ts
 * makes) adds that build's proxy to the same alternation, for a before/after
 * pair in one run; `PROXY_ONLY=1` runs the proxy rows alone; `PROXY_ROUNDS=N` sets their
 * rounds (default 5, 1 with `--quick`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { cpuSeconds, type Benchmark, type BenchResult } from './harness.js';
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
  title: 'HTTP client: spindle Agent vs node:http Agent and undici, keep-alive; reverseProxy vs direct download (curl)',
  async run({ quick }) {
    const seconds = quick ? 1 : 4;
    const rounds = quick ? 1 : 3;
    const dist = buildDist();
    const rows: BenchResult[] = [];
    if (process.env.PROXY_ONLY === '1') {
      rows.push(...(await proxyRows(quick, dist)));
      removeDist(dist);
      return rows;
    }
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
    try {
      rows.push(...(await proxyRows(quick, dist)));
    } finally {
      removeDist(dist);
    }
    return rows;
  },
};

/** utime + stime of this process's reaped children in seconds (Linux /proc); NaN elsewhere. */
function childrenCpuSeconds(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface Transfer {
  /** curl's own time for the transfer (connect to last byte), not the process's start. */
  seconds: number;
  /** curl's CPU seconds. */
  cpu: number;
}

/** GET `path` from 127.0.0.1:`port` with curl, body to /dev/null; fails unless `total` bytes came. */
function curlGet(port: number, path: string, total: number): Promise<Transfer> {
  const c0 = childrenCpuSeconds();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'curl',
      ['-sS', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `http://127.0.0.1:${port}${path}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const [size, seconds] = out.split(' ').map(Number);
      if (code !== 0 || size !== total) return reject(new Error(`curl got ${size} of ${total} bytes (exit ${code})`));
      resolve({ seconds: seconds!, cpu: childrenCpuSeconds() - c0 });
    });
  });
}

interface Path {
  label: string;
  port: number;
  /** The proxy process, if any. */
  pid: number | null;
  seconds: number[];
  upstreamCpu: number[];
  proxyCpu: number[];
  clientCpu: number[];
}

/**
 * The proxy rows: every path (direct, spindle's reverseProxy, a node:http proxy, the
 * bare relay, the PROXY_BASE_DIST build) downloads `total` bytes once per round, the
 * order reversed every other round, after one warm-up each.
 */
async function proxyRows(quick: boolean, dist: string | null): Promise<BenchResult[]> {
  const total = quick ? 64 * 1024 * 1024 : 512 * 1024 * 1024;
  const rounds = Number(process.env.PROXY_ROUNDS ?? (quick ? 1 : 5));
  const upstream = await start('proxy-upstream.ts', null);
  const up = String(upstream.port);
  const baseDist = process.env.PROXY_BASE_DIST;
  const splice = hasSplice();
  const procs = [
    await startWithArg('proxy-spindle.ts', dist, up),
    await startWithArg('proxy-node.ts', null, up),
    await startWithArg('proxy-relay.ts', null, up),
    await startWithArg('proxy-spindle.ts', dist, up, { PROXY_FRESH_UPSTREAM: '1' }),
    ...(splice ? [await startProcess('python3', [join(here, 'servers', 'proxy-splice.py'), up], {})] : []),
    ...(baseDist ? [await startWithArg('proxy-spindle.ts', baseDist, up)] : []),
  ];
  const path = (label: string, port: number, pid: number | null): Path => ({
    label,
    port,
    pid,
    seconds: [],
    upstreamCpu: [],
    proxyCpu: [],
    clientCpu: [],
  });
  const paths = [
    path('direct', upstream.port, null),
    ...['spindle', 'node', 'relay', 'fresh', ...(splice ? ['splice'] : []), 'base']
      .slice(0, procs.length)
      .map((l, i) => path(l, procs[i]!.port, procs[i]!.child.pid!)),
  ];
  const url = `/bytes/${total}`;
  const once = async (p: Path, keep: boolean) => {
    const u0 = cpuSeconds(upstream.child.pid!);
    const p0 = p.pid === null ? 0 : cpuSeconds(p.pid);
    const t = await curlGet(p.port, url, total);
    if (!keep) return;
    p.seconds.push(t.seconds);
    p.clientCpu.push(t.cpu);
    p.upstreamCpu.push(cpuSeconds(upstream.child.pid!) - u0);
    p.proxyCpu.push(p.pid === null ? 0 : cpuSeconds(p.pid) - p0);
  };
  try {
    for (const p of paths) await once(p, false);
    for (let i = 0; i < rounds; i++) for (const p of i % 2 === 0 ? paths : [...paths].reverse()) await once(p, true);
  } finally {
    for (const p of procs) p.child.kill();
    upstream.child.kill();
  }
  const by = (label: string) => paths.find((p) => p.label === label)!;
  const gbps = (p: Path) => total / 1e9 / median(p.seconds);
  const perGiB = (xs: number[]) => ((median(xs) / total) * 1024 ** 3).toFixed(2);
  // The whole path's CPU (upstream + proxy + curl, summed per round): on loopback the kernel charges the
  // receive work to whichever process is running, so one process's share moves between runs; the sum does not.
  const pathCpu = (p: Path) => p.seconds.map((_, i) => p.upstreamCpu[i]! + p.proxyCpu[i]! + p.clientCpu[i]!);
  const cpuNote = (p: Path) =>
    `CPU s/GiB upstream ${perGiB(p.upstreamCpu)}${p.pid === null ? '' : `, proxy ${perGiB(p.proxyCpu)}`}, curl ${perGiB(p.clientCpu)}, path ${perGiB(pathCpu(p))}`;
  const mib = total / 1024 / 1024;
  const how = `curl, one connection each; median of ${rounds} alternating runs; nothing pinned`;
  const row = (name: string, a: Path, b: Path, baselineName: string, target?: string): BenchResult => ({
    name: `${mib} MiB download ${name}`,
    unit: 'GB/s',
    spindle: gbps(a),
    baseline: gbps(b),
    baselineName,
    higherIsBetter: true,
    ...(target ? { target } : {}),
    note: `${a.label}: ${cpuNote(a)}; ${b.label}: ${cpuNote(b)}; ${how}`,
  });
  const vsDirect = (label: string) => `${(gbps(by(label)) / gbps(by('direct'))).toFixed(2)}x`;
  const rows = [
    row('through reverseProxy vs direct', by('spindle'), by('direct'), 'direct from the node:http upstream', '>= 0.8x'),
    row(
      'through reverseProxy vs through a node:http proxy',
      by('spindle'),
      by('node'),
      'node:http request().pipe() proxy (bench/servers/proxy-node.ts)',
    ),
    row(
      'through reverseProxy vs through a bare TCP relay',
      by('spindle'),
      by('relay'),
      `a TCP relay on Node with no HTTP (bench/servers/proxy-relay.ts); its own ratio vs direct: ${vsDirect('relay')}`,
    ),
  ];
  if (splice)
    rows.push(
      row(
        'through reverseProxy vs through a relay with no user-space copy',
        by('spindle'),
        by('splice'),
        'python3 os.splice relay, socket -> pipe -> socket (bench/servers/proxy-splice.py); its own ratio vs direct: ' +
          `${vsDirect('splice')} (the bare Node relay's: ${vsDirect('relay')})`,
      ),
    );
  else process.stderr.write('http-client: python3 without os.splice (Linux, Python 3.10+): no splice relay row\n');
  rows.push(
    row(
      'through reverseProxy with a new upstream connection per request vs direct',
      by('fresh'),
      by('direct'),
      'direct from the node:http upstream (a new connection each time too)',
    ),
  );
  if (baseDist)
    rows.push(
      row(
        'through reverseProxy, this build vs PROXY_BASE_DIST',
        by('spindle'),
        by('base'),
        `reverseProxy built at ${baseDist}`,
      ),
    );
  return rows;
}

/** Whether python3 is there and has `os.splice` (Linux, Python 3.10+): the splice relay's need. */
function hasSplice(): boolean {
  const r = spawnSync('python3', ['-c', 'import os, sys; sys.exit(0 if hasattr(os, "splice") else 1)'], {
    stdio: 'ignore',
  });
  return r.status === 0;
}

/** Start a bench server with one argument (the proxy's upstream port). */
export function startWithArg(script: string, dist: string | null, arg: string, env: NodeJS.ProcessEnv = {}) {
  return startProcess(process.execPath, ['--import', 'tsx', join(here, 'servers', script), arg], {
    ...serverEnv(dist),
    ...env,
  });
}

/** Start a server process that prints its port on its first stdout line. */
function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ child: ReturnType<typeof spawn>; port: number }>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${args.at(-2) ?? command} exited with ${code}`)));
  });
}

export default bench;
