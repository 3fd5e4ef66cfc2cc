import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ThreadPool, deferToThread } from '../src/reactor/threadpool.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import {
  CancelledError,
  InvalidArgumentError,
  QueueOverflow,
  ThreadPoolStopped,
  WorkerCrashed,
} from '../src/reactor/errors.js';
import type { Deferred } from '../src/reactor/deferred.js';

const funcs = pathToFileURL(fileURLToPath(new URL('./fixtures/threads/funcs.ts', import.meta.url))).href;
const pools: ThreadPool[] = [];
function makePool(...args: ConstructorParameters<typeof ThreadPool>): ThreadPool {
  const p = new ThreadPool(...args);
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

/** A gate a worker job blocks on: `started` resolves once the job runs, `release()` lets it return. */
function gate(): { flag: Int32Array; started: Promise<void>; release(): void } {
  const flag = new Int32Array(new SharedArrayBuffer(8));
  const waitAsync = (
    Atomics as unknown as {
      waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> };
    }
  ).waitAsync;
  const started = (async () => {
    while (Atomics.load(flag, 1) === 0) {
      const r = waitAsync(flag, 1, 0);
      if (r.async) await r.value;
    }
  })();
  return { flag, started, release: () => (Atomics.store(flag, 0, 1), Atomics.notify(flag, 0)) };
}

/** The Deferred's error (it must fail). */
async function failure(d: Deferred<unknown>): Promise<unknown> {
  try {
    await d;
  } catch (err) {
    return err;
  }
  throw new Error('expected the Deferred to fail');
}

