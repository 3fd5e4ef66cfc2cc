/**
 * A client that leaves while its response is outstanding (issue 12, item 3),
 * over real sockets on 127.0.0.1. By default a FIN is the client leaving (as
 * node:http, Twisted and nginx take it), exactly like an RST: the CPS app's
 * `notifyFinish()` errbacks with ConnectionLost, its producer is stopped, an
 * iterator app's iterable is closed once (G14), and a bridged app
 * (toCpsApp(toIterApp(cps))) has its inner CPS side cancelled, a worker
 * thread blocked writing is woken. With
 * `allowHalfOpen` a FIN is a half-close and the response still arrives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { ConnectionLost } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type { IDelayedCall, IListeningPort, IPushProducer } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { rawClient, until } from './reliability/helpers.js';
import { threadedIterApp } from '../src/bridge/threaded.js';
import { ThreadPool } from '../src/reactor/threadpool.js';
import { appsUrl, newShared } from './threaded-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** What the app saw; `ended` resolves when the app learned that its response is over. */
class Seen {
  events: string[] = [];
  started!: Promise<void>;
  ended!: Promise<void>;
  private start!: () => void;
  private end!: () => void;
  constructor() {
    this.started = new Promise((r) => (this.start = r));
    this.ended = new Promise((r) => (this.end = r));
  }
  began(what: string): void {
    this.events.push(what);
    this.start();
  }
  over(what: string): void {
    this.events.push(what);
    this.end();
  }
}

/** A long-poll: answers in 30 s unless the client leaves first. */
function longPoll(seen: Seen, handle: { finish?: () => void }): CpsApp {
  return (req: IRequest) => {
    const timer: IDelayedCall = req.reactor.callLater(30, () => handle.finish!());
    handle.finish = () => {
      if (timer.active()) timer.cancel();
      req.write('late answer');
      req.finish();
    };
    req.notifyFinish().addCallbacks(
      () => seen.over('finished'),
      (f: Failure) => {
        if (timer.active()) timer.cancel();
        seen.over(f.value instanceof ConnectionLost ? 'lost' : `other: ${String(f.value)}`);
      },
    );
    seen.began('waiting');
  };
}

/** Server-sent events from a push producer: one event, then nothing until the test says. */
function eventProducer(seen: Seen, handle: { finish?: () => void }): CpsApp {
  return (req: IRequest) => {
    req.setHeader('Content-Type', 'text/event-stream');
    const producer: IPushProducer = {
      pauseProducing: () => undefined,
      resumeProducing: () => undefined,
      stopProducing: () => seen.events.push('producer stopped'),
    };
    req.registerProducer(producer, true);
    handle.finish = () => {
      req.write('data: 2\n\n');
      req.unregisterProducer();
      req.finish();
    };
    req.notifyFinish().addCallbacks(
      () => seen.over('finished'),
      (f: Failure) => seen.over(f.value instanceof ConnectionLost ? 'lost' : `other: ${String(f.value)}`),
    );
    req.write('data: 1\n\n');
    seen.began('streaming');
  };
}

/** An iterator app paused between two server-sent events (wsgi.pause_output). */
function pausedEvents(seen: Seen, handle: { finish?: () => void }): IterApp {
  return (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/event-stream']]);
    let step = 0;
    let closes = 0;
    const it: Iterator<string> & Iterable<string> & { close(): void } = {
      [Symbol.iterator]() {
        return it;
      },
      next(): IteratorResult<string> {
        step++;
        if (step === 1) return { done: false, value: 'data: 1\n\n' };
        if (step === 2) {
          handle.finish = environ['wsgi.pause_output']!();
          seen.began('paused');
          return { done: false, value: '' };
        }
        if (step === 3) return { done: false, value: 'data: 2\n\n' };
        return { done: true, value: undefined };
      },
      close() {
        closes++;
        seen.over(closes === 1 ? (step >= 4 ? 'closed after the end' : 'closed early') : 'closed twice');
      },
    };
    return it;
  };
}

type AppKind = 'cps long-poll' | 'cps producer' | 'iter paused' | 'bridged';

function build(kind: AppKind, seen: Seen, handle: { finish?: () => void }, reactor: NodeReactor): CpsApp {
  if (kind === 'cps long-poll') return longPoll(seen, handle);
  if (kind === 'cps producer') return eventProducer(seen, handle);
  if (kind === 'iter paused') return toCpsApp(pausedEvents(seen, handle), { reactor });
  return toCpsApp(toIterApp(eventProducer(seen, handle), { reactor }), { reactor });
}

