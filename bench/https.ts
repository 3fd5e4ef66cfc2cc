/**
 * HTTPS: spindle's listenTLS against node:https, each server in its own child
 * process with the test certificate (SPINDLE_BENCH_TLS=1), spindle compiled by
 * tsc as installed users run it:
 * (a) a 12-byte hello on 50 keep-alive connections, autocannon over TLS
 *     (the same servers as bench/http-hello.ts), median of alternating runs;
 * (b) 1 GiB (quick: 128 MiB) from a generator in 64 KiB chunks over TLS
 *     (the same servers as bench/gateway.ts (b)), read by a node:tls client
 *     counting bytes, interleaved runs.
 * Both servers use node:tls underneath (OpenSSL does the crypto); what differs
 * is everything around it: the transport, the HTTP server, the gateway.
 */
import { cpuSeconds, download, interleavedMs, type Benchmark, type BenchResult } from './harness.js';
import { buildDist, builtNote, removeDist, TLS_ENV } from './servers/dist.js';
import { measure, start, summary, type Run } from './http-hello.js';
import { startServer } from './gateway.js';

const MiB = 1024 * 1024;
const TLS = { [TLS_ENV]: '1' };

const bench: Benchmark = {
  title: 'HTTPS: spindle listenTLS vs node:https (hello keep-alive, 1 GiB stream)',
  async run({ quick }) {
    const dist = buildDist();
    const built = builtNote(dist);
    const rows: BenchResult[] = [];
    try {
      // (a) hello, keep-alive
      {
        const duration = quick ? 2 : 8;
        const rounds = quick ? 2 : 3;
        const s = await start('spindle-hello.ts', dist, TLS);
        const n = await start('node-hello.ts', null, TLS);
        try {
          await measure(s, 1, 1, 'https');
          await measure(n, 1, 1, 'https');
          const sr: Run[] = [];
          const nr: Run[] = [];
          for (let i = 0; i < rounds; i++) {
            sr.push(await measure(s, duration, 1, 'https'));
            nr.push(await measure(n, duration, 1, 'https'));
          }
          const sp = summary(sr);
          const nd = summary(nr);
          rows.push({
            name: 'HTTPS 12-byte hello, 50 conns keep-alive',
            unit: 'req/s',
            spindle: sp.rps,
            baseline: nd.rps,
            baselineName: 'node:https',
            higherIsBetter: true,
            target: '>= 1.0x',
            note: `p99 ${sp.p99} ms vs ${nd.p99} ms; server CPU ${sp.cpuUsPerReq.toFixed(1)} vs ${nd.cpuUsPerReq.toFixed(1)} us/req; median of ${rounds} alternating ${duration}s runs; errors ${sp.errors}/${nd.errors}; ${built}`,
          });
        } finally {
          s.child.kill();
          n.child.kill();
        }
      }
      // (b) stream
      {
        const total = quick ? 128 * MiB : 1024 * MiB;
        const runs = quick ? 3 : 5;
        const sp = await startServer('spindle', 'stream', total, dist, TLS);
        const nd = await startServer('node', 'stream', total, null, TLS);
        try {
          const cpu0 = [cpuSeconds(sp.proc.pid!), cpuSeconds(nd.proc.pid!)];
          const ms = await interleavedMs(
            runs,
            () => download(sp.port, total, '/', true),
            () => download(nd.port, total, '/', true),
          );
          const gib = ((runs + 1) * total) / (1024 * MiB);
          const cpuPerGiB = [cpuSeconds(sp.proc.pid!) - cpu0[0]!, cpuSeconds(nd.proc.pid!) - cpu0[1]!].map(
            (c) => c / gib,
          );
          const mbps = (t: number) => total / MiB / (t / 1000);
          rows.push({
            name: `HTTPS ${total / MiB} MiB from a generator in 64 KiB chunks`,
            unit: 'MiB/s',
            spindle: mbps(ms.spindle),
            baseline: mbps(ms.baseline),
            baselineName: 'node:https pipeline(Readable.from(gen), res)',
            higherIsBetter: true,
            target: '>= 1.0x',
            note: `median of ${runs} interleaved runs, node:tls client counting bytes; server CPU ${cpuPerGiB[0]!.toFixed(2)} vs ${cpuPerGiB[1]!.toFixed(2)} s/GiB; ${built}`,
          });
        } finally {
          await sp.stop();
          await nd.stop();
        }
      }
    } finally {
      removeDist(dist);
    }
    return rows;
  },
};

export default bench;