describe('ThreadPool.deferToThread', () => {
  it('runs sync and async exports on another thread and fires with the structured-cloned result', async () => {
    const pool = makePool(null, { size: 2 });
    expect(await pool.deferToThread(funcs, 'add', 2, 40)).toBe(42);
    const value = { m: new Map([['k', [1, 2]]]), b: new Uint8Array([7, 8]) };
    expect(await pool.deferToThread(funcs, 'echoLater', value)).toEqual(value);
    const who = await pool.deferToThread<{ threadId: number }>(funcs, 'whoAmI');
    expect(who.threadId).toBeGreaterThan(0);
  });

  it('rebuilds a thrown error with its name, message, code, own fields and the worker stack', async () => {
    const pool = makePool(null, { size: 1 });
    const err = (await failure(pool.deferToThread(funcs, 'throwTyped'))) as Error & { code: string; status: number };
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('TeapotError');
    expect(err.message).toBe('short and stout');
    expect(err.code).toBe('E_TEAPOT');
    expect(err.status).toBe(418);
    expect(err.stack).toContain('funcs.ts');
    const thrown = (await failure(pool.deferToThread(funcs, 'throwString'))) as Error;
    expect(thrown.message).toBe('plain string');
  });

  it('names the module and export when the export is missing or not a function', async () => {
    const pool = makePool(null, { size: 1 });
    const missing = (await failure(pool.deferToThread(funcs, 'nope'))) as Error;
    expect(missing.name).toBe('TypeError');
    expect(missing.message).toMatch(/funcs\.ts has no exported function 'nope'/);
    expect(((await failure(pool.deferToThread(funcs, 'notAFunction'))) as Error).message).toMatch(/found number/);
  });

  it('a dotted export name reaches a function inside an exported object, called with that object as this', async () => {
    const pool = makePool(null, { size: 1 });
    expect(await pool.deferToThread(funcs, 'ns.triple', 14)).toBe(42);
    expect(await pool.deferToThread(funcs, 'ns.plusBase', 1)).toBe(101);
    expect(((await failure(pool.deferToThread(funcs, 'ns.missing'))) as Error).message).toMatch(/'ns\.missing'/);
  });

  it('a result that cannot be cloned fails the job, and the worker takes the next one', async () => {
    const pool = makePool(null, { size: 1 });
    expect(((await failure(pool.deferToThread(funcs, 'unclonable'))) as Error).name).toBe('DataCloneError');
    expect(await pool.deferToThread(funcs, 'add', 1, 1)).toBe(2);
    expect(pool.stats.workers).toBe(1);
  });

  it('an argument that cannot be cloned fails the job at once', async () => {
    const pool = makePool(null, { size: 1 });
    expect(((await failure(pool.deferToThread(funcs, 'add', () => 1, 2))) as Error).name).toBe('DataCloneError');
    expect(await pool.deferToThread(funcs, 'add', 3, 4)).toBe(7);
  });

  it('a worker that exits fails its job with WorkerCrashed (exit code kept) and is replaced', async () => {
    const pool = makePool(null, { size: 1 });
    const err = (await failure(pool.deferToThread(funcs, 'exitNow', 3))) as WorkerCrashed;
    expect(err).toBeInstanceOf(WorkerCrashed);
    expect(err.code).toBe('ERR_WORKER_CRASHED');
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/exitNow/);
    expect(await pool.deferToThread(funcs, 'add', 5, 5)).toBe(10);
  });

  it('takes its options first when there is no reactor, and rejects bad ones with InvalidArgumentError', async () => {
    const pool = makePool({ size: 3, maxQueue: 7 });
    expect([pool.size, pool.maxQueue]).toEqual([3, 7]);
    expect(await pool.deferToThread(funcs, 'add', 1, 2)).toBe(3);
    expect(() => new ThreadPool(null, { size: 0 })).toThrow(InvalidArgumentError);
    expect(() => new ThreadPool(null, { maxQueue: -1 })).toThrow(/maxQueue must be >= 0/);
  });

  it('terminateJob ends a job that will not end: its worker is terminated and replaced; a queued one is cancelled', async () => {
    const pool = makePool(null, { size: 1 });
    const g = gate();
    const stuck = pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'never');
    const queued = pool.deferToThread(funcs, 'add', 1, 1);
    await g.started;
    expect(pool.terminateJob(queued)).toBe(true);
    expect(await failure(queued)).toBeInstanceOf(CancelledError);
    expect(pool.terminateJob(stuck)).toBe(true);
    const err = await failure(stuck);
    expect(err).toBeInstanceOf(WorkerCrashed);
    expect((err as Error).message).toMatch(/terminated by terminateJob/);
    expect(pool.terminateJob(stuck)).toBe(false);
    expect(await pool.deferToThread(funcs, 'add', 2, 3)).toBe(5);
  });

  it('terminateJob on a job that already ran (taken from the queue, finished) returns false and changes nothing', async () => {
    const pool = makePool(null, { size: 2 });
    const stuck = gate();
    const second = gate();
    const blocked = pool.deferToThread(funcs, 'blockUntilReleased', stuck.flag, 's');
    const first = pool.deferToThread(funcs, 'add', 1, 0);
    const ran = pool.deferToThread(funcs, 'add', 2, 0); // queued, then run by the second worker
    const holding = pool.deferToThread(funcs, 'blockUntilReleased', second.flag, 'b');
    const waiting = pool.deferToThread(funcs, 'add', 3, 0); // still queued behind it
    expect(await first).toBe(1);
    expect(await ran).toBe(2);
    await second.started;
    expect(pool.stats.queued).toBe(1);
    expect(pool.terminateJob(ran)).toBe(false);
    expect(pool.stats).toEqual({ workers: 2, busy: 2, queued: 1 });
    stuck.release();
    second.release();
    expect(await Promise.all([blocked, holding, waiting])).toEqual(['s', 'b', 3]);
  });

  it('never runs more workers than size; extra jobs wait in the queue and all complete', async () => {
    const pool = makePool(null, { size: 2 });
    const g = gate();
    const blocked = [
      pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'a'),
      pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'b'),
    ];
    const queued = [1, 2, 3].map((i) => pool.deferToThread(funcs, 'add', i, 0));
    expect(pool.stats).toEqual({ workers: 2, busy: 2, queued: 3 });
    await g.started;
    g.release();
    expect(await Promise.all([...blocked, ...queued])).toEqual(['a', 'b', 1, 2, 3]);
    expect(pool.stats.workers).toBe(2);
  });

  it('past maxQueue waiting jobs a new one fails with QueueOverflow (the queue cannot grow)', async () => {
    const pool = makePool(null, { size: 1, maxQueue: 1 });
    const g = gate();
    const running = pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'r');
    const waiting = pool.deferToThread(funcs, 'add', 1, 2);
    const err = await failure(pool.deferToThread(funcs, 'add', 3, 4));
    expect(err).toBeInstanceOf(QueueOverflow);
    expect((err as Error).message).toMatch(/maxQueue 1/);
    expect(pool.stats.queued).toBe(1);
    g.release();
    expect([await running, await waiting]).toEqual(['r', 3]);
  });

  it('cancelling a job that has not started removes it from the queue', async () => {
    const pool = makePool(null, { size: 1 });
    const g = gate();
    const running = pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'r');
    const doomed = pool.deferToThread(funcs, 'add', 1, 2);
    expect(pool.stats.queued).toBe(1);
    doomed.cancel();
    expect(await failure(doomed)).toBeInstanceOf(CancelledError);
    expect(pool.stats.queued).toBe(0);
    g.release();
    expect(await running).toBe('r');
  });

  it('cancelling thousands of queued jobs behind a stuck worker keeps the queue to the live ones, in order', async () => {
    const pool = makePool(null, { size: 1, maxQueue: 10 });
    const g = gate();
    const running = pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'r');
    const keep = pool.deferToThread(funcs, 'add', 1, 0);
    for (let i = 0; i < 5000; i++) {
      const d = pool.deferToThread(funcs, 'add', i, 0);
      d.cancel();
      await failure(d);
    }
    const last = pool.deferToThread(funcs, 'add', 2, 0);
    expect(pool.stats.queued).toBe(2);
    expect((pool as unknown as { queue: unknown[] }).queue.length).toBeLessThan(2000);
    g.release();
    expect([await running, await keep, await last]).toEqual(['r', 1, 2]);
  });

  it('cancelling a running job errbacks at once and drops its later result', async () => {
    const pool = makePool(null, { size: 1 });
    const g = gate();
    const running = pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'r');
    await g.started;
    running.cancel();
    expect(await failure(running)).toBeInstanceOf(CancelledError);
    g.release();
    expect(await pool.deferToThread(funcs, 'add', 2, 2)).toBe(4); // the worker came back free
  });
});

