/**
 * Shared pieces of the reliability attacks: spy apps in both styles that count
 * what they start and what gets closed, servers on a real socket or on
 * StringTransport, raw clients, and `expectBalanced`, the check every attack
 * ends with (every counter back to zero, every iterable closed, no timer left,
 * nothing logged as an error).
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { toCpsApp, type GatewayStats } from '../../src/bridge/gateway.js';
import type { Chunk, Environ, IterApp, StartResponse } from '../../src/bridge/interfaces.js';
import type {
  IDelayedCall,
  IListeningPort,
  IProducer,
  IProtocolFactory,
  IReactor,
} from '../../src/reactor/interfaces.js';
import type { LogEvent } from '../../src/reactor/log.js';
import { NodeReactor } from '../../src/reactor/nodereactor.js';
import { HTTPFactory } from '../../src/protocols/http/factory.js';
import type { CpsApp, IRequest } from '../../src/protocols/http/interfaces.js';
import type { HTTPServerOptions } from '../../src/protocols/http/options.js';
import { parseResponses, type Response } from '../http-channel-helpers.js';

/** Bytes of one chunk of the /big response, and how many chunks it has (3 MiB: past every socket buffer). */
export const BIG_CHUNK = 16 * 1024;
export const BIG_CHUNKS = 192;
/** Seconds the /slow handlers wait before answering (on the server's reactor). */
export const SLOW_SECONDS = 0.02;

/** What the spy apps saw: starts against endings, per style. */
export class Tracker {
  iterStarts = 0;
  iterCloses = 0;
  cpsStarts = 0;
  cpsEnds = 0;
  /** App timers still pending (each app cancels its own when its response ends). */
  readonly appTimers = new Set<IDelayedCall>();
  unclosed(): number {
    return this.iterStarts - this.iterCloses + (this.cpsStarts - this.cpsEnds);
  }
}

/** A one-shot app timer that the app forgets when it fires or is cancelled. */
function appTimer(t: Tracker, reactor: IReactor, seconds: number, fn: () => void): IDelayedCall {
  const call = reactor.callLater(seconds, () => {
    t.appTimers.delete(call);
    fn();
  });
  t.appTimers.add(call);
  return call;
}
function cancelTimer(t: Tracker, call: IDelayedCall | null): void {
  if (call !== null && call.active()) call.cancel();
  if (call !== null) t.appTimers.delete(call);
}

/**
 * An iterator app with five routes: /small, /big (BIG_CHUNKS chunks), /upload
 * (reads CONTENT_LENGTH bytes as they come, pausing its output while waiting),
 * /slow (pauses its output, resumes after SLOW_SECONDS), /tick (the same on the
 * next reactor turn). Every iterable it
 * returns counts its `close()`.
 */
export function spyIterApp(t: Tracker): IterApp {
  return (environ: Environ, startResponse: StartResponse) => {
    t.iterStarts++;
    const reactor = environ['spindle.reactor']!;
    let timer: IDelayedCall | null = null;
    let closed = false;
    const path = environ.PATH_INFO;
    const body = (function* (): Generator<Chunk> {
      if (path === '/big') {
        startResponse('200 OK', [['content-type', 'application/octet-stream']]);
        const chunk = new Uint8Array(BIG_CHUNK).fill(0x61);
        for (let i = 0; i < BIG_CHUNKS; i++) yield chunk;
      } else if (path === '/upload') {
        const want = Number(environ.CONTENT_LENGTH || '0');
        const input = environ['wsgi.input'];
        let got = 0;
        let resume: (() => void) | null = null;
        environ['wsgi.input_handler']!(input, () => resume?.());
        while (got < want) {
          const part = input.read();
          if (part.length > 0) {
            got += part.length;
            continue;
          }
          resume = environ['wsgi.pause_output']!();
          yield '';
        }
        startResponse('200 OK', [['content-type', 'text/plain']]);
        yield `got ${got}`;
      } else if (path === '/slow') {
        const resume = environ['wsgi.pause_output']!();
        timer = appTimer(t, reactor, SLOW_SECONDS, resume);
        yield '';
        startResponse('200 OK', [['content-type', 'text/plain']]);
        yield 'slow';
      } else if (path === '/tick') {
        const resume = environ['wsgi.pause_output']!();
        timer = appTimer(t, reactor, 0, resume);
        yield '';
        startResponse('200 OK', [
          ['content-type', 'text/plain'],
          ['content-length', '4'],
        ]);
        yield 'tick';
      } else {
        startResponse('200 OK', [['content-type', 'text/plain']]);
        yield 'small';
      }
    })();
    return {
      [Symbol.iterator]: () => body,
      close() {
        if (closed) throw new Error('close() called twice');
        closed = true;
        t.iterCloses++;
        cancelTimer(t, timer);
      },
    };
  };
}

/**
 * The same five routes as a CPS app. /big streams through a registered push
 * producer; an ending (finished or client gone) is counted once through
 * `notifyFinish()`.
 */
