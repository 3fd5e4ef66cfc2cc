/**
 * Hosting threadedIterApp apps for tests: the real gateway (toCpsApp) over
 * FakeRequest, on a NodeReactor (worker threads report on Node's own loop, so
 * the tests await events, never sleeps).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import { ThreadPool } from '../src/reactor/threadpool.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { Logger, LogPublisher, type LogEvent } from '../src/reactor/log.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { FakeRequest, type FakeRequestInit } from './gateway-fakerequest.js';
import { patternByte } from './fixtures/threads/apps.js';

export const appsUrl = pathToFileURL(fileURLToPath(new URL('./fixtures/threads/apps.ts', import.meta.url))).href;

type WaitAsync = (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Resolve once `pred(words[i])` holds, waking on each Atomics.notify of that word. */
export async function until(words: Int32Array, i: number, pred: (v: number) => boolean): Promise<number> {
  for (;;) {
    const v = Atomics.load(words, i);
    if (pred(v)) return v;
    const r = waitAsync(words, i, v);
    if (r.async) await r.value;
  }
}

/**
 * Resolve once `pred()` holds, checking after each event-loop turn. For
 * conditions no thread signals (a gateway call on this thread); bounded by
 * the test timeout, never by a wall-clock window.
 */
export async function turnsUntil(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function newShared(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(16));
}

export function patternSha256(total: number): string {
  const buf = new Uint8Array(total);
  for (let i = 0; i < total; i++) buf[i] = patternByte(i);
  return createHash('sha256').update(buf).digest('hex');
}

export function sha256(parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export interface Hosted {
  req: FakeRequest;
  /** Resolves when the response finished or was aborted. */
  done: Promise<void>;
}

export function makeHost(): {
  reactor: NodeReactor;
  logs: LogEvent[];
  publisher: LogPublisher;
  serve(app: IterApp, init?: FakeRequestInit): Hosted;
} {
  const reactor = new NodeReactor();
  reactor.run();
  const publisher = new LogPublisher();
  const logs: LogEvent[] = [];
  publisher.addObserver((e) => void logs.push(e));
  const serve = (app: IterApp, init: FakeRequestInit = {}): Hosted => {
    const cps = toCpsApp(app, { reactor, logger: new Logger('test.threaded', publisher) });
    const req = new FakeRequest(reactor as unknown as MemoryReactor, init);
    void cps(req);
    const done = new Promise<void>((resolve) => void req.notifyFinish().addBoth(() => resolve()));
    return { req, done };
  };
  return { reactor, logs, publisher, serve };
}

/** A fresh host and a ThreadPool of `size` on its reactor before each test; the reactor (and pool) stopped after. */
export function withPoolHost(size = 1): { host: ReturnType<typeof makeHost>; pool: ThreadPool } {
  const ctx = {} as { host: ReturnType<typeof makeHost>; pool: ThreadPool };
  beforeEach(() => {
    ctx.host = makeHost();
    ctx.pool = new ThreadPool(ctx.host.reactor, { size });
  });
  afterEach(async () => {
    await ctx.host.reactor.stop();
  });
  return ctx;
}
