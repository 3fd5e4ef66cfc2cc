/**
 * `threadedIterApp(moduleUrl, exportName, options) → IterApp`: "threading
 * itself as a piece of middleware". A blocking iterator app runs on a
 * ThreadPool worker (threadedworker.ts); this side, on the reactor thread, is
 * an ordinary iterator app that any gateway can host.
 *
 * Requests (threadeddispatch.ts): each one is a record in a job queue in
 * shared memory (its environ encoded compactly, threadedcodec.ts) that the
 * pool's workers pull from; each worker runs a loop that stays on it while
 * requests come and has one output ring for all of them. A full queue
 * (`maxQueue` jobs or `jobQueueSize` bytes) answers 503.
 *
 * Output (G5, G12, G16): the worker's start, `write()`s, yielded chunks and
 * end are records in its ring; a request may have at most `ringSize` body
 * bytes there (default THREAD_RING_SIZE) and the worker blocks past that.
 * This side takes body bytes out only when the host pulls (and the host
 * pulls only while the transport wants data); when there are none it pauses
 * with `wsgi.pause_output`, yields '' and resumes when the dispatcher sees
 * the worker's next record. Without `wsgi.pause_output` it is an async
 * iterable instead.
 *
 * Input (G11, G15): the worker's `wsgi.input.read()` blocks on an input ring
 * (`inputRingSize`) made for the request on its first read, which this side
 * fills from the host's non-blocking `wsgi.input` on demand (the worker asks
 * when it finds the ring empty), woken by `wsgi.input_handler`.
 *
 * Endings (G7, G14, G16): the host's `close()` / `return()` sets the
 * request's cancel word and wakes the worker, so one blocked in
 * `write()`/`read()` gets `ThreadedAppAborted`; its finally blocks and
 * `close()` run on the worker, which then takes the next request. A worker
 * that dies fails its request: a 500 before the headers went out, an aborted
 * response after.
 */
import { ByteRing } from '../reactor/ring.js';
import { InvalidArgumentError } from '../reactor/errors.js';
import type { IDelayedCall, IReactor } from '../reactor/interfaces.js';
import { ThreadPool } from '../reactor/threadpool.js';
import { rebuildError, type SerializedError } from '../reactor/threaderror.js';
import { ThreadedAppAborted } from './errors.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse } from './interfaces.js';
import { CHECKED_START, checkedStartHost } from './checkedstart.js';
import {
  END_ABORTED,
  END_ERROR,
  JOB_HAS_BODY,
  JOB_HAS_FLUSH,
  REC_BODY,
  startPairs,
  type StartArgs,
} from './threadedcodec.js';
import { Dispatcher, THREAD_JOB_QUEUE_SIZE, type LoopSlot, type ThreadedJob } from './threadeddispatch.js';

import { THREAD_IDLE_LINGER } from './threadedworker.js';

export { THREAD_MAX_PENDING_MESSAGES, THREAD_IDLE_LINGER } from './threadedworker.js';
export { THREAD_JOB_QUEUE_SIZE } from './threadeddispatch.js';

/** Default most body bytes of one response buffered between its worker and the reactor. */
export const THREAD_RING_SIZE = 256 * 1024;
/** Default bytes of request body buffered between the reactor and a worker, per request. */
export const THREAD_INPUT_RING_SIZE = 64 * 1024;
/**
 * Default seconds an abandoned request's app gets to end (it is woken with
 * `ThreadedAppAborted`) before its worker is terminated and replaced: an app
 * stuck in a loop that never writes or reads must not hold a worker forever.
 */
export const THREAD_ABORT_TIMEOUT = 10;

