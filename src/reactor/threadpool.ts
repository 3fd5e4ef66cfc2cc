/**
 * A pool of node:worker_threads running jobs `import(moduleUrl)[exportName](...args)`
 * and firing a Deferred with the result, Twisted's `deferToThread` for Node.
 *
 * Workers start lazily (on the first job that finds none idle, up to `size`),
 * run one job at a time, and are unref'd while idle, so a pool never keeps the
 * process alive by itself. Jobs beyond the busy workers wait in a queue bounded
 * by `maxQueue` (past it: `QueueOverflow`). A pool made with a reactor stops in
 * that reactor's 'before shutdown' phase: queued jobs errback with
 * `ThreadPoolStopped`, running ones get `stopTimeout` seconds to finish, then
 * the workers are terminated.
 *
 * Workers load TypeScript when this module itself runs from source (.ts, under
 * tsx or vitest): they start with tsx's loader. From dist/ they run plain JS.
 *
 * One piece on purpose: queue, worker slots, crash replacement and the stop
 * sequence all move the same jobs between the same states. The worker's side
 * is worker.ts; errors cross threads through threaderror.ts.
 */
import { Worker, type Transferable } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Deferred, fail } from './deferred.js';
import { InvalidArgumentError, QueueOverflow, ThreadPoolStopped, WorkerCrashed } from './errors.js';
import type { IReactorCore, IReactorTime } from './interfaces.js';
import { rebuildError } from './threaderror.js';
import type { JobMessage, ResultMessage } from './worker.js';

/** Default number of worker threads. Blocking apps mostly wait, so more than the cores is fine. */
export const THREAD_POOL_SIZE = 4;
/** Default bound on jobs waiting for a free worker. */
export const THREAD_POOL_MAX_QUEUE = 1024;
/** Default seconds running jobs get to finish when the pool stops, before their workers are terminated. */
export const THREAD_POOL_STOP_TIMEOUT = 2;

/** The reactor services a pool uses: time for the stop grace period, the shutdown trigger. */
export type PoolReactor = Pick<IReactorTime, 'callLater'> & Pick<IReactorCore, 'addSystemEventTrigger'>;

export interface ThreadPoolOptions {
  /** Most workers at once (default THREAD_POOL_SIZE). */
  size?: number;
  /** Most jobs waiting for a worker (default THREAD_POOL_MAX_QUEUE). */
  maxQueue?: number;
  /** Seconds running jobs get at stop before termination (default THREAD_POOL_STOP_TIMEOUT). */
  stopTimeout?: number;
  /** Extra Node flags for the workers (e.g. a loader your modules need). */
  execArgv?: string[];
}

/** One job; `transfer` lists args to move rather than copy (MessagePorts, ArrayBuffers). */
export interface ThreadJob {
  moduleUrl: string;
  exportName: string;
  args: unknown[];
  transfer?: Transferable[];
  /** Called if the pool stops while the job runs: ask it to end early. */
  onStop?: () => void;
}

interface PendingJob extends ThreadJob {
  id: number;
  /** Index in the queue while waiting, else -1. */
  queuedAt: number;
  d: Deferred<unknown>;
}

interface Slot {
  worker: Worker;
  job: PendingJob | null;
  crash: unknown;
  /** Set by terminateJob: the exit is ours, not a crash of the job's own making. */
  killed: boolean;
}

const fromSource = import.meta.url.endsWith('.ts');
const WORKER_ENTRY = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);

/**
 * What a worker starts from. From dist/ (without tsx): the JS entry. From
 * source, or from dist/ with tsx loaded in the parent: a small
 * bootstrap that registers tsx's ESM hooks inside the worker first (Node 20
 * workers neither inherit the parent's loader hooks nor honour `--import` in
 * their execArgv), then imports the .ts entry; later imports of .ts job
 * modules go through the same hooks.
 */
