/**
 * threadedIterApp's reactor side, shared by every threadedIterApp on one
 * ThreadPool: the job queue in shared memory that the pool's workers pull
 * requests from, the loops (one long ThreadPool job per worker, see
 * threadedworker.ts) and their output rings, and the one wake-up the reactor
 * thread waits on for all of them.
 *
 * The reactor thread never blocks. It puts a request in the queue (a record:
 * the compact environ of threadedcodec.ts, no structured clone) and wakes a
 * sleeping loop lazily (threadedwake.ts): only when no loop is awake, or when
 * the queue has not drained for WAKE_CHECK on the host's clock; a full queue
 * (`maxQueue` jobs or `jobQueueSize` bytes) answers 503. It reads the loops' rings when woken: one
 * `Atomics.waitAsync` on Q_MAIN_SEQ while it has jobs in flight, which the
 * first worker to publish after it went to sleep fires; a burst of responses
 * costs one wake-up, not one per response. Body records wait in the ring
 * until the host pulls them (G5), which is what bounds memory per worker.
 *
 * Endings: a loop that crashes fails the request it ran (its current job,
 * CTL_CURRENT); a pool that stops wakes every loop (Q_STOP), abandons the
 * running requests and fails the queued ones with ThreadPoolStopped.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ThreadPoolStopped } from '../reactor/errors.js';
import type { Deferred } from '../reactor/deferred.js';
import type { Failure } from '../reactor/failure.js';
import type { ThreadPool } from '../reactor/threadpool.js';
import { RecordRing } from './threadedring.js';
import { JOB_SLOTS_MAX, JobTable } from './threadedjobs.js';
import {
  decodeEnd,
  END_OK,
  JobEncoder,
  REC_BODY,
  REC_END,
  REC_FLUSH,
  REC_JOB,
  REC_START,
  REC_WHOLE,
  RING_SLACK,
  StartDecoder,
  StringTableWriter,
  type StartArgs,
} from './threadedcodec.js';
import type { SerializedError } from '../reactor/threaderror.js';
import type { Environ } from './interfaces.js';
import {
  CTL_BYTES,
  CTL_CURRENT,
  CTL_PENDING,
  CTL_WAKE_SEQ,
  Q_MAIN_SEQ,
  Q_MAIN_SLEEP,
  Q_STOP,
  type InputMessage,
  type LoopSpec,
  type WorkerMessage,
} from './threadedworker.js';
import {
  sleepingLoops,
  LOOP_MAX,
  LOOP_WORDS_BYTES,
  LoopWaker,
  loopGone,
  WAKE_CHECK,
  wakeAllLoops,
} from './threadedwake.js';
import type { IReactorTime } from '../reactor/interfaces.js';

/** Default bytes of the shared job queue (requests waiting for a worker, their environs encoded). */
export const THREAD_JOB_QUEUE_SIZE = 1024 * 1024;

/** What the dispatcher calls on a request (ThreadedResponse). */
export interface ThreadedJob {
  cancelSlot: number;
  /** Its body records wait in the ring for the host's pulls; false once it is closed or abandoned. */
  wantsBody(): boolean;
  bodyReady(slot: LoopSlot): void;
  /** A body chunk (null: a flush) of a request whose records left the ring (it has ended on the worker). */
  onBody(chunk: Uint8Array | null): void;
  /** The worker's startResponse (checked there with the gateway's own rules). */
  onStart(slot: LoopSlot, start: StartArgs): void;
  onFlush(): void;
  onEnd(kind: number, error: SerializedError | undefined): void;
  onRead(slot: LoopSlot): void;
  onErrors(text: string): void;
  /** The worker died under it, or the pool stopped before it ran. */
  fail(err: unknown): void;
  /** A host callback threw while handling its record: the request fails, its worker is told. */
  abandon(err: Error): void;
}

/** One loop on one worker: its ring, control words and port. */
export interface LoopSlot {
  /** The loop's number in the idle mask (threadedwake.ts). */
  readonly index: number;
  readonly ring: RecordRing;
  readonly ctl: Int32Array;
  readonly port: MessagePort;
  loop: Deferred<void> | null;
}

const WORKER_MODULE = new URL(
  import.meta.url.endsWith('.ts') ? './threadedworker.ts' : './threadedworker.js',
  import.meta.url,
).href;