export interface ThreadedOptions {
  /** Run requests on this pool. Default: a pool of `threads` workers made on the first request. */
  pool?: ThreadPool;
  /** Size of the pool threadedIterApp makes (default THREAD_POOL_SIZE). */
  threads?: number;
  /** Queue bound of the pool threadedIterApp makes (default THREAD_POOL_MAX_QUEUE); past it: 503. */
  maxQueue?: number;
  /** The reactor whose shutdown stops the pool it makes. Default: `environ['spindle.reactor']`. */
  reactor?: IReactor;
  /**
   * Most body bytes of one response waiting in its worker's output ring
   * (default THREAD_RING_SIZE); the ring of each worker is made once, as large
   * as the largest `ringSize` of the apps on its pool when the loop started.
   */
  ringSize?: number;
  /** Input ring bytes per request with a body (default THREAD_INPUT_RING_SIZE). */
  inputRingSize?: number;
  /**
   * Bytes of the job queue shared by the pool's workers (default
   * THREAD_JOB_QUEUE_SIZE; set by the first app to serve a request on the
   * pool); past it: 503.
   */
  jobQueueSize?: number;
  /**
   * Seconds a worker's loop waits for the next request before it gives the
   * worker back to the pool (default THREAD_IDLE_LINGER = 1; set by the first
   * app to serve on the pool). 0: at once, whenever the queue is empty.
   */
  idleLinger?: number;
  /**
   * Seconds an abandoned app gets to end before its worker is terminated
   * (default THREAD_ABORT_TIMEOUT); timed on `reactor` (else the environ's),
   * not at all without one.
   */
  abortTimeout?: number;
}

export type ThreadedIterApp = IterApp & {
  /** The pool running the requests (made on the first request unless given). */
  readonly pool: ThreadPool | null;
};

/** Largest ring or queue: positions run to twice the size and must fit an Int32. */
const MAX_RING = 1 << 28;

function checkSize(name: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > MAX_RING) {
    throw new InvalidArgumentError(
      `threadedIterApp ${name} must be an integer from ${min} to ${MAX_RING} bytes; got ${value}`,
    );
  }
}

export function threadedIterApp(moduleUrl: string, exportName: string, options: ThreadedOptions = {}): ThreadedIterApp {
  checkSize('ringSize', options.ringSize, 1);
  checkSize('inputRingSize', options.inputRingSize, 1);
  checkSize('jobQueueSize', options.jobQueueSize, 1024);
  if (options.idleLinger !== undefined && !(options.idleLinger >= 0 && options.idleLinger <= 3600)) {
    throw new InvalidArgumentError(
      `threadedIterApp idleLinger must be from 0 to 3600 seconds; got ${options.idleLinger}`,
    );
  }
  let pool: ThreadPool | null = options.pool ?? null;
  let dispatcher: Dispatcher | null = null;
  const ringSize = options.ringSize ?? THREAD_RING_SIZE;
  const app = (environ: Environ, startResponse: StartResponse): AppIterable => {
    if (!dispatcher) {
      const reactor = options.reactor ?? environ['spindle.reactor'] ?? null;
      pool ??= new ThreadPool(reactor, {
        ...(options.threads !== undefined ? { size: options.threads } : {}),
        ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      });
      dispatcher = Dispatcher.of(pool, {
        ringSize,
        jobQueueSize: options.jobQueueSize ?? THREAD_JOB_QUEUE_SIZE,
        idleLinger: options.idleLinger ?? THREAD_IDLE_LINGER,
        // The looks at a waiting queue are the host's own turns: its reactor first.
        clock: environ['spindle.reactor'] ?? reactor,
      });
    }
    return new ThreadedResponse(moduleUrl, exportName, environ, startResponse, dispatcher, ringSize, options).begin();
  };
  return Object.defineProperty(app, 'pool', { get: () => pool }) as ThreadedIterApp;
}

/** RFC 9112 section 6.3: no Content-Length (or 0) and no Transfer-Encoding means no body. */
function hasNoBody(environ: Environ): boolean {
  const cl = environ.CONTENT_LENGTH;
  return (cl === '' || cl === '0' || cl === undefined) && !environ.HTTP_TRANSFER_ENCODING;
}

type Ending = { error: unknown } | { error: null };

class ThreadedResponse implements ThreadedJob, Iterable<Chunk>, Iterator<Chunk> {
  cancelSlot = 0;
  private id = 0;
  /** The loop whose ring holds this response's records (known from its start). */
  private slot: LoopSlot | null = null;
  private input: ByteRing | null = null;
  private inputSent = false;
  private pending: (Uint8Array | null)[] = [];
  private pendingAt = 0;
  private ending: Ending | null = null;
  private closed = false;
  /** The worker's startResponse reached the host: body bytes may be taken from now on. */
  private started = false;
  /** Why this side abandoned the request when the host did not ask (pool stopping, a host callback threw). */
  private abandonReason: Error | null = null;
  private inputEnded = false;
  private inputHandlerSet = false;
  private resume: (() => void) | null = null;
  private wakeAsync: (() => void) | null = null;
  /** A complete response this side makes itself (503 when the queue is full). */
  private own: Uint8Array | null = null;
  private jobDone = false;
  private watchdog: IDelayedCall | null = null;