function workerStart(): { entry: URL | string; eval: boolean } {
  // The built package run under tsx (`node --import tsx node_modules/.bin/spindle
  // serve app.ts --threads 2`) needs the hooks in its workers too, for the app.
  const parentHasTsx = process.execArgv.some((a) => a.includes('tsx'));
  if (!fromSource && !parentHasTsx) return { entry: WORKER_ENTRY, eval: false };
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('tsx/package.json');
  } catch (err) {
    if (!fromSource) return { entry: WORKER_ENTRY, eval: false }; // tsx from elsewhere (global): plain workers
    throw err;
  }
  const pkg = require(pkgPath) as { exports: Record<string, { import?: { default?: string } } | string> };
  const apiUrl = (name: string) =>
    new URL((pkg.exports[name] as { import: { default: string } }).import.default, pathToFileURL(pkgPath)).href;
  // Both of tsx's hooks, as `--import tsx` installs them: the ESM one, and the
  // CommonJS one for a .ts module that is CommonJS by its package (no
  // "type": "module" above it). Without the latter such a module reaches
  // Node's require() untransformed and fails with ERR_REQUIRE_CYCLE_MODULE.
  const code =
    `Promise.all([import(${JSON.stringify(apiUrl('./esm/api'))}), import(${JSON.stringify(apiUrl('./cjs/api'))})])` +
    `.then(([esm, cjs]) => { esm.register(); cjs.register(); return import(${JSON.stringify(WORKER_ENTRY.href)}); })` +
    `.catch((err) => setImmediate(() => { throw err; }));`;
  return { entry: code, eval: true };
}

let workerStartCache: { entry: URL | string; eval: boolean } | null = null;

export class ThreadPool {
  readonly size: number;
  readonly maxQueue: number;
  readonly stopTimeout: number;
  private readonly reactor: PoolReactor | null;
  private readonly execArgv: string[];
  private readonly slots: Slot[] = [];
  /** Waiting jobs from `head` on; a cancelled one is left as null (dropped when reached). */
  private queue: (PendingJob | null)[] = [];
  private head = 0;
  private queued = 0;
  private nextId = 1;
  private stopped: Deferred<void> | null = null;

  /** `new ThreadPool(reactor, options)`; `new ThreadPool(options)` is a pool without a reactor. */
  constructor(reactor?: PoolReactor | ThreadPoolOptions | null, options: ThreadPoolOptions = {}) {
    if (reactor && typeof (reactor as PoolReactor).addSystemEventTrigger !== 'function') {
      options = reactor as ThreadPoolOptions;
      reactor = null;
    }
    this.size = options.size ?? THREAD_POOL_SIZE;
    this.maxQueue = options.maxQueue ?? THREAD_POOL_MAX_QUEUE;
    this.stopTimeout = options.stopTimeout ?? THREAD_POOL_STOP_TIMEOUT;
    if (!Number.isInteger(this.size) || this.size < 1)
      throw new InvalidArgumentError(`ThreadPool size must be an integer >= 1; got ${this.size}`);
    if (!(this.maxQueue >= 0)) throw new InvalidArgumentError(`ThreadPool maxQueue must be >= 0; got ${this.maxQueue}`);
    if (!(this.stopTimeout >= 0))
      throw new InvalidArgumentError(`ThreadPool stopTimeout must be >= 0 seconds; got ${this.stopTimeout}`);
    this.reactor = (reactor as PoolReactor | null | undefined) ?? null;
    this.execArgv = [...process.execArgv, ...(options.execArgv ?? [])];
    this.reactor?.addSystemEventTrigger('before', 'shutdown', () => this.stop());
  }

  /** Workers alive, workers running a job, jobs waiting. */
  get stats(): { workers: number; busy: number; queued: number } {
    return { workers: this.slots.length, busy: this.slots.filter((s) => s.job).length, queued: this.queued };
  }

  /**
   * Run `import(moduleUrl)[exportName](...args)` on a worker; the Deferred fires
   * with its (awaited, structured-cloned) result or errbacks with its error
   * rebuilt (name, message, code, stack). Cancelling a job that has not started
   * removes it from the queue; a started one runs on, its result dropped.
   */
  deferToThread<T = unknown>(moduleUrl: string, exportName: string, ...args: unknown[]): Deferred<T> {
    return this.submit<T>({ moduleUrl, exportName, args });
  }

