/**
 * The continuation bridge's cost: one CPS app served directly on spindle's
 * HTTP server against the same app served as toCpsApp(toIterApp(app)) —
 * through the bounded queue, the iterator and the gateway and back. Each
 * server runs in its own child process (bench/servers/bridge-server.ts):
 * (a) hello, autocannon req/s;
 * (b) 1 GiB (quick: 128 MiB) in 64 KiB writes from a push producer, read by a
 *     node:net client counting bytes.
 *
 * Both servers run spindle compiled by tsc (as installed users run it): tsx
 * compiles with esbuild's keepNames, whose `__name()` wrapper on every closure
 * created per request costs several percent and would tax the side with more
 * per-request closures. If the build fails the servers fall back to tsx.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { download, interleavedMs, type Benchmark, type BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MiB = 1024 * 1024;

/** Compile src/ with tsc into a temporary directory; null if that failed. */
function buildDist(): string | null {
  const out = mkdtempSync(join(tmpdir(), 'spindle-bridge-bench-'));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: root, stdio: 'ignore' },
  );
  if (!existsSync(join(out, 'src', 'bridge', 'toiterapp.js'))) {
    rmSync(out, { recursive: true, force: true });
    return null;
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
  return out;
}

let dist: string | null = null;

interface Server {
  proc: ChildProcess;
  port: number;
}

function start(how: 'direct' | 'bridged', mode: 'hello' | 'stream', total = 0): Promise<Server> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'servers', 'bridge-server.ts'), how, mode, String(total)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: dist ? { ...process.env, SPINDLE_BENCH_DIST: dist } : process.env,
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) =>
      reject(new Error(`bridge bench server ${how}/${mode} exited (${code}) before listening`)),
    );
  });
}

function stop(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    s.proc.once('exit', () => r());
    s.proc.kill('SIGKILL');
  });
}

type Autocannon = (o: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<{ requests: { average: number } }>;
const autocannonName = 'autocannon';
const autocannon = ((await import(autocannonName)) as { default: Autocannon }).default;

const median = (xs: number[]): number => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function reqPerSec(port: number, seconds: number): Promise<number> {
  return (await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 32, duration: seconds })).requests.average;
}

const bench: Benchmark = {
  title: 'toCpsApp(toIterApp(cpsApp)) vs the CPS app served directly',
  async run({ quick }) {
    dist = buildDist();
    const built = dist ? 'spindle compiled by tsc' : 'spindle through tsx (tsc build failed)';
    try {
      return await measure(quick, built);
    } finally {
      if (dist) rmSync(dist, { recursive: true, force: true });
      dist = null;
    }
  },
};

async function measure(quick: boolean, built: string): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  {
    const direct = await start('direct', 'hello');
    const bridged = await start('bridged', 'hello');
    // Short alternating slices: load from other processes hits both sides alike.
    const secs = quick ? 1 : 2;
    const rounds = quick ? 3 : 9;
    await reqPerSec(direct.port, 1);
    await reqPerSec(bridged.port, 1);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await reqPerSec(bridged.port, secs));
      b.push(await reqPerSec(direct.port, secs));
    }
    await stop(direct);
    await stop(bridged);
    rows.push({
      name: 'hello from a CPS app',
      unit: 'req/s',
      spindle: median(a),
      baseline: median(b),
      baselineName: 'the CPS app served directly',
      higherIsBetter: true,
      target: '>= 0.85x',
      note: `spindle = toCpsApp(toIterApp(app)); autocannon 32 connections, median of ${rounds} alternating ${secs}s slices each, servers in child processes, ${built}`,
    });
  }
  {
    const total = quick ? 128 * MiB : 1024 * MiB;
    const direct = await start('direct', 'stream', total);
    const bridged = await start('bridged', 'stream', total);
    const ms = await interleavedMs(
      quick ? 3 : 5,
      () => download(bridged.port, total),
      () => download(direct.port, total),
    );
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
      note: `spindle = toCpsApp(toIterApp(app)); median of interleaved runs, node:net client counting bytes, ${built}`,
    });
  }
  return rows;
}

export default bench;