  constructor(
    private readonly moduleUrl: string,
    private readonly exportName: string,
    private readonly environ: Environ,
    private readonly startResponse: StartResponse,
    private readonly dispatcher: Dispatcher,
    private readonly ringSize: number,
    private readonly options: ThreadedOptions,
  ) {
    const flags =
      (typeof environ['x-wsgiorg.flush'] === 'function' ? JOB_HAS_FLUSH : 0) | (hasNoBody(environ) ? 0 : JOB_HAS_BODY);
    if (!(flags & JOB_HAS_BODY)) this.inputEnded = true;
    const queued = dispatcher.submit(this, moduleUrl, exportName, environ, flags, ringSize);
    if (queued === 'busy') this.busy();
    else if (typeof queued !== 'number') {
      this.jobDone = true;
      this.end({ error: queued });
    } else this.id = queued;
  }

  /** What the host iterates: this object (sync, with pause_output), or an async view of it. */
  begin(): AppIterable {
    if (this.own) return [this.own];
    if (typeof this.environ['wsgi.pause_output'] === 'function') return this;
    const asyncIterator = {
      next: () => this.nextAsync(),
      return: async () => this.return(),
    };
    return { [Symbol.asyncIterator]: () => asyncIterator, close: () => this.close() };
  }

  [Symbol.iterator](): Iterator<Chunk> {
    return this;
  }

  /** Sync pull (the host offers pause_output): a chunk, '' after pausing, or the end. */
  next(): IteratorResult<Chunk> {
    const r = this.take();
    if (r) return r;
    this.resume = this.environ['wsgi.pause_output']!();
    return { done: false, value: '' };
  }

  return(): IteratorResult<Chunk> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Async pull (no pause_output): waits for bytes or the end. */
  private async nextAsync(): Promise<IteratorResult<Chunk>> {
    for (;;) {
      const r = this.take();
      if (r) return r;
      await new Promise<void>((resolve) => {
        this.wakeAsync = resolve;
      });
    }
  }

  /** Bytes from the ring, or the end once the worker's outcome is known; null: nothing yet. */
  private take(): IteratorResult<Chunk> | null {
    if (this.closed) return { done: true, value: undefined };
    // Abandoned by this side (the pool is stopping) while the host still pulls: the body is cut.
    if (this.abandonReason) throw this.abandonReason;
    // A finished response's chunks (null: a flush), moved out of the worker's ring.
    while (this.pendingAt < this.pending.length) {
      const chunk = this.pending[this.pendingAt++]!;
      if (this.pendingAt === this.pending.length) this.pending.length = this.pendingAt = 0;
      if (chunk === null) this.onFlush();
      else return { done: false, value: chunk };
    }
    const slot = this.slot;
    if (this.started && slot) {
      const h = slot.ring.peek();
      if (h && h.type === REC_BODY && h.job === this.id) {
        const chunk = slot.ring.takeRun(this.ringSize);
        this.dispatcher.drainSlot(slot); // the records behind it: its end, other requests' starts
        return { done: false, value: chunk };
      }
    }
    if (!this.ending) return null;
    if (this.ending.error !== null) throw this.ending.error;
    return { done: true, value: undefined };
  }

  private wake(): void {
    const resume = this.resume;
    const wakeAsync = this.wakeAsync;
    this.resume = this.wakeAsync = null;
    resume?.();
    wakeAsync?.();
  }

  // ---------------------------------------------------------------- the dispatcher's calls

  wantsBody(): boolean {
    return !this.closed && this.abandonReason === null;
  }

  onBody(chunk: Uint8Array | null): void {
    this.pending.push(chunk);
  }

  bodyReady(slot: LoopSlot): void {
    this.slot = slot;
    this.wake();
  }

  /**
   * The worker's startResponse, already checked there with the same rules:
   * the host's own startResponse now, before any body byte is taken from the
   * ring. Should the host refuse anyway, the request fails (the dispatcher
   * abandons it).
   */
  onStart(slot: LoopSlot, start: StartArgs): void {
    if (this.closed || this.abandonReason) return;
    this.slot = slot;
    // spindle's gateway takes the head as the worker checked it (checkedstart.ts); any other host, a
    // middleware between, or a head with excInfo goes through startResponse.
    const host = start.excInfo === undefined ? checkedStartHost(this.environ) : undefined;
    if (
      host === undefined ||
      !host[CHECKED_START](this.startResponse, start.code, start.reason, start.names, start.values)
    )
      this.startResponse(start.status, startPairs(start), start.excInfo ? rebuildError(start.excInfo) : undefined);
    this.started = true;
    this.wake();
  }