export function spyCpsApp(t: Tracker): CpsApp {
  return (request: IRequest) => {
    t.cpsStarts++;
    let timer: IDelayedCall | null = null;
    let producer: (IProducer & { stopped: boolean }) | null = null;
    request.notifyFinish().addBoth(() => {
      t.cpsEnds++;
      cancelTimer(t, timer);
      return undefined;
    });
    request.setHeader('content-type', 'text/plain');
    if (request.path === '/big') {
      let sent = 0;
      let paused = false;
      const chunk = new Uint8Array(BIG_CHUNK).fill(0x62);
      const pump = (): void => {
        while (!paused && !producer!.stopped && sent < BIG_CHUNKS) {
          sent++;
          request.write(chunk);
        }
        if (sent === BIG_CHUNKS && !producer!.stopped) {
          producer!.stopped = true;
          request.unregisterProducer();
          request.finish();
        }
      };
      producer = {
        stopped: false,
        pauseProducing: () => void (paused = true),
        resumeProducing: () => {
          paused = false;
          pump();
        },
        stopProducing: () => void (producer!.stopped = true),
      };
      request.registerProducer(producer, true);
      pump();
    } else if (request.path === '/upload') {
      request.readBody({ limit: 16 * 1024 * 1024 }).addCallbacks(
        (b: Uint8Array) => {
          request.write(`got ${b.length}`);
          request.finish();
        },
        () => undefined, // the client went away mid-upload: nothing to answer
      );
    } else if (request.path === '/slow') {
      timer = appTimer(t, request.reactor, SLOW_SECONDS, () => {
        if (request.disconnected) return;
        request.write('slow');
        request.finish();
      });
    } else if (request.path === '/tick') {
      timer = appTimer(t, request.reactor, 0, () => {
        if (request.disconnected) return;
        request.setHeader('content-length', '4');
        request.write('tick');
        request.finish();
      });
    } else {
      request.write('small');
      request.finish();
    }
  };
}

export type Style = 'iter' | 'cps';

/** Log events that mean something was mishandled (errors, unhandled Deferreds). */
export function badEvents(events: LogEvent[]): LogEvent[] {
  return events.filter((e) => e.level === 'error' || e.level === 'critical' || /unhandled/i.test(e.message));
}

export interface RealServer {
  reactor: NodeReactor;
  factory: HTTPFactory;
  gatewayStats: GatewayStats | null;
  tracker: Tracker;
  port: number;
  listening: IListeningPort;
}

/** An HTTP server on 127.0.0.1:0 serving a spy app of `style`; `wrap` may put a policy factory around it. */
export async function realServer(
  style: Style,
  options: Partial<HTTPServerOptions> = {},
  wrap: (f: HTTPFactory) => IProtocolFactory = (f) => f,
): Promise<RealServer> {
  const reactor = new NodeReactor();
  const tracker = new Tracker();
  const gw = style === 'iter' ? toCpsApp(spyIterApp(tracker), { reactor }) : null;
  const factory = new HTTPFactory(gw ?? spyCpsApp(tracker), { reactor, ...options });
  const listening = await reactor.listenTCP(0, wrap(factory), { host: '127.0.0.1' });
  // Running, as under the CLI: a due call then fires on the next loop turn (setImmediate), not after a 1 ms timer.
  reactor.run();
  return {
    reactor,
    factory,
    gatewayStats: gw?.gatewayStats ?? null,
    tracker,
    port: listening.getHost().port,
    listening,
  };
}

/** Stop listening and stop the reactor (it drops what is still open). */
export async function stopServer(s: RealServer): Promise<void> {
  await s.listening.stopListening();
  await s.reactor.stop();
}

/** Resolve once `cond()` holds, checking after each turn of the event loop; reject after `ms` of real time. */
export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Every counter back to zero: what each attack must leave behind. */
export function balanceOf(
  s: RealServer | { reactor: IReactor; factory: HTTPFactory; gatewayStats: GatewayStats | null; tracker: Tracker },
) {
  return {
    openConnections: s.reactor.stats.openConnections,
    pausedProducers: s.reactor.stats.pausedProducers,
    openChannels: s.factory.stats.openChannels,
    activeResponses: s.gatewayStats?.activeResponses ?? 0,
    pausedResponses: s.gatewayStats?.pausedResponses ?? 0,
    writeBuffered: s.gatewayStats?.writeBuffered ?? 0,
    unclosedApps: s.tracker.unclosed(),
    appTimers: s.tracker.appTimers.size,
    delayedCalls: s.reactor.getDelayedCalls().length,
  };
}
export const BALANCED = {
  openConnections: 0,
  pausedProducers: 0,
  openChannels: 0,
  activeResponses: 0,
  pausedResponses: 0,
  writeBuffered: 0,
  unclosedApps: 0,
  appTimers: 0,
  delayedCalls: 0,
};

/** Wait (up to `ms`) for the server to settle after an attack; the balance then, to compare with BALANCED. */
export async function settled(s: RealServer, ms = 5000): Promise<ReturnType<typeof balanceOf>> {
  const done = () => JSON.stringify(balanceOf(s)) === JSON.stringify(BALANCED);
  await until(done, 'the server to settle', ms).catch(() => undefined);
  return balanceOf(s);
}