async function start(kind: AppKind, allowHalfOpen?: boolean) {
  const reactor = new NodeReactor();
  const seen = new Seen();
  const handle: { finish?: () => void } = {};
  const app = build(kind, seen, handle, reactor);
  const factory = new HTTPFactory(app, allowHalfOpen === undefined ? { reactor } : { reactor, allowHalfOpen });
  // Resolves once the server's channel has handled the client's FIN.
  let finHandled!: () => void;
  const finSeen = new Promise<void>((r) => (finHandled = r));
  const buildChannel = factory.buildProtocol.bind(factory);
  factory.buildProtocol = (addr) => {
    const channel = buildChannel(addr)!;
    const onFin = channel.readConnectionLost!.bind(channel);
    channel.readConnectionLost = () => {
      onFin();
      finHandled();
    };
    return channel;
  };
  const port: IListeningPort = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
  reactor.run();
  cleanups.push(async () => {
    await port.stopListening();
    await reactor.stop();
  });
  const client = rawClient(port.getHost().port);
  cleanups.push(() => client.reset());
  await client.connected;
  client.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
  await seen.started;
  // Streaming apps: wait until the first event reached the client, so the response is under way.
  if (kind !== 'cps long-poll') await until(() => client.text().includes('data: 1'), 'the first event');
  return { reactor, seen, handle, factory, client, app, finSeen };
}

const KINDS: AppKind[] = ['cps long-poll', 'cps producer', 'iter paused', 'bridged'];
const expectedEnd: Record<AppKind, string[]> = {
  'cps long-poll': ['waiting', 'lost'],
  'cps producer': ['streaming', 'producer stopped', 'lost'],
  'iter paused': ['paused', 'closed early'],
  // The outer gateway closes its iterable; toIterApp cancels the inner CPS side (G14).
  bridged: ['streaming', 'producer stopped', 'lost'],
};

describe('a client that leaves while its response is outstanding (default: FIN means gone)', () => {
  for (const kind of KINDS) {
    for (const how of ['FIN', 'RST'] as const) {
      it(`${kind}, client sends ${how}: the app is told at once and everything is released`, async () => {
        const s = await start(kind);
        if (how === 'FIN') s.client.sock.end();
        else s.client.reset();
        await s.seen.ended;
        await s.client.closed;
        await until(() => s.factory.stats.openChannels === 0, 'the channel to close');
        expect(s.seen.events).toEqual(expectedEnd[kind]);
        const gw = (s.app as { gatewayStats?: { activeResponses: number; pausedResponses: number } }).gatewayStats;
        if (gw !== undefined)
          expect({ active: gw.activeResponses, paused: gw.pausedResponses }).toEqual({ active: 0, paused: 0 });
        // Nothing is left to fire later: the long-poll's 30 s timer was cancelled by the app.
        expect(s.reactor.getDelayedCalls().filter((c) => c.getTime() > s.reactor.seconds() + 1)).toEqual([]);
      });
    }
  }
});

describe('allowHalfOpen: a FIN is a half-close, the response still arrives', () => {
  for (const kind of KINDS) {
    it(`${kind}: the app is not told, finishes later, the client reads the whole response, then the connection closes`, async () => {
      const s = await start(kind, true);
      s.client.sock.end();
      await s.finSeen;
      expect(s.seen.events).toEqual(expectedEnd[kind].slice(0, 1));
      s.handle.finish!();
      await s.client.closed;
      await s.seen.ended;
      if (kind === 'cps long-poll') expect(s.client.bodies()).toEqual(['late answer']);
      else expect(s.client.bodies()).toEqual(['data: 1\n\ndata: 2\n\n']);
      expect(s.seen.events.at(-1)).toBe(kind === 'iter paused' ? 'closed after the end' : 'finished');
    });
  }
});

describe('a client that sends FIN while a worker thread blocks writing its response', () => {
  it('wakes the worker: its finally runs, and the worker serves the next request', async () => {
    const reactor = new NodeReactor();
    const pool = new ThreadPool(reactor, { size: 1 });
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const app = toCpsApp(threadedIterApp(appsUrl, 'writeLoop', { pool, ringSize: 64 * 1024 }), { reactor });
    const factory = new HTTPFactory(app, { reactor });
    const port: IListeningPort = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
    reactor.run();
    cleanups.push(async () => {
      await port.stopListening();
      await reactor.stop();
    });
    const client = rawClient(port.getHost().port);
    cleanups.push(() => client.reset());
    await client.connected;
    // The client reads nothing: the worker blocks in write() once the ring and the socket are full.
    client.sock.pause();
    client.write(`GET /?${64 << 20},65536 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => Atomics.load(shared, 0) >= 64 * 1024, 'the worker to start writing');
    client.sock.end();
    await until(() => Atomics.load(shared, 1) === 1, "the worker app's finally to run");
    expect(Atomics.load(shared, 0)).toBeLessThan(64 << 20);
    const next = toCpsApp(threadedIterApp(appsUrl, 'hello', { pool }), { reactor });
    const factory2 = new HTTPFactory(next, { reactor });
    const port2: IListeningPort = await reactor.listenTCP(0, factory2, { host: '127.0.0.1' });
    cleanups.push(() => port2.stopListening());
    const second = rawClient(port2.getHost().port);
    await second.connected;
    second.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await second.closed;
    expect(second.bodies()).toEqual(['hello world']);
  }, 30_000);
});