  onFlush(): void {
    if (!this.closed && !this.abandonReason) (this.environ['x-wsgiorg.flush'] as (() => void) | undefined)?.();
  }

  onErrors(text: string): void {
    this.environ['wsgi.errors'].write(text);
  }

  onEnd(kind: number, error: SerializedError | undefined): void {
    this.jobEnded();
    if (error && kind === END_ERROR) this.end({ error: rebuildError(error) });
    // Abandoned while the host still pulls (pool stopping): the body was cut, not complete.
    else if (kind === END_ABORTED && !this.closed) this.end({ error: this.abandonReason ?? new ThreadedAppAborted() });
    else this.end({ error: null });
  }

  fail(err: unknown): void {
    this.jobEnded();
    this.end({ error: err });
  }

  /** The worker asks for body bytes: its input ring first (on the first ask), then what the host has. */
  onRead(slot: LoopSlot): void {
    if (this.closed || this.abandonReason) return;
    if (!this.input) this.input = ByteRing.create(this.options.inputRingSize ?? THREAD_INPUT_RING_SIZE);
    if (!this.inputSent) {
      this.inputSent = true;
      this.dispatcher.sendInput(slot, this.id, this.input.buffer);
    }
    this.pumpInput();
  }

  /** Move what the host's wsgi.input has into the input ring, up to its space (G15). */
  private pumpInput(): void {
    const input = this.input;
    if (this.inputEnded || this.closed || !input) return;
    const host = this.environ['wsgi.input'];
    for (;;) {
      const space = input.space();
      if (space === 0) return; // the worker asks again once it has emptied the ring
      const chunk = host.read(space);
      if (chunk.length > 0) {
        input.tryWrite(chunk);
        continue;
      }
      if (host.clientGone) {
        this.inputEnded = true;
        input.abort(); // the cancel word unset: the worker reads this as "client gone"
      } else if (host.atEOF || typeof this.environ['wsgi.input_handler'] !== 'function') {
        // A host without input_handler is taken to read synchronously: empty means the end.
        this.inputEnded = true;
        input.close();
      } else if (!this.inputHandlerSet) {
        this.inputHandlerSet = true;
        this.environ['wsgi.input_handler'](host, () => this.pumpInput());
      }
      return;
    }
  }

  /** The worker's outcome arrived; the iterator reports it once the ring is drained. */
  private end(ending: Ending): void {
    if (this.ending) return;
    this.ending = ending;
    this.wake();
  }

  private jobEnded(): void {
    this.jobDone = true;
    if (this.watchdog?.active()) this.watchdog.cancel();
    this.watchdog = null;
  }

  /** Shed load like a busy server: 503 now, before the app was ever called. */
  private busy(): void {
    this.jobDone = true;
    this.startResponse('503 Service Unavailable', [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Retry-After', '1'],
    ]);
    this.own = new TextEncoder().encode('the server is busy: every worker thread is taken and the queue is full\n');
    this.end({ error: null });
  }

  /** Abandon: the cancel word set and the worker woken (G14, G16). */
  abandon(reason: Error | null): void {
    this.abandonReason ??= reason;
    if (!this.jobDone) this.dispatcher.abandon(this);
    this.input?.abort();
    this.wake();
  }

  /** The host's close()/return(): once; the worker is told and frees itself. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.resume = null;
    if (!this.ending) this.abandon(null);
    this.wake();
    // A worker that does not end when told (a loop that never writes or reads) is terminated.
    const reactor = this.options.reactor ?? this.environ['spindle.reactor'];
    if (!this.jobDone && reactor) {
      const timeout = this.options.abortTimeout ?? THREAD_ABORT_TIMEOUT;
      this.watchdog = reactor.callLater(timeout, () => {
        this.watchdog = null;
        if (this.jobDone) return;
        this.environ['wsgi.errors'].write(
          `threadedIterApp: ${this.exportName} from ${this.moduleUrl} did not end within ${timeout} s of being abandoned ` +
            '(ThreadedAppAborted is thrown only from write(), wsgi.input and between chunks); its worker was terminated and replaced\n',
        );
        this.dispatcher.terminate(this.id);
      });
    }
  }
}
