/**
 * Soak: a 1 GiB file served by StaticFile to a client reading at 100 KiB/s,
 * the server in its own process; its RSS is sampled from /proc every second.
 * The figure is the RSS growth from the first sample after the response
 * started to the largest sample (target: at most 8 MiB).
 *
 *     npx tsx bench/soak/static-slow.ts                # 60 s at 100 KiB/s
 *     npx tsx bench/soak/static-slow.ts --seconds=600
 *     npx tsx bench/soak/static-slow.ts --fast         # the whole GiB at full speed too
 *
 * The whole GiB at 100 KiB/s takes ~3 h; the slow run shows the steady state
 * (a reader slower than the disk: the server must not read ahead), the fast
 * run the whole file.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDist, DIST_ENV } from '../servers/dist.js';

const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 60);
const fast = process.argv.includes('--fast');
const RATE = 100 * 1024; // bytes per second
const SIZE = 1024 * 1024 * 1024;

const dir = fs.mkdtempSync(join(tmpdir(), 'spindle-soak-static-'));
fs.closeSync(fs.openSync(join(dir, 'big.bin'), 'w'));
fs.truncateSync(join(dir, 'big.bin'), SIZE); // sparse: reads cost no disk space

const dist = buildDist();
const server = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/static-server.ts', 'spindle', dir], {
  env: { ...process.env, ...(dist ? { [DIST_ENV]: dist } : {}) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve) =>
  server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().split('\n')[0]))),
);

function rssKiB(): number {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/** GET the file; read at `rate` bytes/s (Infinity: as fast as it comes) for at most `limit` seconds. */
async function download(
  rate: number,
  limit: number,
): Promise<{ received: number; startKiB: number; maxKiB: number; secs: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /files/big.bin HTTP/1.1\r\nHost: soak\r\n\r\n');
  let received = 0;
  let startKiB = 0;
  let maxKiB = 0;
  const t0 = performance.now();
  // The first samples include the server's warm-up (JIT, the first buffers): the baseline is taken 5 s in.
  const sampler = setInterval(() => {
    const kib = rssKiB();
    if (startKiB === 0 && performance.now() - t0 > 5000) startKiB = kib;
    if (startKiB !== 0) maxKiB = Math.max(maxKiB, kib);
  }, 1000);
  let refill: NodeJS.Timeout | null = null;
  await new Promise<void>((resolve) => {
    const stopAt = setTimeout(resolve, limit * 1000);
    const done = () => {
      clearTimeout(stopAt);
      resolve();
    };
    socket.on('close', done);
    if (rate === Infinity) {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= SIZE) done();
      });
      return;
    }
    // Paused mode: take at most rate/10 bytes every 100 ms; the rest waits in the kernel (TCP backpressure).
    refill = setInterval(() => {
      let budget = rate / 10;
      while (budget > 0 && socket.readableLength > 0) {
        const chunk = socket.read(Math.min(budget, socket.readableLength)) as Buffer | null;
        if (chunk === null) break;
        received += chunk.length;
        budget -= chunk.length;
      }
      if (received >= SIZE) done();
    }, 100);
    socket.on('readable', () => {});
  });
  clearInterval(sampler);
  if (refill !== null) clearInterval(refill);
  socket.destroy();
  return { received, startKiB, maxKiB: Math.max(maxKiB, rssKiB()), secs: (performance.now() - t0) / 1000 };
}

const MiB = (kib: number) => (kib / 1024).toFixed(1);
const slow = await download(RATE, seconds);
console.log(
  `slow client (100 KiB/s, ${slow.secs.toFixed(0)} s): received ${MiB(slow.received / 1024)} MiB of 1024; server RSS ${MiB(slow.startKiB)} → max ${MiB(slow.maxKiB)} MiB, growth ${MiB(slow.maxKiB - slow.startKiB)} MiB`,
);
if (fast) {
  const whole = await download(Infinity, 600);
  console.log(
    `fast client: received ${MiB(whole.received / 1024)} MiB in ${whole.secs.toFixed(1)} s; server RSS ${MiB(whole.startKiB)} → max ${MiB(whole.maxKiB)} MiB, growth ${MiB(whole.maxKiB - whole.startKiB)} MiB`,
  );
}
server.kill();
fs.rmSync(dir, { recursive: true, force: true });
if (dist) fs.rmSync(dist, { recursive: true, force: true });
