/**
 * The reverse proxy's memory under big and slow transfers: spindle's
 * reverseProxy (compiled, in its own process) in front of a node:http
 * upstream; the proxy's RSS is sampled from /proc every 50 ms.
 *
 *   1. 1 GiB download through the proxy, full speed;
 *   2. 1 GiB upload through the proxy, full speed;
 *   3. a client reading at 100 KiB/s while the upstream offers 1 GiB, for SLOW seconds;
 *   4. an upstream reading at 100 KiB/s while the client offers 1 GiB, for SLOW seconds.
 * Each row: the RSS growth at its peak over the RSS after a warm-up. Bound: 8 MiB.
 *
 *     npx tsx bench/soak/proxy-memory.ts [--quick] [--slow=SECONDS] [--rate=BYTES_PER_SECOND]
 *         [--size=MiB] [--whole] [--rows=3,4] [--progress=SECONDS]
 *
 * `--rate` sets the slow side's rate (default 100 KiB/s): at 2 MiB/s and
 * `--slow=150` a slow row moves about 300 MiB, through many of V8's 32 MiB
 * collection cycles of read buffers.
 * `--size` sets the big transfer (default 1024 MiB, 128 with `--quick`). `--whole` runs the
 * slow rows until the whole transfer has gone through at `--rate` (no cap unless `--slow`
 * is given too, then whichever comes first): at 8 MiB/s a GiB takes about 2 minutes, at the
 * issue's 100 KiB/s about 3 hours. Every row also reports the RSS at its end.
 * `--rows=3,4` runs only the rows named by number (the warm-up always runs), so the two slow
 * rows can run at once in two processes. `--progress=SECONDS` prints a line to stderr that
 * often (bytes moved, RSS, peak and growth over the base) so a run cut short still reports
 * what it saw.
 *     SPINDLE_BENCH_DIST=DIR npx tsx bench/soak/proxy-memory.ts   (a build of another commit)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist, DIST_ENV, removeDist, serverEnv } from '../servers/dist.js';
import { cpuSeconds, download, peakDuring, processMemory, type Peak } from '../harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const slowSeconds = Number(process.argv.find((a) => a.startsWith('--slow='))?.slice(7) ?? (quick ? 3 : 30));
const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const sizeArg = process.argv.find((a) => a.startsWith('--size='))?.slice(7);
const BIG = sizeArg !== undefined ? Number(sizeArg) * MiB : quick ? 128 * MiB : GiB;
const whole = process.argv.includes('--whole');
const SLOW_RATE = Number(process.argv.find((a) => a.startsWith('--rate='))?.slice(7) ?? 100 * 1024);
const rateText = SLOW_RATE % (1024 * 1024) === 0 ? `${SLOW_RATE / 1024 / 1024} MiB/s` : `${SLOW_RATE / 1024} KiB/s`;
const BOUND = 8 * MiB;
const slowGiven = process.argv.some((a) => a.startsWith('--slow='));
const slowCap = whole ? (slowGiven ? slowSeconds : Infinity) : slowSeconds;
const rowsArg = process.argv.find((a) => a.startsWith('--rows='))?.slice(7);
const chosen = new Set(rowsArg === undefined ? [1, 2, 3, 4] : rowsArg.split(',').map(Number));
const progressSeconds = Number(process.argv.find((a) => a.startsWith('--progress='))?.slice(11) ?? 0);
/** Body bytes the running row has moved (the client's count), for the progress lines. */
let moved = 0;

function startServer(
  script: string,
  args: string[],
  dist: string | null,
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...nodeArgs, '--import', 'tsx', join(here, '..', 'servers', script), ...args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: serverEnv(dist),
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** POST `total` bytes as fast as the proxy takes them; resolves with the answer (or after `stopAfter` s, closing). */
function upload(port: number, total: number, path: string, stopAfter = Infinity): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let sent = 0;
    let answer = '';
    const stop = setTimeout(
      () => (s.destroy(), resolve(`stopped after ${sent} bytes`)),
      stopAfter === Infinity ? 2 ** 31 - 1 : stopAfter * 1000,
    );
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        moved = sent;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
    };
    s.on('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: bench\r\nContent-Length: ${total}\r\n\r\n`);
      pump();
    });
    s.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (/\r\n\r\n[\s\S]*got \d+/.test(answer)) {
        clearTimeout(stop);
        s.destroy();
        resolve(answer.slice(answer.lastIndexOf('got ')));
      }
    });
    // A connection that fails mid-way still ends the row with what it saw.
    s.on('error', (e) => (clearTimeout(stop), resolve(`failed after ${sent} bytes: ${e.message}`)));
  });
}