describe('ThreadPool shutdown', () => {
  it("stops in the reactor's 'before shutdown': queued jobs fail with ThreadPoolStopped, running ones get stopTimeout, then are terminated", async () => {
    const reactor = new MemoryReactor();
    reactor.run();
    const pool = makePool(reactor, { size: 1, stopTimeout: 5 });
    const g = gate();
    const running = pool.deferToThread(funcs, 'blockUntilReleased', g.flag, 'r');
    const queued = pool.deferToThread(funcs, 'add', 1, 1);
    await g.started;
    const stopped = reactor.stop();
    expect(await failure(queued)).toBeInstanceOf(ThreadPoolStopped);
    expect(running.called).toBe(false); // still inside its grace period
    reactor.advance(5);
    expect(await failure(running)).toBeInstanceOf(ThreadPoolStopped);
    await stopped;
    expect(pool.stats.workers).toBe(0);
    expect(await failure(pool.deferToThread(funcs, 'add', 1, 1))).toBeInstanceOf(ThreadPoolStopped);
  });

  it('a running job that finishes within the grace period delivers its result, and shutdown then completes', async () => {
    const reactor = new MemoryReactor();
    reactor.run();
    let asked = 0;
    const pool = makePool(reactor, { size: 1, stopTimeout: 5 });
    const g = gate();
    const running = pool.submit<string>({
      moduleUrl: funcs,
      exportName: 'blockUntilReleased',
      args: [g.flag, 'late'],
      onStop: () => asked++,
    });
    await g.started;
    const stopped = reactor.stop();
    expect(asked).toBe(1);
    g.release();
    expect(await running).toBe('late');
    await stopped;
    expect(reactor.running).toBe(false);
    expect(reactor.getDelayedCalls()).toHaveLength(0); // the grace timer was cancelled
  });
});

describe('module-level deferToThread', () => {
  it('uses a lazily created default pool', async () => {
    expect(await deferToThread(funcs, 'add', 20, 22)).toBe(42);
  });

  it('does not keep the process alive once its jobs are done', () => {
    const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const pool = fileURLToPath(new URL('../src/reactor/threadpool.ts', import.meta.url));
    const script = `import { deferToThread } from ${JSON.stringify(pool)};\nconsole.log(await deferToThread(${JSON.stringify(funcs)}, 'add', 1, 2));\n`;
    const child = spawnSync(process.execPath, [tsx, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('3');
    expect(child.status).toBe(0); // exited by itself: no timeout kill
  });
});
