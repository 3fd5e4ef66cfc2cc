/**
 * WebSocket: spindle (a CPS WebSocketProtocol, and an iterator app through the
 * gateway) against the `ws` package's server, each in its own child process
 * (bench/servers/websocket-server.ts; spindle compiled by tsc), the `ws`
 * client in this process for all three, in the same run:
 * (a) echo of 1 KiB text messages over 50 connections, round trips/s;
 * (b) 1 GiB (quick: 128 MiB) in 64 KiB binary messages from server to client,
 *     GB/s, with the server's CPU seconds.
 * Kinds are measured in alternating rounds so the machine's load hits all alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { cpuSeconds, type Benchmark, type BenchResult } from './harness.js';
import { buildDist, builtNote, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));
const KINDS = ['cps', 'iter', 'ws'] as const;
type Kind = (typeof KINDS)[number];

interface Server {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

export function startServer(kind: Kind, mode: string, total: number, dist: string | null): Promise<Server> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'servers', 'websocket-server.ts'), kind, mode, String(total)],
    {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
      env: serverEnv(kind === 'ws' ? null : dist),
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m)
        resolve({
          proc,
          port: Number(m[1]),
          stop: () =>
            new Promise((r) => (proc.exitCode !== null ? r() : (proc.once('exit', () => r()), proc.kill('SIGKILL')))),
        });
    });
    proc.once('exit', (code) => reject(new Error(`websocket bench server ${kind}/${mode} exited with ${code}`)));
  });
}

/** 50 clients, each sending 1 KiB and waiting for its echo, for `seconds`; returns round trips per second. */
export async function echoRate(port: number, seconds: number, connections = 50): Promise<number> {
  const payload = 'x'.repeat(1024);
  const clients = await Promise.all(
    Array.from({ length: connections }, () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      return new Promise<WebSocket>((r, f) => ws.once('open', () => r(ws)).once('error', f));
    }),
  );
  let count = 0;
  let running = true;
  for (const ws of clients) {
    ws.on('message', () => {
      count++;
      if (running) ws.send(payload);
    });
  }
  const t0 = process.hrtime.bigint();
  for (const ws of clients) ws.send(payload);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const done = count;
  await Promise.all(clients.map((ws) => new Promise((r) => (ws.once('close', r), ws.close()))));
  return done / elapsed;
}

/** Receive the whole stream on one connection; returns GB/s. */
async function streamRate(port: number, total: number): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  let got = 0;
  let t0 = 0n;
  ws.once('open', () => (t0 = process.hrtime.bigint()));
  ws.on('message', (d: Buffer) => (got += d.length));
  await new Promise((r, f) => ws.once('close', r).once('error', f));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (got !== total) throw new Error(`stream delivered ${got} of ${total} bytes`);
  return total / seconds / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bench: Benchmark = {
  title: 'WebSocket: spindle (CPS and iterator) vs ws',
  async run({ quick }) {
    const dist = buildDist();
    try {
      return await measure(quick, dist);
    } finally {
      removeDist(dist);
    }
  },
};

async function measure(quick: boolean, dist: string | null): Promise<BenchResult[]> {
  const rounds = quick ? 1 : 3;
  const rows: BenchResult[] = [];
  const built = builtNote(dist);
  // (a) echo
  {
    const servers = Object.fromEntries(
      await Promise.all(KINDS.map(async (k) => [k, await startServer(k, 'echo', 0, dist)] as const)),
    ) as Record<Kind, Server>;
    const rates: Record<Kind, number[]> = { cps: [], iter: [], ws: [] };
    /** Server CPU microseconds per echoed message. */
    const cpu: Record<Kind, number[]> = { cps: [], iter: [], ws: [] };
    try {
      for (let i = 0; i < rounds; i++) {
        for (const k of KINDS) {
          const c0 = cpuSeconds(servers[k].proc.pid!);
          const seconds = quick ? 2 : 4;
          const rate = await echoRate(servers[k].port, seconds);
          rates[k].push(rate);
          cpu[k].push(((cpuSeconds(servers[k].proc.pid!) - c0) / (rate * seconds)) * 1e6);
        }
      }
    } finally {
      await Promise.all(KINDS.map((k) => servers[k].stop()));
    }
    for (const k of ['cps', 'iter'] as const) {
      rows.push({
        name: `echo 1 KiB x 50 connections (${k === 'cps' ? 'CPS WebSocketProtocol' : 'iterator app'})`,
        unit: 'msgs/s',
        spindle: median(rates[k]),
        baseline: median(rates.ws),
        baselineName: 'ws server',
        higherIsBetter: true,
        target: k === 'cps' ? '>= 1.0x' : '>= 0.8x',
        note: `median of ${rounds} rounds of ${quick ? 2 : 4} s; server CPU per message ${median(cpu[k]).toFixed(1)} us vs ws ${median(cpu.ws).toFixed(1)} us; ws client for all; ${built}`,
      });
    }
  }
  // (b) one-way stream
  {
    const total = (quick ? 128 : 1024) * 1024 * 1024;
    const rates: Record<Kind, number[]> = { cps: [], iter: [], ws: [] };
    const cpu: Record<Kind, number[]> = { cps: [], iter: [], ws: [] };
    for (let i = 0; i < rounds; i++) {
      for (const k of KINDS) {
        const s = await startServer(k, 'stream', total, dist);
        try {
          const c0 = cpuSeconds(s.proc.pid!);
          rates[k].push(await streamRate(s.port, total));
          cpu[k].push(cpuSeconds(s.proc.pid!) - c0);
        } finally {
          await s.stop();
        }
      }
    }
    for (const k of ['cps', 'iter'] as const) {
      rows.push({
        name: `${total / 1024 / 1024} MiB in 64 KiB binary messages, server to client (${k === 'cps' ? 'CPS producer' : 'iterator app'})`,
        unit: 'GB/s',
        spindle: median(rates[k]),
        baseline: median(rates.ws),
        baselineName: 'ws server',
        higherIsBetter: true,
        target: k === 'cps' ? '>= 1.0x' : '>= 0.8x',
        note: `median of ${rounds}; server CPU s: ${median(cpu[k]).toFixed(2)} vs ws ${median(cpu.ws).toFixed(2)}; ${built}`,
      });
    }
  }
  return rows;
}

export default bench;
