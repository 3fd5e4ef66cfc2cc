/**
 * The reverse proxy's WebSocket tunnel: a `ws` server upstream (bench/servers/
 * websocket-server.ts, kind ws), reached directly, through spindle's reverseProxy
 * (bench/servers/proxy-spindle.ts, compiled by tsc) and through a node:http proxy
 * that pipes the upgraded sockets into each other (bench/servers/proxy-node.ts),
 * each proxy in its own process, the paths measured in alternating rounds:
 *
 * (a) a stream of 64 KiB binary messages from the upstream to a raw client that
 *     counts bytes, GB/s, with each proxy's CPU per GiB from /proc;
 * (b) 1 KiB echoes on one connection (one message in flight: the round trip) and
 *     on 50, with the `ws` client, msgs/s, with each proxy's CPU per message;
 * (c) the proxy's RSS growth (peak over the RSS after a warm-up) while it relays
 *     256 MiB (quick: 64 MiB) to a client that reads at 32 MiB/s: every proxy is
 *     paused most of the time, so what it holds is its bound (`maxBuffered` and
 *     the socket buffers) plus the garbage its reads leave.
 *
 * `TUNNEL_BASE=REV` adds spindle's proxy built at REV to the same alternation, for
 * a before/after pair of (a) and (c) in one run.
 */
import { connect } from 'node:net';
import { cpuSeconds, peakDuring, processMemory, type Benchmark, type BenchResult } from './harness.js';
import { startWithArg } from './http-client.js';
import { buildDist, builtNote, removeDist } from './servers/dist.js';
import { echoRate, startServer } from './websocket.js';

const MiB = 1024 * 1024;
/** The slow client's reading rate for (c). */
const SLOW_RATE = 32 * MiB;

/**
 * Open a WebSocket on 127.0.0.1:`port` with a raw socket (no frame parsing: it costs the same
 * on every path) and count what arrives after the 101 until `total` bytes (the stream's payload;
 * its frame headers make the wire a little longer). `rate` (bytes/s) reads slowly: the socket
 * pauses after each read for as long as that read should have taken.
 */
function wsStream(port: number, total: number, rate = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    let head: Buffer | null = Buffer.alloc(0);
    let got = 0;
    s.on('connect', () =>
      s.write(
        'GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    s.on('data', (d: Buffer) => {
      if (head !== null) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.subarray(0, 12).toString('latin1').endsWith('101')) return reject(new Error('no 101'));
        got = head.length - end - 4;
        head = null;
      } else got += d.length;
      if (got >= total) {
        s.destroy();
        return resolve();
      }
      if (rate > 0) {
        s.pause();
        setTimeout(() => s.resume(), (d.length / rate) * 1000);
      }
    });
    s.on('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Path {
  name: string;
  port: number;
  /** The proxy's pid (none for the direct path). */
  pid: number | null;
}

