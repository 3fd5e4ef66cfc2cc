/**
 * Static file benchmark: a 1 MiB file over 10 keep-alive connections, served by
 * spindle's StaticFile (site() on HTTPFactory, compiled by tsc) against
 * node:http with fs.createReadStream().pipe(res), `send` and `serve-static`
 * (the Express stack), each server in its own process, all in the same run,
 * measured alternately with autocannon. Rows: spindle against each baseline
 * (req/s of whole 1 MiB responses); the note adds server CPU per request.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchResult } from './harness.js';
import { cpuSeconds } from './harness.js';
import { median, start } from './http-hello.js';
import { buildDist, builtNote, removeDist } from './servers/dist.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  throughput: { average: number };
  errors: number;
  non2xx: number;
}
type Autocannon = (opts: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;
const autocannonModule = 'autocannon';
const autocannon = ((await import(autocannonModule)) as { default: Autocannon }).default;

const SIZE = 1024 * 1024;
const CONNECTIONS = 10;

const bench: Benchmark = {
  title: 'Static file: 1 MiB, keep-alive, StaticFile vs createReadStream().pipe(res), send, serve-static',
  async run({ quick }) {
    const duration = quick ? 2 : 5;
    const rounds = quick ? 1 : 3;
    const dir = fs.mkdtempSync(join(tmpdir(), 'spindle-bench-static-'));
    const data = Buffer.alloc(SIZE);
    for (let i = 0; i < SIZE; i++) data[i] = (i * 7919) & 0xff;
    fs.writeFileSync(join(dir, 'file.bin'), data);
    const dist = buildDist();
    const kinds = ['spindle', 'node', 'send', 'static'] as const;
    const servers = await Promise.all(
      kinds.map((k) => start('static-server.ts', k === 'spindle' ? dist : null, { STATIC_KIND: k, STATIC_DIR: dir })),
    );
    const runs = new Map<string, { rps: number[]; cpu: number; requests: number; errors: number }>(
      kinds.map((k) => [k, { rps: [], cpu: 0, requests: 0, errors: 0 }]),
    );
    const url = (port: number) => `http://127.0.0.1:${port}/files/file.bin`;
    try {
      for (const s of servers) await autocannon({ url: url(s.port), connections: CONNECTIONS, duration: 1 }); // warm up (JIT)
      for (let i = 0; i < rounds; i++) {
        for (const [j, s] of servers.entries()) {
          const cpu0 = cpuSeconds(s.child.pid!);
          const r = await autocannon({ url: url(s.port), connections: CONNECTIONS, duration });
          const acc = runs.get(kinds[j]!)!;
          acc.cpu += cpuSeconds(s.child.pid!) - cpu0;
          acc.rps.push(r.requests.average);
          acc.requests += r.requests.total;
          acc.errors += r.errors + r.non2xx;
        }
      }
    } finally {
      for (const s of servers) s.child.kill();
      removeDist(dist);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const sp = runs.get('spindle')!;
    const cpuUs = (k: { cpu: number; requests: number }) => ((k.cpu / k.requests) * 1e6).toFixed(0);
    const names: Record<string, string> = {
      node: 'createReadStream().pipe(res)',
      send: 'send',
      static: 'serve-static',
    };
    return (['node', 'send', 'static'] as const).map((k): BenchResult => {
      const b = runs.get(k)!;
      return {
        name: `1 MiB file, ${CONNECTIONS} conns keep-alive, vs ${names[k]}`,
        unit: 'req/s',
        spindle: median(sp.rps),
        baseline: median(b.rps),
        baselineName: names[k]!,
        higherIsBetter: true,
        target: '>= 1.0x',
        note: `server CPU ${cpuUs(sp)} vs ${cpuUs(b)} us/req; median of ${rounds} alternating ${duration}s runs; errors ${sp.errors}/${b.errors}; ${builtNote(dist)}`,
      };
    });
  },
};

export default bench;
