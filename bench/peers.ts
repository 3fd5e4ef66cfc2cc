/**
 * spindle against every peer in one run (`npm run bench -- peers`): node:http,
 * fastify, @hono/node-server, a bare node:net responder (the limit for JS on
 * one core) and spindle's paths (CPS app, iterator app through the gateway,
 * `toCpsApp(toIterApp(cpsApp))`, `threadedIterApp` with 4 workers), each in its
 * own child process (bench/servers/peer.ts), spindle compiled by tsc.
 *
 * Rows: 12-byte hello on 50 keep-alive connections (wrk when installed, else
 * autocannon; p99 and server CPU per request beside req/s); the same hello
 * pipelined on one connection; 1 GiB from a generator of fresh 64 KiB buffers
 * and of one shared buffer (server CPU per GiB); 100 000 rows of 16 bytes, one
 * write or yield each. Rounds alternate over the servers and each figure is
 * the median of its rounds. Where `taskset` exists the servers run on core 0
 * and the clients (this process, wrk) on core 1. Twisted and gevent rows run
 * only when python3 can import them (bench/servers/peer-python.py).
 *
 * Each row's baseline is node:http in the same run; the target rows give the
 * ratios issue 17 asks for. `--save FILE` / `--compare FILE` (bench/run.ts)
 * keep a run and show each row's change against it; bench/plot.ts draws one.
 * `PEERS_ONLY=rows` (or hello, pipelined, fresh, shared; comma-separated) runs
 * only those groups.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage } from './compare.js';
import { cpuSeconds, download, HeadEndCounter, listeningPort, type Benchmark, type BenchResult } from './harness.js';
import { buildDist, builtNote, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;

/** The servers, in table order; `python` ones run only when their module imports. */
const SERVERS: Array<{ kind: string; label: string; python?: string }> = [
  { kind: 'net', label: 'bare node:net' },
  { kind: 'cps', label: 'spindle CPS app' },
  { kind: 'iter', label: 'spindle iterator app (gateway)' },
  { kind: 'bridge', label: 'spindle toCpsApp(toIterApp(cps))' },
  { kind: 'threaded', label: 'spindle threadedIterApp, 4 workers' },
  { kind: 'hono', label: '@hono/node-server' },
  { kind: 'node', label: 'node:http' },
  { kind: 'fastify', label: 'fastify' },
  { kind: 'twisted-site', label: 'Twisted Site', python: 'twisted' },
  { kind: 'twisted-wsgi', label: 'Twisted WSGIResource', python: 'twisted' },
  { kind: 'gevent', label: 'gevent.pywsgi', python: 'gevent' },
];
/** A kind with `@base` is the same server built from `PEERS_BASE` (a git revision): before/after in one run. */
const BASE_TAG = '@base';
const label = (kind: string) => {
  const base = kind.endsWith(BASE_TAG);
  const k = base ? kind.slice(0, -BASE_TAG.length) : kind;
  return SERVERS.find((s) => s.kind === k)!.label + (base ? ` [${process.env.PEERS_BASE}]` : '');
};

interface Server {
  kind: string;
  proc: ChildProcess;
  port: number;
}

const taskset = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;
const wrk = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p)) ?? null;

/**
 * The python that imports `module`: the one on PATH, else Debian's own
 * (`apt-get install python3-twisted python3-gevent` puts them there, and a
 * pyenv or venv python3 first on PATH does not see them); null if neither.
 */
function pythonFor(module: string): string | null {
  for (const python of ['python3', '/usr/bin/python3'])
    if (spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0) return python;
  return null;
}

function pythonHas(module: string): boolean {
  return pythonFor(module) !== null;
}

