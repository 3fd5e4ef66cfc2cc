/**
 * The continuation bridge's cost: one CPS app served directly on spindle's
 * HTTP server against the same app served as toCpsApp(toIterApp(app)) —
 * through the bounded queue, the iterator and the gateway and back. Each
 * server runs in its own child process (bench/servers/bridge-server.ts):
 * (a) hello, autocannon req/s;
 * (b) 1 GiB (quick: 128 MiB) in 64 KiB writes from a push producer, read by a
 *     node:net client counting bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleavedMs, type Benchmark, type BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;

interface Server { proc: ChildProcess; port: number }

function start(how: 'direct' | 'bridged', mode: 'hello' | 'stream', total = 0): Promise<Server> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'servers', 'bridge-server.ts'), how, mode, String(total)], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`bridge bench server ${how}/${mode} exited (${code}) before listening`)));
  });
}

function stop(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return Promise.resolve();
  return new Promise((r) => { s.proc.once('exit', () => r()); s.proc.kill('SIGKILL'); });
}

type Autocannon = (o: { url: string; connections: number; duration: number }) => Promise<{ requests: { average: number } }>;
const autocannonName = 'autocannon';
const autocannon = ((await import(autocannonName)) as { default: Autocannon }).default;

async function reqPerSec(port: number, seconds: number): Promise<number> {
  return (await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 32, duration: seconds })).requests.average;
}

/** Read one response and resolve once `total` body bytes came. */
function download(port: number, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let head: Buffer | null = Buffer.alloc(0);
    let body = 0;
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
    s.on('data', (d: Buffer) => {
      if (head) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        body = head.length - end - 4;
        head = null;
      } else body += d.length;
      if (body >= total) { s.destroy(); resolve(); }
    });
    s.on('error', reject);
  });
}

const bench: Benchmark = {
  title: 'toCpsApp(toIterApp(cpsApp)) vs the CPS app served directly',
  async run({ quick }) {
    const rows: BenchResult[] = [];
    {
      const direct = await start('direct', 'hello');
      const bridged = await start('bridged', 'hello');
      const secs = quick ? 3 : 10;
      const rounds = quick ? 1 : 2;
      await reqPerSec(direct.port, 1);
      await reqPerSec(bridged.port, 1);
      let a = 0;
      let b = 0;
      for (let i = 0; i < rounds; i++) {
        a += await reqPerSec(bridged.port, secs);
        b += await reqPerSec(direct.port, secs);
      }
      await stop(direct);
      await stop(bridged);
      rows.push({
        name: 'hello from a CPS app',
        unit: 'req/s',
        spindle: a / rounds,
        baseline: b / rounds,
        baselineName: 'the CPS app served directly',
        higherIsBetter: true,
        target: '>= 0.85x',
        note: `spindle = toCpsApp(toIterApp(app)); autocannon 32 connections, ${rounds}x${secs}s, servers in child processes`,
      });
    }
    {
      const total = quick ? 128 * MiB : 1024 * MiB;
      const direct = await start('direct', 'stream', total);
      const bridged = await start('bridged', 'stream', total);
      const ms = await interleavedMs(quick ? 3 : 5, () => download(bridged.port, total), () => download(direct.port, total));
      await stop(direct);
      await stop(bridged);
      const rate = (t: number) => total / MiB / (t / 1000);
      rows.push({
        name: `${total / MiB} MiB in 64 KiB writes from a push producer`,
        unit: 'MiB/s',
        spindle: rate(ms.spindle),
        baseline: rate(ms.baseline),
        baselineName: 'the CPS app served directly',
        higherIsBetter: true,
        target: '>= 0.9x',
        note: 'spindle = toCpsApp(toIterApp(app)); median of interleaved runs, node:net client counting bytes',
      });
    }
    return rows;
  },
};

export default bench;