type WaitAsync = (ta: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

const dispatchers = new WeakMap<ThreadPool, Dispatcher>();

export interface DispatcherOptions {
  ringSize: number;
  jobQueueSize: number;
  /** Seconds an idle loop keeps its worker (THREAD_IDLE_LINGER). */
  idleLinger: number;
  /** Whose clock times the looks at a queue that waits (WAKE_CHECK): the host's reactor; null: Node's timers. */
  clock: Pick<IReactorTime, 'callLater'> | null;
}

/** Counts since the dispatcher was made (for benchmarks: cross-thread wake-ups per request). */
export interface DispatcherStats {
  /** Requests queued. */
  requests: number;
  /** Sleeping loops this side woke. */
  loopWakeups: number;
  /** Times the reactor thread's wait for the loops' records ended. */
  reactorWakeups: number;
  /** Loops asleep now, waiting to be woken. */
  sleepingLoops: number;
  /** Records the dispatcher read from the loops' rings (body records a streaming host pulled itself are not counted). */
  records: number;
}

export class Dispatcher {
  /** The dispatcher of `pool` (made by the first threadedIterApp request on it, with that app's sizes). */
  static of(pool: ThreadPool, options: DispatcherOptions): Dispatcher {
    let d = dispatchers.get(pool);
    if (!d) dispatchers.set(pool, (d = new Dispatcher(pool, options)));
    d.ringCapacity = Math.max(d.ringCapacity, options.ringSize + RING_SLACK);
    return d;
  }

  private readonly queue: RecordRing;
  private readonly q: Int32Array;
  private readonly cancel: Int32Array;
  /** The idle mask and the loops' wait words (threadedwake.ts). */
  private readonly loops = new Int32Array(new SharedArrayBuffer(LOOP_WORDS_BYTES));
  private readonly indexes = new Set<number>();
  /** Requests in flight by id; an id's slot is also its cancel word. */
  private readonly jobs: JobTable;
  private readonly slots = new Set<LoopSlot>();
  /** Rings of ended loops that still hold records (a body its host has yet to pull, then its end). */
  private readonly retired = new Set<LoopSlot>();
  /** Where START and END payloads are read (no allocation per record). */
  private payload = Buffer.allocUnsafe(4096);
  private readonly starts = new StartDecoder();
  private readonly strings = new StringTableWriter();
  /** Encodes each request's job record (environ values that repeat go into the string table). */
  private readonly encoder = new JobEncoder(this.strings);
  private readonly maxJobs: number;
  /** Capacity of the rings of loops started from now on. */
  private ringCapacity: number;
  private readonly idleLinger: number;
  private stopped: Error | null = null;
  private armed = false;
  private drainQueued = false;
  private notifyQueued = false;
  private readonly waker: LoopWaker;
  private requests = 0;
  private reactorWakeups = 0;
  private records = 0;

  private constructor(
    private readonly pool: ThreadPool,
    options: DispatcherOptions,
  ) {
    this.queue = RecordRing.create(options.jobQueueSize);
    this.q = this.queue.ctl;
    this.maxJobs = Math.min(pool.size + pool.maxQueue, JOB_SLOTS_MAX); // most jobs in flight (cancel words), whatever maxQueue says
    this.cancel = new Int32Array(new SharedArrayBuffer(4 * this.maxJobs));
    this.jobs = new JobTable(this.maxJobs);
    this.ringCapacity = options.ringSize + RING_SLACK;
    this.idleLinger = options.idleLinger;
    const clock = options.clock;
    this.waker = new LoopWaker(
      this.loops,
      () => !this.stopped && this.queue.used() !== 0,
      clock
        ? (fn) => {
            const call = clock.callLater(WAKE_CHECK, fn);
            return () => call.cancel();
          }
        : (fn) => {
            const timer = setTimeout(fn, WAKE_CHECK * 1000).unref();
            return () => clearTimeout(timer);
          },
      () => this.ensureLoops(),
    );
  }

  /** The counts of `pool`'s dispatcher (null before its first threadedIterApp request). */
  static statsOf(pool: ThreadPool): DispatcherStats | null {
    const d = dispatchers.get(pool);
    return d
      ? {
          requests: d.requests,
          loopWakeups: d.waker.wakeups,
          reactorWakeups: d.reactorWakeups,
          sleepingLoops: sleepingLoops(d.loops),
          records: d.records,
        }
      : null;
  }

  /**
   * Queue a request: its id, or 'busy' when the queue is full (the caller
   * answers 503), or the error when the pool has stopped.
   */
  submit(
    job: ThreadedJob,
    appUrl: string,
    exportName: string,
    environ: Environ,
    flags: number,
    ringSize: number,
  ): number | 'busy' | Error {
    if (this.stopped) return this.stopped;
    if (this.jobs.size >= this.maxJobs) return 'busy';
    const cancelSlot = this.jobs.reserve();
    const record = this.encoder.encode(cancelSlot, flags, ringSize + RING_SLACK, appUrl, exportName, environ);
    const id = this.jobs.peekId(cancelSlot);
    if (!this.queue.tryPut(REC_JOB, id, record)) {
      this.jobs.release(cancelSlot);
      return 'busy';
    }
    Atomics.store(this.cancel, cancelSlot, 0);
    job.cancelSlot = cancelSlot;
    this.jobs.add(cancelSlot, id, job);
    this.requests++;
    this.wakeLoop();
    this.ensureLoops();
    this.arm();
    return id;
  }

  /** Abandon a request: its cancel word, then every loop woken (the one running it throws ThreadedAppAborted). */
  abandon(job: ThreadedJob): void {
    Atomics.store(this.cancel, job.cancelSlot, 1);
    for (const slot of this.slots) {
      Atomics.add(slot.ctl, CTL_WAKE_SEQ, 1);
      Atomics.notify(slot.ctl, CTL_WAKE_SEQ);
      slot.ring.wakeProducer();
    }
    this.kick(); // its records still in a ring are dropped now, so its worker gets room to end
  }

  /** Terminate the worker running `id` (it ignored being abandoned); false if none runs it. */
  terminate(id: number): boolean {
    for (const slot of this.slots) {
      if (Atomics.load(slot.ctl, CTL_CURRENT) === id && slot.loop) return this.pool.terminateJob(slot.loop);
    }
    return false;
  }

  /** At the end of this reactor turn (once for a burst of requests): wake a loop if none is awake (threadedwake.ts). */
  private wakeLoop(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    setImmediate(() => {
      this.notifyQueued = false;
      this.waker.check();
    });
  }

  /** Start loops while requests outnumber them, up to the pool's size. */
  private ensureLoops(): void {
    const most = Math.min(this.pool.size, LOOP_MAX, this.jobs.size);
    while (!this.stopped && this.slots.size < most) this.startLoop();
  }

  private startLoop(): void {
    let index = 0;
    while (this.indexes.has(index)) index++;
    this.indexes.add(index);
    const { port1, port2 } = new MessageChannel();
    const slot: LoopSlot = {
      index,
      ring: RecordRing.create(this.ringCapacity),
      ctl: new Int32Array(new SharedArrayBuffer(CTL_BYTES)),
      port: port1,
      loop: null,
    };
    port1.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    this.slots.add(slot);
    const spec: LoopSpec = {
      queue: this.queue.buffer,
      cancel: this.cancel.buffer as SharedArrayBuffer,
      loops: this.loops.buffer as SharedArrayBuffer,
      index,
      strings: this.strings.buffer,
      output: slot.ring.buffer,
      ctl: slot.ctl.buffer as SharedArrayBuffer,
      port: port2,
      lingerMs: this.idleLinger * 1000,
    };
    let loop: Deferred<void>;
    try {
      loop = this.pool.submit<void>({
        moduleUrl: WORKER_MODULE,
        exportName: 'serveThreadedLoop',
        args: [spec],
        transfer: [port2],
        onStop: () => this.stop(new ThreadPoolStopped()),
      });
    } catch (err) {
      // No worker could be made (e.g. execArgv a worker refuses): the requests fail, not hang.
      this.slots.delete(slot);
      this.indexes.delete(index);
      port1.close();
      for (const [id, job] of this.jobs.entries()) {
        this.finish(id, job);
        job.fail(err);
      }
      return;
    }
    slot.loop = loop;
    loop.addCallbacks(
      () => this.loopEnded(slot, null),
      (f: Failure) => this.loopEnded(slot, f.value),
    );
  }

  private loopEnded(slot: LoopSlot, err: unknown): void {
    if (!this.slots.delete(slot)) return;
    this.indexes.delete(slot.index);
    slot.loop = null;
    this.retired.add(slot);
    this.drainSlot(slot); // what it published before it ended
    const current = Atomics.load(slot.ctl, CTL_CURRENT);
    const job = current !== 0 ? this.jobs.get(current) : undefined;
    if (job) {
      // The worker died under this request (or was terminated, or stopped with the pool): it fails.
      this.finish(current, job);
      job.fail(err ?? new ThreadPoolStopped());
    }
    // A loop that died inside a request (crash, termination) still counted itself awake.
    if (current !== 0) loopGone(this.loops);
    if (err instanceof ThreadPoolStopped) this.stop(err);
    // A loop that timed out idle may have been the one a wake-up was meant for: pass it on.
    this.waker.check();
    this.ensureLoops(); // a new loop takes the requests still queued
  }

  /** The pool is stopping: no more requests; running ones are abandoned, queued ones fail. */
  private stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    Atomics.store(this.q, Q_STOP, 1);
    wakeAllLoops(this.loops);
    this.drainAll();
    const running = new Set<number>();
    for (const slot of this.slots) running.add(Atomics.load(slot.ctl, CTL_CURRENT));
    for (const [id, job] of this.jobs.entries()) {
      if (running.has(id)) job.abandon(reason);
      else {
        this.finish(id, job);
        job.fail(reason);
      }
    }
  }

  private onMessage(slot: LoopSlot, m: WorkerMessage): void {
    const job = this.jobs.get(m.job);
    if (m.t === 'errors') {
      Atomics.sub(slot.ctl, CTL_PENDING, 1);
      Atomics.add(slot.ctl, CTL_WAKE_SEQ, 1);
      Atomics.notify(slot.ctl, CTL_WAKE_SEQ);
      if (!job) return void process.stderr.write(m.text);
    }
    if (!job) return;
    try {
      if (m.t === 'read') job.onRead(slot);
      else job.onErrors(m.text);
    } catch (err) {
      // A host callback threw (its input or errors stream): never an uncaught exception on the reactor.
      job.abandon(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Send a request its input ring (its first read) and wake the worker waiting for it. */
  sendInput(slot: LoopSlot, id: number, buffer: SharedArrayBuffer): void {
    slot.port.postMessage({ t: 'input', job: id, buffer } satisfies InputMessage);
    Atomics.add(slot.ctl, CTL_WAKE_SEQ, 1);
    Atomics.notify(slot.ctl, CTL_WAKE_SEQ);
  }

  /** Process every loop's ready records soon (after this call stack). */
  kick(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    queueMicrotask(() => {
      this.drainQueued = false;
      this.drainAll();
    });
  }

  private drainAll(): void {
    for (const slot of this.slots) this.drainSlot(slot);
    for (const slot of this.retired) this.drainSlot(slot);
    this.waker.drained(); // the loops took every request: no look at the queue is needed
    this.arm();
  }

  /**
   * Handle `slot`'s records in order, up to a body record of a request whose
   * host has yet to pull it (that request is told; its pulls take it).
   */
  drainSlot(slot: LoopSlot): void {
    const ring = slot.ring;
    for (let h = ring.peek(); ; h = ring.peek()) {
      if (!h) {
        ring.release();
        if (!slot.loop) this.retired.delete(slot); // an ended loop's ring, now empty
        return;
      }
      const id = h.job;
      const type = h.type;
      const job = this.jobs.get(id);
      if (!job || (type === REC_BODY && !job.wantsBody())) {
        this.records++;
        ring.skip();
        continue;
      }
      try {
        if (type === REC_BODY) {
          // A request still running keeps its body in the ring for the host's pulls (the ring is
          // its bound, G12); one whose end is there already moves out whole, so the records of
          // the next request on this worker are not held behind a host that has yet to pull.
          if (!ring.holds(id, REC_END)) {
            ring.release();
            return job.bodyReady(slot);
          }
          this.detach(slot, id, job);
          continue;
        }
        this.records++;
        const length = this.takeRecord(ring, h.length);
        if (type === REC_WHOLE) this.whole(slot, id, job, length);
        else if (type === REC_START) {
          job.onStart(slot, this.starts.decode(this.payload, length));
        } else if (type === REC_FLUSH) job.onFlush();
        else if (type === REC_END) {
          const e = decodeEnd(this.payload, length);
          this.finish(id, job);
          job.onEnd(e.kind, e.error);
        }
      } catch (err) {
        // A host callback threw (its startResponse, flush, or the resume that a body or an end
        // calls): the request fails and its worker is told; the other records go on, and the
        // caller still re-arms, never an uncaught exception with this side asleep for good.
        // Its records left in the ring are skipped (it no longer wants a body) up to its end.
        job.abandon(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Move a finished request's records out of the ring, to the request (bounded by its ring share). */
  private detach(slot: LoopSlot, id: number, job: ThreadedJob): void {
    const ring = slot.ring;
    for (let h = ring.peek(); h && h.job === id; h = ring.peek()) {
      const type = h.type;
      this.records++;
      if (type === REC_BODY) job.onBody(ring.take());
      else if (type === REC_FLUSH) {
        ring.skip();
        job.onBody(null);
      } else if (type === REC_END) {
        const e = decodeEnd(this.payload, this.takeRecord(ring, h.length));
        this.finish(id, job);
        job.onEnd(e.kind, e.error);
        return;
      }
    }
  }

  /**
   * A REC_WHOLE record (in this.payload): the start, the body and a good end
   * of one response, handed over as their own records would be. The end is
   * handed over even when the host refused the start (the caller then
   * abandons the request, as for a START record).
   */
  private whole(slot: LoopSlot, id: number, job: ThreadedJob, length: number): void {
    const p = this.payload;
    const bodyAt = 4 + (p[0]! | (p[1]! << 8) | (p[2]! << 16) | (p[3]! << 24));
    const start = this.starts.decode(p, bodyAt - 4, 4);
    try {
      job.onStart(slot, start);
      if (length > bodyAt) {
        const body = Buffer.allocUnsafe(length - bodyAt);
        p.copy(body, 0, bodyAt, length);
        job.onBody(body);
      }
    } finally {
      this.finish(id, job);
      job.onEnd(END_OK, undefined);
    }
  }

  /** The peeked record's payload into this.payload (grown to fit); its length. */
  private takeRecord(ring: RecordRing, length: number): number {
    if (this.payload.length < length) this.payload = Buffer.allocUnsafe(Math.max(length, 2 * this.payload.length));
    return ring.takeInto(this.payload);
  }

  /** The request is over on the worker side: its cancel word is free again. */
  private finish(id: number, job: ThreadedJob): void {
    if (this.jobs.get(id) === job) this.jobs.delete(id);
  }

  /**
   * Sleep until a worker publishes (one Atomics.waitAsync for all loops),
   * while requests are in flight. The flag is set before the last look at
   * the rings, so a record published meanwhile is either seen or wakes us.
   */
  private arm(): void {
    if (this.armed || this.jobs.size === 0) return;
    const seq = Atomics.load(this.q, Q_MAIN_SEQ);
    Atomics.store(this.q, Q_MAIN_SLEEP, 1);
    if (this.ready()) {
      Atomics.store(this.q, Q_MAIN_SLEEP, 0);
      return this.kick();
    }
    const r = waitAsync(this.q, Q_MAIN_SEQ, seq);
    if (!r.async) return this.kick();
    this.armed = true;
    (r.value as Promise<string>).then(() => {
      this.armed = false;
      this.reactorWakeups++;
      this.drainAll();
    });
  }

  /** A record this side has to handle now (not a body waiting for its host's pull). */
  private ready(): boolean {
    for (const slot of this.slots) if (this.mustHandle(slot)) return true;
    for (const slot of this.retired) if (this.mustHandle(slot)) return true;
    return false;
  }

  private mustHandle(slot: LoopSlot): boolean {
    const h = slot.ring.peek();
    return (
      h !== null && !(h.type === REC_BODY && this.jobs.get(h.job)?.wantsBody() && !slot.ring.holds(h.job, REC_END))
    );
  }
}
