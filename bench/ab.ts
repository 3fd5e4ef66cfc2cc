/**
 * `npx tsx bench/ab.ts`: a change's streams before and after, by server CPU.
 * The servers of bench/servers/peer.ts (or gateway-*.ts) for KINDS, built from
 * the working tree, `KIND@base` from git revision BASE and `KIND@base2` from
 * BASE2, each on core 0, alternate for ROUNDS rounds of N downloads each (the
 * client on core 1); the server's CPU per response (rows) or per GiB (streams)
 * comes from /proc (utime + stime, 10 ms ticks, so N downloads per round), as
 * the median over the rounds, with the mean, the user part and the wall clock.
 *
 * Environment: MODE (rows | fresh | shared; with SCRIPT=gateway: stream),
 * ARG (rows, or bytes), N (20), ROUNDS (7), KINDS (iter,iter@base,node),
 * BASE, BASE2, TLSMODE=1 (HTTPS), PEER_CHUNKED=1 (no Content-Length: the client
 * waits for the last chunk), SCRIPT=gateway (bench/servers/gateway-*.ts), GC=1 (the
 * servers run with --trace-gc; each line adds the full GCs (mark-compacts; the
 * memory reducer's, which an idle server runs while the others have their turn,
 * apart) and scavenges per GiB or per response over the counted rounds).
 * Example: `BASE=main KINDS=cps,cps@base,node npx tsx bench/ab.ts`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { download as plainDownload, listeningPort } from './harness.js';
import { buildDist, removeDist, serverEnv, TLS_ENV } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const mode = env.MODE ?? 'rows';
const arg = Number(env.ARG ?? (mode === 'rows' ? 100_000 : 128 * 1024 * 1024));
const bytes = mode === 'rows' ? arg * 16 : arg;
const N = Number(env.N ?? 20);
const ROUNDS = Number(env.ROUNDS ?? 7);
const kinds = (env.KINDS ?? 'iter,iter@base,node').split(',');
const tls = env.TLSMODE === '1';
const traceGC = env.GC === '1';
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** utime and stime of a process in seconds. */
function times(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return [Number(f[11]) / 100, Number(f[12]) / 100];
}

/** One GET; a chunked body ends at its last chunk. */
function download(port: number): Promise<void> {
  if (env.PEER_CHUNKED !== '1') return plainDownload(port, bytes, '/', tls);
  return new Promise((resolve, reject) => {
    // Over TLS the client trusts anything: it measures, it does not check.
    const socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : connect({ port, host: '127.0.0.1', noDelay: true });
    let tail = Buffer.alloc(0);
    socket.on(tls ? 'secureConnect' : 'connect', () => socket.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
    socket.on('data', (d: Buffer) => {
      tail = Buffer.concat([tail, d.subarray(Math.max(0, d.length - 5))]).subarray(-5);
      if (!tail.equals(LAST_CHUNK)) return;
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

interface Server {
  kind: string;
  proc: ChildProcess;
  port: number;
  /** Mark-compacts and scavenges the server has printed (GC=1). */
  gc: { full: number; reduce: number; young: number };
}

const builds = new Map<string, string | null>([['', buildDist()]]);
if (env.BASE) builds.set('base', buildDist(env.BASE));
if (env.BASE2) builds.set('base2', buildDist(env.BASE2));
spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

function start(kind: string): Promise<Server> {
  const [k, tag = ''] = kind.split('@');
  const script =
    env.SCRIPT === 'gateway'
      ? [join(here, 'servers', `gateway-${k === 'node' ? 'node' : 'spindle'}.ts`), mode, String(arg)]
      : [join(here, 'servers', 'peer.ts'), k!, mode, String(arg)];
  const flags = traceGC ? ['--trace-gc'] : [];
  const proc = spawn('taskset', ['-c', '0', process.execPath, ...flags, '--import', 'tsx', ...script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...serverEnv(builds.get(tag) ?? null), ...(tls ? { [TLS_ENV]: '1' } : {}) },
  });
  const gc = { full: 0, reduce: 0, young: 0 };
  let tail = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    for (const l of lines) {
      if (l.includes(': Mark-Compact (reduce)')) gc.reduce++;
      else if (l.includes(': Mark-Compact')) gc.full++;
      else if (l.includes(': Scavenge')) gc.young++;
    }
  });
  return listeningPort(proc, kind).then((port) => ({ kind, proc, port, gc }));
}

const servers: Server[] = [];
try {
  for (const k of kinds) servers.push(await start(k));
  const cpu = new Map<string, number[]>(kinds.map((k) => [k, []]));
  const user = new Map<string, number[]>(kinds.map((k) => [k, []]));
  const wall = new Map<string, number[]>(kinds.map((k) => [k, []]));
  for (const s of servers) for (let i = 0; i < 3; i++) await download(s.port); // warm-up, not counted
  const gcAtStart = new Map(servers.map((s) => [s.kind, { ...s.gc }]));
  const loads: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of servers) {
      const [u0, s0] = times(s.proc.pid!);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await download(s.port);
      wall.get(s.kind)!.push(Number(process.hrtime.bigint() - t0) / 1e9 / N);
      const [u1, s1] = times(s.proc.pid!);
      cpu.get(s.kind)!.push((u1 - u0 + s1 - s0) / N);
      user.get(s.kind)!.push((u1 - u0) / N);
    }
    loads.push(loadavg()[0]!);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Rows: ms per response; streams: s per GiB.
  const scale = mode === 'rows' ? 1000 : (1024 * 1024 * 1024) / bytes;
  const unit = mode === 'rows' ? 'ms/response' : 's/GiB';
  const f = (x: number) => (x * scale).toFixed(mode === 'rows' ? 1 : 3);
  const perUnit = mode === 'rows' ? 1 / (ROUNDS * N) : (1024 * 1024 * 1024) / (bytes * ROUNDS * N);
  for (const s of servers) {
    const k = s.kind;
    const c = cpu.get(k)!;
    const g0 = gcAtStart.get(k)!;
    const gcNote = traceGC
      ? `  full GCs ${((s.gc.full - g0.full) * perUnit).toFixed(2)} (+ ${((s.gc.reduce - g0.reduce) * perUnit).toFixed(2)} memory reducer's), scavenges ${((s.gc.young - g0.young) * perUnit).toFixed(1)} per ${mode === 'rows' ? 'response' : 'GiB'}`
      : '';
    console.log(
      `${k.padEnd(14)} cpu ${f(median(c))} ${unit} (mean ${f(mean(c))}; rounds ${c.map(f).join(' ')})  user ${f(median(user.get(k)!))}  wall ${f(median(wall.get(k)!))}${gcNote}`,
    );
  }
  console.log(`load ${loads.map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  for (const s of servers) s.proc.kill('SIGKILL');
  for (const d of builds.values()) removeDist(d);
}