/** Start one server (on core 0 where taskset exists) and wait for `listening PORT`. */
function start(kind: string, mode: string, arg: number, dist: string | null): Promise<Server> {
  const python = SERVERS.find((s) => s.kind === kind)?.python;
  const base = kind.endsWith(BASE_TAG);
  if (base) dist = baseDist;
  const peerKind = base ? kind.slice(0, -BASE_TAG.length) : kind;
  const cmd = python
    ? [pythonFor(python)!, join(here, 'servers', 'peer-python.py'), kind, mode]
    : [process.execPath, '--import', 'tsx', join(here, 'servers', 'peer.ts'), peerKind, mode, String(arg)];
  const argv = taskset ? [taskset, '-c', '0', ...cmd] : cmd;
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: serverEnv(dist) });
  return listeningPort(proc, `peer server ${kind} ${mode}`).then((port) => ({ kind, proc, port }));
}

/** SIGTERM (a spindle server prints its counts, e.g. threaded wake-ups per request), SIGKILL after 2 s. */
function stop(s: Server): Promise<void> {
  return new Promise((r) => {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) return r();
    const kill = setTimeout(() => s.proc.kill('SIGKILL'), 2000);
    s.proc.once('exit', () => {
      clearTimeout(kill);
      r();
    });
    s.proc.kill('SIGTERM');
  });
}

/** The server's own process when it was started through taskset (taskset execs, so the pid is the same). */
const serverPid = (s: Server) => s.proc.pid!;

interface Hello {
  rps: number;
  p99: number;
  requests: number;
  cpu: number;
}

/** wrk's latency figure ("850.00us", "1.20ms", "2.00s") in milliseconds. */
function wrkMs(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
}