const bench: Benchmark = {
  title: 'WebSocket tunnel: through reverseProxy vs direct and vs a node:http pipe proxy',
  async run({ quick }) {
    const dist = buildDist();
    const baseRev = process.env.TUNNEL_BASE;
    const baseDist = baseRev ? buildDist(baseRev) : null;
    const total = (quick ? 128 : 512) * MiB;
    const slowTotal = (quick ? 64 : 256) * MiB;
    const stream = await startServer('ws', 'stream', total, null);
    const echo = await startServer('ws', 'echo', 0, null);
    const procs: Array<{ child: { kill(): void } }> = [];
    /** spindle's and node's proxies (and the base build's) in front of `upstream`. */
    const proxies = async (upstream: number): Promise<Path[]> => {
      const up = String(upstream);
      const s = await startWithArg('proxy-spindle.ts', dist, up);
      const n = await startWithArg('proxy-node.ts', null, up);
      procs.push(s, n);
      const paths = [
        { name: 'spindle', port: s.port, pid: s.child.pid! },
        { name: 'node', port: n.port, pid: n.child.pid! },
      ];
      if (baseDist) {
        const b = await startWithArg('proxy-spindle.ts', baseDist, up);
        procs.push(b);
        paths.push({ name: 'base', port: b.port, pid: b.child.pid! });
      }
      return paths;
    };
    const rows: BenchResult[] = [];
    const built = builtNote(dist);
    try {
      // (a) and (c): the stream.
      const streamPaths = [{ name: 'direct', port: stream.port, pid: null }, ...(await proxies(stream.port))];
      const rounds = quick ? 1 : 3;
      const gbps: Record<string, number[]> = {};
      const cpuPerGiB: Record<string, number[]> = {};
      for (const p of streamPaths) await wsStream(p.port, 64 * MiB); // warm-up
      for (let i = 0; i < rounds; i++) {
        for (const p of streamPaths) {
          const c0 = p.pid === null ? 0 : cpuSeconds(p.pid);
          const t0 = performance.now();
          await wsStream(p.port, total);
          (gbps[p.name] ??= []).push(total / 1e9 / ((performance.now() - t0) / 1000));
          if (p.pid !== null) (cpuPerGiB[p.name] ??= []).push(((cpuSeconds(p.pid) - c0) / total) * 1024 ** 3);
        }
      }
      const g = (n: string) => median(gbps[n]!);
      const c = (n: string) => median(cpuPerGiB[n]!).toFixed(2);
      const streamName = `${total / MiB} MiB in 64 KiB WebSocket messages, upstream to client`;
      const streamNote = `one connection; proxy CPU ${c('spindle')} s/GiB spindle, ${c('node')} node; median of ${rounds} alternating runs; ${built}`;
      rows.push(
        {
          name: `${streamName}, through reverseProxy vs direct`,
          unit: 'GB/s',
          spindle: g('spindle'),
          baseline: g('direct'),
          baselineName: 'direct from the ws server',
          higherIsBetter: true,
          note: streamNote,
        },
        {
          name: `${streamName}, through reverseProxy vs a node:http pipe proxy`,
          unit: 'GB/s',
          spindle: g('spindle'),
          baseline: g('node'),
          baselineName: 'node:http upgrade + socket.pipe (bench/servers/proxy-node.ts)',
          higherIsBetter: true,
          note: streamNote,
          extra: { cpuSPerGiB: median(cpuPerGiB.spindle!) },
        },
      );
      if (baseDist)
        rows.push({
          name: `${streamName}, through reverseProxy, this build vs TUNNEL_BASE`,
          unit: 'GB/s',
          spindle: g('spindle'),
          baseline: g('base'),
          baselineName: `reverseProxy built at ${baseRev}`,
          higherIsBetter: true,
          note: `proxy CPU ${c('spindle')} / ${c('base')} s/GiB (this / base); median of ${rounds} alternating runs`,
        });
      // (c) the RSS growth relaying to a slow reader: fresh proxies (the full-speed runs above left
      // their peaks behind), warmed up by a short full-speed stream.
      const growth: Record<string, number> = {};
      for (const p of (await proxies(stream.port)).filter((q) => q.pid !== null)) {
        await wsStream(p.port, 16 * MiB);
        await new Promise((r) => setTimeout(r, 300));
        const before = processMemory(p.pid!).rss;
        const peak = await peakDuring(p.pid!, () => wsStream(p.port, slowTotal, SLOW_RATE));
        growth[p.name] = (peak.peak - before) / MiB;
      }
      const slowName = `proxy RSS growth relaying ${slowTotal / MiB} MiB to a client reading at ${SLOW_RATE / MiB} MiB/s`;
      rows.push({
        name: slowName,
        unit: 'MiB',
        spindle: growth.spindle!,
        baseline: growth.node!,
        baselineName: 'node:http upgrade + socket.pipe',
        higherIsBetter: false,
        note: `peak RSS over the RSS after a 16 MiB warm-up (sampled every 50 ms), a fresh proxy process each; one run each; maxBuffered 256 KiB${baseDist ? `; TUNNEL_BASE ${growth.base!.toFixed(2)} MiB` : ''}`,
      });
      // (b) echoes.
      const echoPaths = [{ name: 'direct', port: echo.port, pid: null }, ...(await proxies(echo.port))];
      // One message in flight is at the mercy of the scheduler on a loaded machine: more, shorter rounds.
      const seconds = quick ? 1 : 2;
      const echoRounds = quick ? 1 : 5;
      for (const conns of [1, 50]) {
        const rate: Record<string, number[]> = {};
        const cpuUs: Record<string, number[]> = {};
        for (let i = 0; i < echoRounds; i++) {
          for (const p of echoPaths) {
            const c0 = p.pid === null ? 0 : cpuSeconds(p.pid);
            const r = await echoRate(p.port, seconds, conns);
            (rate[p.name] ??= []).push(r);
            if (p.pid !== null) (cpuUs[p.name] ??= []).push(((cpuSeconds(p.pid) - c0) / (r * seconds)) * 1e6);
          }
        }
        const r = (n: string) => median(rate[n]!);
        const u = (n: string) => median(cpuUs[n]!).toFixed(1);
        const rtt =
          conns === 1
            ? `; round trip ${(1e6 / r('spindle')).toFixed(0)} / ${(1e6 / r('direct')).toFixed(0)} / ${(1e6 / r('node')).toFixed(0)} us (spindle / direct / node)`
            : '';
        rows.push({
          name: `echo 1 KiB, ${conns === 1 ? 'one connection (one message in flight)' : '50 connections'}, through reverseProxy vs direct`,
          unit: 'msgs/s',
          spindle: r('spindle'),
          baseline: r('direct'),
          baselineName: 'direct to the ws server',
          higherIsBetter: true,
          note: `node:http pipe proxy ${r('node').toFixed(0)} msgs/s (spindle/node ${(r('spindle') / r('node')).toFixed(2)}x)${rtt}; proxy CPU ${u('spindle')} / ${u('node')} us per message (spindle / node)${baseDist ? `, base ${u('base')}` : ''}; median of ${echoRounds} alternating rounds of ${seconds} s; ws client`,
        });
      }
    } finally {
      for (const p of procs) p.child.kill();
      await stream.stop();
      await echo.stop();
      removeDist(dist);
      removeDist(baseDist);
    }
    return rows;
  },
};

export default bench;