  /** `deferToThread` with the whole job spelled out (transfer list, stop hook). */
  submit<T = unknown>(job: ThreadJob): Deferred<T> {
    if (this.stopped) return fail<T>(new ThreadPoolStopped());
    const pending: PendingJob = { ...job, id: this.nextId++, queuedAt: -1, d: null as unknown as Deferred<unknown> };
    pending.d = new Deferred<unknown>(() => {
      if (pending.queuedAt < 0) return;
      this.queue[pending.queuedAt] = null; // O(1): the slot is skipped when dequeued
      pending.queuedAt = -1;
      this.queued--;
      // Many cancellations and no dequeues (all workers stuck): drop the holes, keep the array bounded.
      if (this.queue.length - this.head > 2 * this.queued + 1024) this.compact();
    }, `deferToThread ${job.exportName}`);
    const slot = this.slots.find((s) => !s.job) ?? (this.slots.length < this.size ? this.spawn() : null);
    if (slot) this.start(slot, pending);
    else if (this.queued >= this.maxQueue) {
      return fail<T>(
        new QueueOverflow(
          `ThreadPool queue is full: ${this.queued} jobs wait for ${this.size} busy workers (maxQueue ${this.maxQueue}); raise size or maxQueue, or shed load`,
        ),
      );
    } else {
      pending.queuedAt = this.queue.push(pending) - 1;
      this.queued++;
    }
    return pending.d as Deferred<T>;
  }

  /**
   * Terminate the worker running the job whose Deferred is `d` (for a job that
   * ignores every request to end, e.g. a CPU loop): the Deferred errbacks with
   * `WorkerCrashed` and a new worker takes the next job. A job still queued is
   * cancelled instead. Returns false when `d` is neither running nor queued.
   */
  terminateJob(d: Deferred<unknown>): boolean {
    const slot = this.slots.find((s) => s.job?.d === d);
    if (slot) {
      slot.killed = true;
      void slot.worker.terminate();
      return true;
    }
    const queued = this.queue.find((j) => j?.d === d);
    if (queued) queued.d.cancel();
    return queued !== undefined;
  }

  /**
   * Stop: errback queued jobs with `ThreadPoolStopped`, ask running jobs to end
   * (their `onStop`), wait up to `stopTimeout` seconds for them, then terminate
   * every worker. Fires when all workers are gone. Idempotent.
   */
  stop(): Deferred<void> {
    if (this.stopped) return this.stopped;
    const done = (this.stopped = new Deferred<void>());
    for (let job = this.dequeue(); job; job = this.dequeue()) fire(job, null, new ThreadPoolStopped());
    const running = this.slots.filter((s) => s.job);
    for (const s of running) s.job?.onStop?.();
    const finish = () => {
      const exits = this.slots.splice(0).map((s) => {
        if (s.job) fire(s.job, null, new ThreadPoolStopped());
        s.job = null;
        return s.worker.terminate();
      });
      Promise.all(exits).then(
        () => done.callback(undefined),
        () => done.callback(undefined),
      );
    };
    if (running.length === 0 || this.stopTimeout === 0 || !this.reactor) finish();
    else this.waitIdle(this.reactor, finish);
    return done;
  }

