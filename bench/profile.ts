/**
 * `npx tsx bench/profile.ts KIND [MODE] [SECONDS]`: where a server's time per
 * request goes. Runs bench/servers/peer.ts KIND (spindle compiled by tsc) under
 * `node --cpu-prof` on core 0, loads it with wrk (MODE hello), a pipelining
 * client (`pipelined`) or back-to-back downloads (`rows`, `fresh`, `shared`)
 * from core 1, and prints the functions with the most self time, in
 * microseconds per request (per response for the streams), plus file totals
 * (`PROF_TOP=N`: the top N functions, 30 by default).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { download } from './harness.js';
import { buildDist, removeDist, serverEnv } from './servers/dist.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Streaming modes: the server's argument, the body bytes, and how many responses to read. */
const STREAMS: Record<string, { arg: number; bytes: number; responses: number }> = {
  rows: { arg: 100_000, bytes: 1_600_000, responses: 40 },
  fresh: { arg: 256 * 1024 * 1024, bytes: 256 * 1024 * 1024, responses: 4 },
  shared: { arg: 256 * 1024 * 1024, bytes: 256 * 1024 * 1024, responses: 4 },
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function and per file, in microseconds, from a .cpuprofile. */
export function selfTimes(
  p: Profile,
  fromUs = 0,
  toUs = Infinity,
): { byFunction: Map<string, number>; byFile: Map<string, number> } {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = nodes.get(p.samples[i]!)!;
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue; // startup and shutdown are not the load
    const file =
      n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/').replace(/^node:/, 'node:') ||
      `(${n.callFrame.functionName || 'native'})`;
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
    byFile.set(file, (byFile.get(file) ?? 0) + dt);
  }
  return { byFunction, byFile };
}

async function main(): Promise<void> {
  const [kind = 'cps', mode = 'hello', secs = '5'] = process.argv.slice(2);
  const dist = buildDist();
  const dir = mkdtempSync(join(tmpdir(), 'spindle-prof-'));
  const taskset = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0'] : [];
  const stream = STREAMS[mode];
  const serverMode = stream ? mode : 'hello';
  const argv = [
    ...taskset,
    process.execPath,
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    '--import',
    'tsx',
    join(here, 'servers', 'peer.ts'),
    kind,
    serverMode,
    String(stream?.arg ?? 0),
  ];
  const spawned = process.hrtime.bigint();
  const sinceSpawnUs = () => Number(process.hrtime.bigint() - spawned) / 1000;
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: serverEnv(dist) });
  const port = await new Promise<number>((resolve) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const client = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '1'] : [];
  let requests: number;
  const from = sinceSpawnUs();
  if (stream) {
    // Responses one after another from this process (pinned to core 1 where taskset exists), as bench/peers reads them.
    for (let i = 0; i < stream.responses; i++) await download(port, stream.bytes);
    requests = stream.responses;
  } else if (mode === 'pipelined') {
    const n = 200_000;
    const script = `const s=require('net').connect(${port},'127.0.0.1');const r=Buffer.from('GET / HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n');let seen=0,m=0;s.on('connect',()=>{for(let i=0;i<${n};i+=1000)s.write(Buffer.concat(Array(1000).fill(r)))});s.on('data',d=>{for(const c of d){if(c===(m===0||m===2?13:10))m++;else m=c===13?1:0;if(m===4){seen++;m=0}}if(seen>=${n})s.destroy()})`;
    spawnSync(
      client[0] ?? process.execPath,
      [...client.slice(1), ...(client.length ? [process.execPath] : []), '-e', script],
      { stdio: 'inherit' },
    );
    requests = n;
  } else {
    const r = spawnSync(
      client[0] ?? 'wrk',
      [...client.slice(1), ...(client.length ? ['wrk'] : []), '-t1', '-c50', `-d${secs}s`, `http://127.0.0.1:${port}/`],
      { encoding: 'utf8' },
    );
    requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? NaN);
  }
  const to = sinceSpawnUs();
  await new Promise<void>((r) => {
    proc.once('exit', () => r());
    proc.kill('SIGTERM');
  });
  // One profile per thread: the main thread's first (the largest), then each worker's (threadedIterApp's loops).
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile)
    .sort((a, b) => b.nodes.length - a.nodes.length);
  rmSync(dir, { recursive: true, force: true });
  removeDist(dist);
  for (const [i, profile] of profiles.entries()) {
    if (profiles.length > 1) console.log(`\n== thread ${i} of ${profiles.length}`);
    report(profile, kind, mode, requests, from, to);
  }
}

function report(profile: Profile, kind: string, mode: string, requests: number, from: number, to: number): void {
  // Sample times count from the profile's start, a little after the spawn: the window is the load, give or take those ms.
  const { byFunction, byFile } = selfTimes(profile, from, to);
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
  const idle = [...byFunction].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  const per = (us: number) => (us / requests).toFixed(3);
  console.log(
    `${kind} ${mode}: ${requests} requests; busy ${per(total - idle)} us/request (idle ${((idle / total) * 100).toFixed(0)}%)`,
  );
  console.log('\nself time by function, us/request:');
  for (const [k, v] of [...byFunction]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(process.env.PROF_TOP ?? 30)))
    console.log(`${per(v).padStart(8)}  ${k}`);
  console.log('\nself time by file, us/request:');
  for (const [k, v] of [...byFile]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20))
    console.log(`${per(v).padStart(8)}  ${k}`);
}

if (process.argv[1]?.endsWith('profile.ts')) await main();