type Autocannon = (o: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<{ requests: { average: number; total: number }; latency: { p99: number } }>;
let autocannon: Autocannon | null = null;

async function hello(s: Server, seconds: number): Promise<Hello> {
  const cpu0 = cpuSeconds(serverPid(s));
  let rps: number, p99: number, requests: number;
  if (wrk) {
    const out = await new Promise<string>((resolve) => {
      const p = spawn(wrk, ['-t1', '-c50', `-d${seconds}s`, '--latency', `http://127.0.0.1:${s.port}/`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      p.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      p.once('exit', () => resolve(text));
    });
    rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    p99 = wrkMs(/99%\s+(\S+)/.exec(out)?.[1] ?? '');
    requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  } else {
    const name = 'autocannon';
    autocannon ??= ((await import(name)) as { default: Autocannon }).default;
    const r = await autocannon({ url: `http://127.0.0.1:${s.port}/`, connections: 50, duration: seconds });
    rps = r.requests.average;
    p99 = r.latency.p99;
    requests = r.requests.total;
  }
  return { rps, p99, requests, cpu: cpuSeconds(serverPid(s)) - cpu0 };
}

/** Send `n` GETs at once on one connection; resolve with the seconds until `n` responses came back. */
function pipelined(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const req = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
    let t0 = 0n;
    let seen = 0;
    const ends = new HeadEndCounter();
    socket.on('connect', () => {
      t0 = process.hrtime.bigint();
      for (let sent = 0; sent < n; sent += 1000) socket.write(Buffer.concat(Array(Math.min(1000, n - sent)).fill(req)));
    });
    socket.on('data', (d: Buffer) => {
      seen += ends.feed(d);
      if (seen >= n) {
        socket.destroy();
        resolve(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    });
    socket.on('error', reject);
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Pin this process (and the clients it spawns) to core 1; returns how to undo it. */
function pinClient(): () => void {
  if (!taskset) return () => {};
  const before = /list: (\S+)/.exec(
    spawnSync(taskset, ['-p', '-c', String(process.pid)], { encoding: 'utf8' }).stdout,
  )?.[1];
  spawnSync(taskset, ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  return () =>
    void (before && spawnSync(taskset, ['-a', '-p', '-c', before, String(process.pid)], { stdio: 'ignore' }));
}

const loadNote = () => `load ${loadAverage()}`;

/** Run `measure` over every server, `rounds` times, alternating; per kind, the list of results. */
async function alternate<T>(
  servers: Server[],
  rounds: number,
  measure: (s: Server) => Promise<T>,
): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(servers.map((s) => [s.kind, []]));
  for (let i = 0; i < rounds; i++) for (const s of servers) out.get(s.kind)!.push(await measure(s));
  return out;
}

/** PEERS_ONLY=hello,pipelined,fresh,shared,rows runs only those groups (for a quick look at one change). */
const only = process.env.PEERS_ONLY?.split(',') ?? null;
const wantGroup = (g: string) => only === null || only.includes(g);
/**
 * PEERS_KINDS=cps,iter,bridge,node runs only those servers (node:http, the
 * baseline of every row, always runs). PEERS_BASE=REV adds the spindle servers
 * (cps, iter, bridge, threaded) built from git revision REV, as `KIND@base` rows: a
 * change's before and after, alternating in the same run.
 */
const onlyKinds = process.env.PEERS_KINDS?.split(',') ?? null;
let baseDist: string | null = null;
function kindsOf(kinds: string[]): string[] {
  const picked = kinds.filter((k) => k === 'node' || onlyKinds === null || onlyKinds.includes(k));
  if (process.env.PEERS_BASE === undefined) return picked;
  return picked.flatMap((k) => (['cps', 'iter', 'bridge', 'threaded'].includes(k) ? [k, k + BASE_TAG] : [k]));
}
/** A target row needs both of its servers. */
const have = (fig: Map<string, unknown>, ...kinds: string[]) => kinds.every((k) => fig.has(k));

/** Server `a`'s figure against server `b`'s, as a row; nothing when one of them did not run. */
function ratioRow(
  rows: BenchResult[],
  name: string,
  figures: Map<string, number>,
  a: string,
  b: string,
  unit: string,
  higherIsBetter: boolean,
  note: string,
  target?: string,
): void {
  if (!have(figures, a, b)) return;
  rows.push({
    name,
    unit,
    spindle: figures.get(a)!,
    baseline: figures.get(b)!,
    baselineName: label(b),
    higherIsBetter,
    ...(target === undefined ? {} : { target }),
    note,
  });
}

interface Group {
  /** Row name prefix. */
  name: string;
  mode: string;
  arg: number;
  kinds: string[];
}

const bench: Benchmark = {
  title: 'spindle against node:http, fastify, @hono/node-server, bare node:net (and Twisted/gevent when installed)',
  async run({ quick }) {
    const dist = buildDist();
    if (process.env.PEERS_BASE !== undefined) {
      baseDist = buildDist(process.env.PEERS_BASE);
      if (baseDist === null) throw new Error(`peers: could not build PEERS_BASE=${process.env.PEERS_BASE}`);
    }
    const unpin = pinClient();
    const rows: BenchResult[] = [];
    const built = builtNote(dist);
    const client = `${wrk ? 'wrk -t1 -c50' : 'autocannon -c50'}${taskset ? ', server on core 0, client on core 1 (taskset)' : ', no taskset: client and server share the cores'}`;
    const python = [...new Set(SERVERS.filter((s) => s.python).map((s) => s.python!))].filter(pythonHas);
    if (SERVERS.some((s) => s.python && !python.includes(s.python))) {
      process.stderr.write('peers: Twisted/gevent rows skipped (python3-twisted / python3-gevent not installed)\n');
    }
    const helloKinds = kindsOf(SERVERS.filter((s) => !s.python || python.includes(s.python)).map((s) => s.kind));
    try {
      // ---- hello, 50 keep-alive connections
      if (wantGroup('hello')) {
        const servers = await Promise.all(helloKinds.map((k) => start(k, 'hello', 0, dist)));
        const secs = quick ? 2 : 3;
        const rounds = quick ? 2 : 3;
        try {
          for (const s of servers) await hello(s, 1); // JIT warm-up
          const runs = await alternate(servers, rounds, (s) => hello(s, secs));
          const load = loadNote();
          const fig = new Map(
            [...runs].map(([k, rs]) => [
              k,
              {
                rps: median(rs.map((r) => r.rps)),
                p99: median(rs.map((r) => r.p99)),
                cpuUs: (sum(rs.map((r) => r.cpu)) / sum(rs.map((r) => r.requests))) * 1e6,
              },
            ]),
          );
          const node = fig.get('node')!;
          for (const [kind, f] of fig) {
            rows.push({
              name: `hello keep-alive: ${label(kind)}`,
              unit: 'req/s',
              spindle: f.rps,
              baseline: node.rps,
              baselineName: 'node:http',
              higherIsBetter: true,
              extra: { p99Ms: f.p99, cpuUsPerReq: f.cpuUs },
              note: `p99 ${f.p99.toFixed(2)} ms; server CPU ${f.cpuUs.toFixed(1)} us/req; ${client}; median of ${rounds} alternating ${secs}s rounds; ${load}`,
            });
          }
          // Each target by req/s, then by the server's CPU per request: steadier when the client,
          // not the server, limits req/s.
          const ratio = (name: string, a: string, b: string, by: 'rps' | 'cpuUs', target?: string) =>
            ratioRow(
              rows,
              name,
              new Map([...fig].map(([k, f]) => [k, f[by]])),
              a,
              b,
              by === 'rps' ? 'req/s' : 'server CPU us/req',
              by === 'rps',
              load,
              target,
            );
          ratio('target: CPS hello / bare node:net', 'cps', 'net', 'rps', '>= 0.8x');
          ratio('target: gateway hello / CPS hello', 'iter', 'cps', 'rps', '>= 0.9x');
          ratio('target: gateway hello / node:http', 'iter', 'node', 'rps', '>= 1.4x');
          ratio('target: bridge hello / CPS hello', 'bridge', 'cps', 'rps', '>= 0.85x');
          ratio('target: threaded hello (4 workers) / in-process gateway', 'threaded', 'iter', 'rps', '>= 0.5x');
          ratio('CPU per request: CPS hello / bare node:net', 'cps', 'net', 'cpuUs');
          ratio('CPU per request: gateway hello / CPS hello', 'iter', 'cps', 'cpuUs');
          ratio('CPU per request: gateway hello / node:http', 'iter', 'node', 'cpuUs');
          ratio('CPU per request: bridge hello / CPS hello', 'bridge', 'cps', 'cpuUs');
        } finally {
          await Promise.all(servers.map(stop));
        }
      }

      // ---- hello pipelined on one connection
      if (wantGroup('pipelined')) {
        const n = quick ? 20_000 : 100_000;
        const kinds = kindsOf(['net', 'cps', 'iter', 'bridge', 'node']);
        const servers = await Promise.all(kinds.map((k) => start(k, 'hello', 0, dist)));
        try {
          for (const s of servers) await pipelined(s.port, n / 10);
          const runs = await alternate(servers, quick ? 2 : 3, (s) => pipelined(s.port, n));
          const load = loadNote();
          const rps = new Map([...runs].map(([k, ts]) => [k, n / median(ts)]));
          for (const k of kinds) {
            rows.push({
              name: `hello pipelined, one connection: ${label(k)}`,
              unit: 'req/s',
              spindle: rps.get(k)!,
              baseline: rps.get('node')!,
              baselineName: 'node:http',
              higherIsBetter: true,
              note: `${n} requests written at once; ${load}`,
            });
          }
          ratioRow(
            rows,
            'target: pipelined gateway / pipelined CPS',
            rps,
            'iter',
            'cps',
            'req/s',
            true,
            load,
            '>= 0.5x',
          );
        } finally {
          await Promise.all(servers.map(stop));
        }
      }

      // ---- streams: fresh buffers, a shared buffer, many small rows
      const total = quick ? 128 * MiB : 1024 * MiB;
      const rowsN = 100_000;
      const groups: Group[] = [
        {
          name: `${total / MiB} MiB, fresh 64 KiB buffers`,
          mode: 'fresh',
          arg: total,
          kinds: ['net', 'cps', 'iter', 'bridge', 'hono', 'node', 'fastify'],
        },
        {
          name: `${total / MiB} MiB, one shared 64 KiB buffer`,
          mode: 'shared',
          arg: total,
          kinds: ['cps', 'iter', 'bridge', 'node'],
        },
        { name: `${rowsN} rows of 16 bytes`, mode: 'rows', arg: rowsN, kinds: ['cps', 'iter', 'bridge', 'node'] },
      ];
      for (const g of groups.filter((x) => wantGroup(x.mode))) {
        const servers = await Promise.all(kindsOf(g.kinds).map((k) => start(k, g.mode, g.arg, dist)));
        const bytes = g.mode === 'rows' ? rowsN * 16 : total;

        try {
          for (const s of servers) await download(s.port, bytes); // JIT warm-up, not counted
          const cpu0 = new Map(servers.map((s) => [s.kind, cpuSeconds(serverPid(s))]));
          const rounds = 3;
          // A response of rows takes ~10-40 ms: 10 per round, so the CPU figure (/proc counts 10 ms ticks) spans
          // ~0.5 s per server, garbage collection included, and the warm-up (compiling) is left out.
          const perRound = g.mode === 'rows' ? 10 : 1;
          const runs = await alternate(servers, rounds, async (s) => {
            const t = await timed(async () => {
              for (let i = 0; i < perRound; i++) await download(s.port, bytes);
            });
            return t / perRound;
          });
          const load = loadNote();
          const node = median(runs.get('node')!);
          const responses = rounds * perRound;
          const cpuMs = new Map<string, number>();
          for (const s of servers) {
            const t = median(runs.get(s.kind)!);
            const cpuPerResponse = (cpuSeconds(serverPid(s)) - cpu0.get(s.kind)!) / responses;
            const cpuPerGiB = (cpuPerResponse / bytes) * 1024 * MiB;
            cpuMs.set(s.kind, cpuPerResponse * 1000);
            const row: BenchResult = {
              name: `${g.name}: ${label(s.kind)}`,
              unit: g.mode === 'rows' ? 'ms' : 'MiB/s',
              spindle: g.mode === 'rows' ? t * 1000 : bytes / MiB / t,
              baseline: g.mode === 'rows' ? node * 1000 : bytes / MiB / node,
              baselineName:
                g.mode === 'rows' ? 'node:http res.write per row' : 'node:http pipeline(Readable.from(gen), res)',
              higherIsBetter: g.mode !== 'rows',
              extra: { cpuSecondsPerGiB: cpuPerGiB },
              note: `server CPU ${g.mode === 'rows' ? `${cpuMs.get(s.kind)!.toFixed(1)} ms per response (${responses} responses)` : `${cpuPerGiB.toFixed(2)} s/GiB`}; median of ${rounds} alternating${perRound > 1 ? ` rounds of ${perRound}` : ''}; ${load}`,
            };
            if (g.mode === 'fresh' && s.kind === 'iter') row.target = '>= 1.0x';
            if (g.mode === 'rows' && s.kind === 'iter') row.target = '>= 1.0x';
            rows.push(row);
          }
          if (g.mode === 'rows')
            ratioRow(
              rows,
              `target: ${g.name} by server CPU, gateway / node:http`,
              cpuMs,
              'iter',
              'node',
              'server CPU ms/response',
              false,
              `${responses} responses each; ${load}`,
              '>= 1.0x',
            );
        } finally {
          await Promise.all(servers.map(stop));
        }
      }
      for (const r of rows) r.note = `${r.note ?? ''}; ${built}`;
      return rows;
    } finally {
      unpin();
      removeDist(dist);
      removeDist(baseDist);
    }
  },
};

export default bench;