  private waitIdle(reactor: PoolReactor, finish: () => void): void {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (timer.active()) timer.cancel();
      finish();
    };
    const timer = reactor.callLater(this.stopTimeout, end);
    this.onIdle = end;
  }

  /** Set while stopping: called when the last running job finishes. */
  private onIdle: (() => void) | null = null;

  /** The oldest waiting job, or null. */
  private dequeue(): PendingJob | null {
    while (this.head < this.queue.length) {
      const job = this.queue[this.head];
      // The slot is cleared: a started job is no longer "queued" (terminateJob) and its args are not held.
      this.queue[this.head++] = null;
      if (job) {
        job.queuedAt = -1;
        this.queued--;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        } else if (this.head > 1024 && this.head * 2 > this.queue.length) this.compact();
        return job;
      }
    }
    this.queue = [];
    this.head = 0;
    return null;
  }

  /** Drop the consumed front and the cancelled holes of the queue (amortized O(1) per job; keeps its memory bounded). */
  private compact(): void {
    this.queue = this.queue.slice(this.head).filter((job) => job !== null);
    this.head = 0;
    this.queue.forEach((job, i) => {
      job!.queuedAt = i;
    });
  }

  private spawn(): Slot {
    workerStartCache ??= workerStart();
    const worker = new Worker(workerStartCache.entry, { eval: workerStartCache.eval, execArgv: this.execArgv });
    const slot: Slot = { worker, job: null, crash: null, killed: false };
    worker.on('message', (msg: ResultMessage) => this.finished(slot, msg));
    worker.on('error', (err) => {
      slot.crash = err;
    });
    worker.on('exit', (code) => this.exited(slot, code));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private start(slot: Slot, job: PendingJob): void {
    slot.job = job;
    slot.worker.ref();
    const msg: JobMessage = { id: job.id, moduleUrl: job.moduleUrl, exportName: job.exportName, args: job.args };
    try {
      slot.worker.postMessage(msg, job.transfer ?? []);
    } catch (err) {
      // An argument that cannot be cloned: the job fails, the worker stays free.
      slot.job = null;
      slot.worker.unref();
      fire(job, null, err);
      this.next(slot);
    }
  }

  private finished(slot: Slot, msg: ResultMessage): void {
    const job = slot.job;
    if (!job || job.id !== msg.id) return;
    slot.job = null;
    slot.worker.unref();
    if (msg.ok) fire(job, msg.value, null);
    else fire(job, null, rebuildError(msg.error));
    this.next(slot);
  }

  private next(slot: Slot): void {
    if (this.stopped) {
      if (this.onIdle && !this.slots.some((s) => s.job)) this.onIdle();
      return;
    }
    const job = this.dequeue();
    if (job) this.start(slot, job);
  }

  private exited(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // terminated by stop()
    this.slots.splice(i, 1);
    const job = slot.job;
    slot.job = null;
    if (job && slot.killed) {
      fire(
        job,
        null,
        new WorkerCrashed(
          `the worker thread running ${job.exportName} from ${job.moduleUrl} was terminated by terminateJob() ` +
            '(the job ignored the request to end); a new worker will take the next job',
          code,
        ),
      );
    } else if (job) {
      const why = slot.crash instanceof Error ? `: ${slot.crash.name}: ${slot.crash.message}` : '';
      fire(
        job,
        null,
        new WorkerCrashed(
          `the worker thread running ${job.exportName} from ${job.moduleUrl} exited (code ${code}) before it returned${why}; ` +
            'the job is lost and a new worker will take the next one: look for process.exit() or an uncaught error in the job',
          code,
          { cause: slot.crash },
        ),
      );
    }
    if (this.stopped) return this.next(slot);
    // Replace the lost worker if jobs are waiting.
    const waiting = this.dequeue();
    if (waiting) this.start(this.spawn(), waiting);
  }
}

function fire(job: PendingJob, value: unknown, err: unknown): void {
  if (job.d.called) return; // cancelled while running: the result is dropped
  if (err !== null) job.d.errback(err);
  else job.d.callback(value);
}

let defaultPool: ThreadPool | null = null;

/**
 * The shared pool behind the module-level `deferToThread`: created on first
 * use, with no reactor (nothing stops it; its idle workers do not keep the
 * process alive). Apps with a reactor should make their own `ThreadPool`.
 */
export function getDefaultThreadPool(): ThreadPool {
  defaultPool ??= new ThreadPool(null);
  return defaultPool;
}

/** `deferToThread` on the default pool: see `ThreadPool.deferToThread`. */
export function deferToThread<T = unknown>(moduleUrl: string, exportName: string, ...args: unknown[]): Deferred<T> {
  return getDefaultThreadPool().deferToThread<T>(moduleUrl, exportName, ...args);
}