/** GET `path` and read it at `rate` bytes/s for `seconds` (or until `total` body bytes), then close. */
function slowDownload(port: number, path: string, rate: number, seconds: number, total = Infinity): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = 0;
    let head = -1;
    const done = (): void => (clearTimeout(stop), s.destroy(), resolve(Math.max(0, got - head)));
    s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`));
    s.on('data', (d: Buffer) => {
      if (head < 0) head = got + d.indexOf('\r\n\r\n') + 4;
      got += d.length;
      moved = Math.max(0, got - head);
      if (got - head >= total) return done();
      s.pause();
      setTimeout(() => s.resume(), (d.length / rate) * 1000);
    });
    const stop = setTimeout(done, seconds === Infinity ? 2 ** 31 - 1 : seconds * 1000);
    s.on('error', (e) => (process.stderr.write(`slow download: ${e.message}\n`), done()));
  });
}

// SPINDLE_BENCH_DIST=DIR measures a build made elsewhere (e.g. an older commit's, for a before/after pair).
const given = process.env[DIST_ENV];
const dist = given ?? buildDist();
const upstream = await startServer('proxy-upstream.ts', [], null);
// PROXY_NODE_ARGS: node flags for the proxy process only (e.g. `--max-semi-space-size=1`), for experiments.
const proxyArgs = (process.env.PROXY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const proxy = await startServer('proxy-spindle.ts', [String(upstream.port)], dist, proxyArgs);
const pid = proxy.child.pid!;
const rows: string[] = [];
try {
  // Warm-up: JIT, buffers, the pool's connections.
  await download(proxy.port, 64 * MiB, `/bytes/${64 * MiB}`);
  await upload(proxy.port, 64 * MiB, '/up');
  await new Promise((r) => setTimeout(r, 500));
  const base = processMemory(pid);
  let cpu = cpuSeconds(pid);
  const measure = async (fn: () => Promise<void>): Promise<Peak> => {
    moved = 0;
    if (progressSeconds <= 0) return peakDuring(pid, fn);
    const t0 = performance.now();
    let top = 0;
    const tick = setInterval(() => {
      const m = processMemory(pid);
      top = Math.max(top, m.rss);
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(
        `progress ${new Date().toISOString().slice(11, 19)} ${s.toFixed(0)} s: moved ${(moved / MiB).toFixed(1)} MiB ` +
          `(${(moved / 1024 / s).toFixed(1)} KiB/s), RSS ${(m.rss / MiB).toFixed(1)} MiB ` +
          `(${((m.rss - base.rss) / MiB).toFixed(2)} over the base ${(base.rss / MiB).toFixed(1)}; ` +
          `anon ${((m.anon - base.anon) / MiB).toFixed(2)}), peak of these samples ${((top - base.rss) / MiB).toFixed(2)} over\n`,
      );
    }, progressSeconds * 1000);
    try {
      return await peakDuring(pid, fn);
    } finally {
      clearInterval(tick);
    }
  };
  const row = (what: string, r: Peak, extra: string) => {
    const used = cpuSeconds(pid) - cpu;
    cpu += used;
    const growth = r.peak - base.rss;
    const end = `end ${((r.end - base.rss) / MiB).toFixed(2)} MiB over the base`;
    const parts = `anon ${((r.anon - base.anon) / MiB).toFixed(2)}, file ${((r.file - base.file) / MiB).toFixed(2)}`;
    rows.push(
      `| ${what} | ${(base.rss / MiB).toFixed(1)} | ${(r.peak / MiB).toFixed(1)} | ${(growth / MiB).toFixed(2)} | ${parts} | ${growth <= BOUND ? 'yes' : 'NO'} | ${r.seconds.toFixed(1)} s, proxy CPU ${used.toFixed(2)} s; ${end}; ${extra} |`,
    );
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  };
  if (chosen.has(1))
    row(
      `${BIG / MiB} MiB download, full speed`,
      await measure(() => download(proxy.port, BIG, `/bytes/${BIG}`)),
      `${(BIG / 1e9).toFixed(2)} GB`,
    );
  let answer = '';
  if (chosen.has(2))
    row(
      `${BIG / MiB} MiB upload, full speed`,
      await measure(async () => void (answer = await upload(proxy.port, BIG, '/up'))),
      `upstream: ${answer}`,
    );
  let got = 0;
  if (chosen.has(3))
    row(
      `client reads ${rateText}, upstream offers ${BIG / MiB} MiB`,
      await measure(
        async () =>
          void (got = await slowDownload(proxy.port, `/bytes/${BIG}`, SLOW_RATE, slowCap, whole ? BIG : Infinity)),
      ),
      `client read ${(got / 1024).toFixed(0)} KiB`,
    );
  if (chosen.has(4))
    row(
      `upstream reads ${rateText}, client offers ${BIG / MiB} MiB`,
      await measure(async () => void (answer = await upload(proxy.port, BIG, `/up?rate=${SLOW_RATE}`, slowCap))),
      `${answer}; the client sent ${(moved / 1024).toFixed(0)} KiB`,
    );
} finally {
  proxy.child.kill();
  upstream.child.kill();
  if (given === undefined) removeDist(dist);
}
console.log(
  '| transfer through reverseProxy | RSS after warm-up (MiB) | peak RSS (MiB) | growth (MiB) | of which RssAnon / RssFile (MiB) | within 8 MiB | notes |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
process.exit(rows.every((r) => r.includes('| yes |')) ? 0 : 1);
