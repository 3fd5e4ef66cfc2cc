/**
 * The soak's in-process attacks, each against a fresh spindle server on
 * 127.0.0.1 (the same spy apps and balance checks as test/reliability, at
 * soak size). Each returns one row of the figures table.
 */
import { Buffer } from 'node:buffer';
import type { HTTPChannel } from '../../src/protocols/http/channel.js';
import { DEFAULT_MAX_HELD_INPUT_BYTES } from '../../src/protocols/http/options.js';
import { LimitConnectionsFactory } from '../../src/protocols/policies.js';
import { captureLogs } from '../../src/reactor/log.js';
import {
  BALANCED,
  badEvents,
  completeResponses,
  pool,
  prng,
  rawClient,
  realServer,
  resetAttack,
  settled,
  stopServer,
  until,
  type RealServer,
  type Style,
  NASTY_INSERTS,
} from '../../test/reliability/helpers.js';

export interface Row {
  step: string;
  /** What was held or tried: "1000 connections", "3000 inputs". */
  load: string;
  faults: number;
  /** Counters not back to zero, iterables not closed, error logs: must be 0. */
  leaks: number;
  figure: string;
}

/** Count what did not balance: each nonzero counter, plus each error logged. */
async function leaksOf(s: RealServer, logs: ReturnType<typeof captureLogs>): Promise<{ n: number; detail: string }> {
  const b = await settled(s, 20_000);
  const off = Object.entries(b).filter(([k, v]) => v !== BALANCED[k as keyof typeof BALANCED]);
  const bad = badEvents(logs.events);
  return {
    n: off.reduce((a, [, v]) => a + Math.abs(v), 0) + bad.length,
    detail: [...off.map(([k, v]) => `${k}=${v}`), ...bad.map((e) => e.message)].join('; '),
  };
}

async function withServer<T>(
  style: Style,
  options: Parameters<typeof realServer>[1],
  fn: (s: RealServer) => Promise<T>,
): Promise<T & { leaks: number; detail: string }> {
  const logs = captureLogs();
  const s = await realServer(style, options);
  try {
    const out = await fn(s);
    const { n, detail } = await leaksOf(s, logs);
    return { ...out, leaks: n, detail };
  } finally {
    await stopServer(s);
    logs.restore();
  }
}

export async function faults(style: Style, count: number): Promise<Row> {
  const r = await withServer(style, {}, async (s) => ({
    tally: await resetAttack(s, count, 42, 100),
    served: s.factory.stats.requests,
  }));
  const kinds = Object.entries(r.tally)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return {
    step: `faults, ${style} app`,
    load: `${count} connections`,
    faults: count - r.tally.complete,
    leaks: r.leaks,
    figure: `${kinds}; ${r.served} requests reached the app ${r.detail}`,
  };
}

/** `count` sockets each sending one header byte a second; a normal client measures its latency meanwhile. */
export async function slowLoris(style: Style, count: number, headerTimeout: number): Promise<Row> {
  const HEAD = `GET /small HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'s'.repeat(200)}\r\n\r\n`;
  const r = await withServer(style, { headerTimeout }, async (s) => {
    const loris = Array.from({ length: count }, () => rawClient(s.port));
    await Promise.all(loris.map((l) => l.connected));
    let byte = 0;
    const drip = setInterval(() => {
      for (const l of loris) if (!l.sock.destroyed) l.write(HEAD[byte % HEAD.length]!);
      byte++;
    }, 1000);
    const latencies: number[] = [];
    let failed = 0;
    const done = Promise.all(loris.map((l) => l.closed));
    let open = true;
    void done.then(() => (open = false));
    while (open) {
      const t0 = performance.now();
      const c = rawClient(s.port);
      c.write('GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await c.closed;
      latencies.push(performance.now() - t0);
      if (c.bodies()[0] !== 'small') failed++;
      await new Promise((res) => setTimeout(res, 20));
    }
    clearInterval(drip);
    const got408 = loris.filter((l) => completeResponses(l.text())[0]?.status === 408).length;
    latencies.sort((a, b) => a - b);
    return {
      got408,
      failed,
      served: latencies.length,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      max: latencies.at(-1) ?? 0,
      timeouts: s.factory.stats.timeouts,
    };
  });
  return {
    step: `slow-loris, ${style} app`,
    load: `${count} sockets, 1 byte/s`,
    faults: count,
    leaks: r.leaks + (count - r.got408) + r.failed,
    figure: `${r.got408}/${count} got 408 at ${headerTimeout} s; ${r.served} normal requests served meanwhile (${r.failed} failed), latency p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms ${r.detail}`,
  };
}

const SEEDS = [
  'GET /small?x=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n',
  'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nT: t\r\n\r\n',
  'GET /slow HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
];
/** `count` mutated requests (seeded), each on its own connection at random write splits. */
export async function fuzz(style: Style, count: number): Promise<Row> {
  const rand = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let malformed = 0;
  const r = await withServer(style, { headerTimeout: 1, idleTimeout: 1 }, async (s) => {
    await pool(
      Array.from({ length: count }, (_, i) => i),
      50,
      async () => {
        let text = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(SEEDS)).join('');
        for (let m = Math.floor(rand() * 5); m > 0; m--) {
          const at = Math.floor(rand() * text.length);
          text = text.slice(0, at) + pick(NASTY_INSERTS) + text.slice(at + Math.floor(rand() * 4));
        }
        const c = rawClient(s.port);
        const bytes = Buffer.from(text, 'latin1');
        for (let pos = 0; pos < bytes.length;) {
          const n = 1 + Math.floor(rand() * 64);
          c.write(new Uint8Array(bytes.subarray(pos, pos + n)));
          pos += n;
        }
        c.sock.end();
        await c.closed;
        if (c.text().length > 0 && completeResponses(c.text()).length === 0) malformed++;
      },
    );
    return { smuggled: 0, bad: s.factory.stats.badRequests };
  });
  return {
    step: `parser fuzz, ${style} app`,
    load: `${count} inputs`,
    faults: r.bad,
    leaks: r.leaks + malformed,
    figure: `${r.bad} rejected by the parser, ${malformed} unparsable answers ${r.detail}`,
  };
}