/** The complete responses in `text` (a trailing incomplete one is left out). */
export function completeResponses(text: string): Response[] {
  for (let end = text.length; end > 0; end = text.lastIndexOf('HTTP/1.1 ', end - 1)) {
    try {
      const rs = parseResponses(text.slice(0, end));
      if (!rs.some((r) => r.framing === 'chunked-incomplete')) return rs;
    } catch {
      // the last response is incomplete: try without it
    }
    if (end === 0) break;
  }
  return [];
}

/** A raw TCP client: everything it received as latin1 text; `closed` resolves on close. */
export function rawClient(port: number) {
  const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let text = '';
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => void (text += d));
  sock.on('error', () => undefined); // resets are the point of these tests
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  const connected = new Promise<void>((r, j) => {
    sock.once('connect', () => r());
    sock.once('error', j);
  });
  connected.catch(() => undefined); // a refused connection is an outcome some attacks count, not a crash
  return {
    sock,
    connected,
    closed,
    text: () => text,
    /** Bodies of the complete responses received so far. */
    bodies: (): string[] => completeResponses(text).map((r) => r.body),
    write: (s: string | Uint8Array) => sock.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s),
    /** Close with a TCP RST (SO_LINGER 0), the way a crashed peer leaves. */
    reset: () => {
      if (!sock.destroyed) sock.resetAndDestroy();
    },
  };
}
export type RawClient = ReturnType<typeof rawClient>;

/** Run `fn` over `items` with at most `n` at a time. */
export async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
}

/** Where a connection of the reset attack goes away. */
export const RESET_POINTS = [
  'request-line',
  'headers',
  'upload',
  'response',
  'paused',
  'slow',
  'pipelined',
  'complete',
] as const;
export type ResetPoint = (typeof RESET_POINTS)[number];

/** A small deterministic PRNG (mulberry32), so an attack is repeatable from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

/** Wait up to `turns` event-loop turns for `cond`. */
async function turnsUntil(cond: () => boolean, turns: number): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await turn();
}

/**
 * One connection that resets (TCP RST) at `point`. The cut inside a request
 * line, a header or an upload is at a random byte.
 */
export async function resetAt(s: RealServer, point: ResetPoint, rand: () => number): Promise<void> {
  const c = rawClient(s.port);
  try {
    await c.connected;
  } catch {
    return;
  }
  const cut = (text: string) => text.slice(0, 1 + Math.floor(rand() * (text.length - 1)));
  switch (point) {
    case 'request-line':
      c.write(cut('GET /small?q=1 HTTP/1.1\r\n'));
      break;
    case 'headers':
      c.write('GET /small HTTP/1.1\r\n' + cut('Host: x\r\nUser-Agent: reset-attack\r\nAccept: */*\r\n'));
      break;
    case 'upload': {
      const size = 200_000;
      c.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
      c.write(new Uint8Array(Math.floor(rand() * size)));
      await turnsUntil(() => false, 1 + Math.floor(rand() * 3));
      break;
    }
    case 'response':
      c.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      await turnsUntil(() => c.text().length > rand() * 64 * 1024, 200);
      break;
    case 'paused':
      // Stop reading: the server's socket buffer fills and its producer is paused.
      c.sock.pause();
      c.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      await turnsUntil(() => s.reactor.stats.pausedProducers > 0, 50);
      break;
    case 'slow':
      c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await turnsUntil(() => false, Math.floor(rand() * 3));
      break;
    case 'pipelined': {
      const all =
        'GET /small HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n';
      c.write(cut(all));
      await turnsUntil(() => false, Math.floor(rand() * 4));
      break;
    }
    case 'complete':
      // A normal client among the attackers: it must get its answer.
      c.write('GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await c.closed;
      if (c.bodies()[0] !== 'small') throw new Error(`a normal client got ${JSON.stringify(c.text().slice(0, 200))}`);
      return;
  }
  c.reset();
  await c.closed;
}

/** `count` connections resetting at random points (seeded), `concurrency` at a time; how many of each point. */
export async function resetAttack(
  s: RealServer,
  count: number,
  seed: number,
  concurrency = 50,
): Promise<Record<ResetPoint, number>> {
  const rand = prng(seed);
  const points = Array.from({ length: count }, () => RESET_POINTS[Math.floor(rand() * RESET_POINTS.length)]!);
  const tally = Object.fromEntries(RESET_POINTS.map((p) => [p, 0])) as Record<ResetPoint, number>;
  for (const p of points) tally[p]++;
  await pool(points, concurrency, (p) => resetAt(s, p, rand));
  return tally;
}

/** Bytes the parser fuzzes (the test over real sockets and the soak) insert into valid requests. */
export const NASTY_INSERTS: readonly string[] = [
  '\r',
  '\n',
  '\r\n',
  ':',
  ' ',
  '\t',
  '\0',
  '\x7f',
  '\xff',
  ',',
  ';',
  '0',
  'f',
  '-',
  'chunked',
  'Content-Length: 5\r\n',
  'Transfer-Encoding: chunked\r\n',
  'HTTP/1.1',
];