/** `count` pipelined requests written at once on one connection; the server's held input is read after every delivery. */
export async function pipelined(style: Style, count: number): Promise<Row> {
  const r = await withServer(style, {}, async (s) => {
    // Held input grows only in dataReceived, so reading it after every delivery gives the exact maximum.
    let maxHeld = 0;
    const build = s.factory.buildProtocol.bind(s.factory);
    s.factory.buildProtocol = (addr) => {
      const channel = build(addr) as HTTPChannel;
      const receive = channel.dataReceived.bind(channel);
      channel.dataReceived = (data: Uint8Array) => {
        receive(data);
        maxHeld = Math.max(maxHeld, (channel as unknown as { parser: { bufferedBytes: number } }).parser.bufferedBytes);
      };
      return channel;
    };
    const c = rawClient(s.port);
    let seen = 0;
    let tail = '';
    c.sock.removeAllListeners('data');
    c.sock.on('data', (d: string) => {
      const t = tail + d;
      seen += t.split('HTTP/1.1 200 OK').length - 1;
      tail = t.slice(-16);
    });
    const t0 = performance.now();
    const one = 'GET /small HTTP/1.1\r\nHost: x\r\n\r\n';
    for (let sent = 0; sent < count; sent += 10_000) c.write(one.repeat(Math.min(10_000, count - sent)));
    while (seen < count) await new Promise((res) => setTimeout(res, 50));
    const secs = (performance.now() - t0) / 1000;
    c.sock.end();
    await c.closed;
    return { secs, maxHeld, responses: s.factory.stats.responses };
  });
  const over = r.maxHeld > DEFAULT_MAX_HELD_INPUT_BYTES + 64 * 1024 ? 1 : 0;
  return {
    step: `pipelined flood, ${style} app`,
    load: `${count} requests, 1 connection`,
    faults: 0,
    leaks: r.leaks + over + (r.responses === count ? 0 : 1),
    figure: `${r.responses} answered in order in ${r.secs.toFixed(1)} s (${Math.round(count / r.secs)} req/s); held input max ${(r.maxHeld / 1024).toFixed(0)} KiB (bound ${DEFAULT_MAX_HELD_INPUT_BYTES / 1024} KiB + one read) ${r.detail}`,
  };
}

/** `count` connections held open against `maxConnections`: the rest are refused at once; held ones still served. */
export async function connectionFlood(count: number, maxConnections: number): Promise<Row> {
  const logs = captureLogs();
  let limit: LimitConnectionsFactory | null = null;
  const s = await realServer('cps', {}, (f) => (limit = new LimitConnectionsFactory(f, { maxConnections })));
  try {
    // In waves of 250, so the kernel's accept backlog (511) never overflows: past it
    // Linux drops handshakes silently and the client retries for seconds.
    const clients: ReturnType<typeof rawClient>[] = [];
    const accounted = () => limit!.stats.acceptedConnections + limit!.stats.rejectedConnections;
    while (clients.length < count) {
      const wave = Array.from({ length: Math.min(250, count - clients.length) }, () => rawClient(s.port));
      clients.push(...wave);
      await until(() => accounted() >= clients.length, 'every connection accepted or refused', 20_000);
    }
    const held = clients.filter((c) => !c.sock.destroyed && !c.sock.readableEnded);
    const refusedClosed = await Promise.race([
      Promise.all(clients.map((c) => (held.includes(c) ? Promise.resolve() : c.closed))).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
    ]);
    for (const c of held) c.write('GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await Promise.all(held.map((c) => c.closed));
    const served = held.filter((c) => c.bodies()[0] === 'small').length;
    const stats = { ...limit!.stats };
    const { n, detail } = await leaksOf(s, logs);
    const warnings = logs.events.filter((e) => e.namespace === 'spindle.policies' && e.level === 'warn').length;
    const bad =
      (stats.rejectedConnections === count - maxConnections ? 0 : 1) +
      (served === maxConnections ? 0 : 1) +
      (refusedClosed ? 0 : 1);
    return {
      step: 'connection flood (LimitConnectionsFactory)',
      load: `${count} connections (waves of 250), max ${maxConnections}`,
      faults: count - maxConnections,
      leaks: n + bad,
      figure: `${stats.rejectedConnections} refused at once (${warnings} warning logged), ${served}/${maxConnections} held connections served ${detail}`,
    };
  } finally {
    await stopServer(s);
    logs.restore();
  }
}
