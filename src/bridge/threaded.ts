/**
 * `threadedIterApp(moduleUrl, exportName, options) → IterApp`: "threading
 * itself as a piece of middleware". A blocking iterator app runs on a
 * ThreadPool worker (threadedworker.ts); this side, on the reactor thread, is
 * an ordinary iterator app that any gateway can host.
 *
 * Output (G5, G12, G16): the worker's `write()` and yielded chunks go into a
 * bounded SharedArrayBuffer ring (`ringSize`, default THREAD_RING_SIZE) and
 * block while it is full. This side's iterator takes bytes out only when the
 * host pulls (and the host pulls only while the transport wants data); when
 * the ring is empty it pauses with `wsgi.pause_output`, yields '' and resumes
 * when the worker writes (Atomics.waitAsync) or ends (a message). Without
 * `wsgi.pause_output` it is an async iterable instead. Memory per response is
 * the ring, whatever the client's speed.
 *
 * Input (G11, G15): the worker's `wsgi.input.read()` blocks on a second ring
 * that this side fills from the host's non-blocking `wsgi.input`, on demand
 * (the worker asks when it finds the ring empty), woken by `wsgi.input_handler`.
 *
 * Endings (G7, G14, G16): the host's `close()` / `return()` sets the abort
 * flag and aborts both rings, so a worker blocked in `write()`/`read()` wakes
 * and gets `ThreadedAppAborted`; its finally blocks and `close()` run on the
 * worker, which is then free for the next request. A worker that dies fails
 * its request: a 500 before the headers went out, an aborted response after.
 * A full pool queue answers 503.
 *
 * One piece on purpose: `ThreadedResponse` is one state machine (pull, pause,
 * input pump, ending, abandon, watchdog) whose states guard each other; the
 * worker side is threadedworker.ts and threadedinput.ts, the ring ring.ts.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ByteRing } from '../reactor/ring.js';
import { QueueOverflow, ThreadPoolStopped } from '../reactor/errors.js';
import type { Failure } from '../reactor/failure.js';
import type { IDelayedCall, IReactor } from '../reactor/interfaces.js';
import type { Deferred } from '../reactor/deferred.js';
import { ThreadPool } from '../reactor/threadpool.js';
import { rebuildError } from '../reactor/threaderror.js';
import { ThreadedAppAborted } from './errors.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse } from './interfaces.js';
import {
  CTL_ABORT,
  CTL_BYTES,
  CTL_PENDING,
  CTL_WAKE_SEQ,
  type ThreadedSpec,
  type WorkerMessage,
} from './threadedworker.js';

export { THREAD_MAX_PENDING_MESSAGES } from './threadedworker.js';

/** Default bytes of response body buffered between a worker and the reactor, per response. */
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
  /** Output ring bytes per response (default THREAD_RING_SIZE). */
  ringSize?: number;
  /** Input ring bytes per request (default THREAD_INPUT_RING_SIZE). */
  inputRingSize?: number;
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

const WORKER_MODULE = new URL(
  import.meta.url.endsWith('.ts') ? './threadedworker.ts' : './threadedworker.js',
  import.meta.url,
).href;

export function threadedIterApp(moduleUrl: string, exportName: string, options: ThreadedOptions = {}): ThreadedIterApp {
  let pool: ThreadPool | null = options.pool ?? null;
  const app = (environ: Environ, startResponse: StartResponse): AppIterable => {
    if (!pool) {
      const reactor = options.reactor ?? environ['spindle.reactor'] ?? null;
      pool = new ThreadPool(reactor, {
        ...(options.threads !== undefined ? { size: options.threads } : {}),
        ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      });
    }
    return new ThreadedResponse(moduleUrl, exportName, environ, startResponse, pool, options).begin();
  };
  return Object.defineProperty(app, 'pool', { get: () => pool }) as ThreadedIterApp;
}

/** The environ entries a worker can receive: plain data (functions and objects stay here). */
function plainEnviron(environ: Environ): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(environ)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string')) out[k] = [...v];
  }
  return out;
}

/** RFC 9112 section 6.3: no Content-Length (or 0) and no Transfer-Encoding means no body. */
function hasNoBody(environ: Environ): boolean {
  const cl = environ.CONTENT_LENGTH;
  return (cl === '' || cl === '0' || cl === undefined) && !environ.HTTP_TRANSFER_ENCODING;
}

type Ending = { error: unknown } | { error: null };

class ThreadedResponse {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(CTL_BYTES));
  private readonly out: ByteRing;
  private readonly input: ByteRing;
  private readonly port: MessagePort;
  private ending: Ending | null = null;
  private closed = false;
  /** The worker's startResponse reached the host: body bytes may be taken from now on. */
  private started = false;
  /** Why this side abandoned the request when the host did not ask (pool stopping). */
  private abandonReason: Error | null = null;
  private inputEnded = false;
  private inputHandlerSet = false;
  private resume: (() => void) | null = null;
  private wakeAsync: (() => void) | null = null;
  /** A complete response this side makes itself (503 when the pool queue is full). */
  private own: Uint8Array | null = null;
  private readonly job: Deferred<void>;
  private jobDone = false;
  private watchdog: IDelayedCall | null = null;

  constructor(
    private readonly moduleUrl: string,
    private readonly exportName: string,
    private readonly environ: Environ,
    private readonly startResponse: StartResponse,
    private readonly pool: ThreadPool,
    private readonly options: ThreadedOptions,
  ) {
    this.out = ByteRing.create(options.ringSize ?? THREAD_RING_SIZE);
    if (hasNoBody(environ)) {
      // Nothing to read: a one-byte ring, closed now, so read() sees the end without a round trip.
      this.input = ByteRing.create(1);
      this.input.close();
      this.inputEnded = true;
    } else this.input = ByteRing.create(options.inputRingSize ?? THREAD_INPUT_RING_SIZE);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.on('message', (m: WorkerMessage) => {
      try {
        this.onMessage(m);
      } catch (err) {
        // A host callback threw (its flush, input or errors stream): never an uncaught
        // exception on the reactor; the request fails and its worker is told to stop.
        if (!this.ending && !this.closed) this.abandon(err instanceof Error ? err : new Error(String(err)));
        this.wake();
      }
    });
    const spec: ThreadedSpec = {
      appUrl: moduleUrl,
      exportName,
      environ: plainEnviron(environ),
      ctl: this.ctl.buffer as SharedArrayBuffer,
      output: this.out.buffer,
      input: this.input.buffer,
      port: port2,
      hasFlush: typeof environ['x-wsgiorg.flush'] === 'function',
    };
    this.job = this.pool.submit<void>({
      moduleUrl: WORKER_MODULE,
      exportName: 'serveThreaded',
      args: [spec],
      transfer: [port2],
      onStop: () => this.abandon(new ThreadPoolStopped()),
    });
    this.job.addCallbacks(
      () => this.jobEnded(),
      (f: Failure) => {
        this.jobEnded();
        this.jobFailed(f.value);
      },
    );
  }

  begin(): AppIterable {
    if (this.own) return [this.own];
    const self = this;
    const iterator = {
      next: () => this.next(),
      return: () => {
        this.close();
        return { done: true as const, value: undefined };
      },
    };
    if (typeof this.environ['wsgi.pause_output'] === 'function') {
      return { [Symbol.iterator]: () => iterator, close: () => self.close() };
    }
    const asyncIterator = {
      next: () => this.nextAsync(),
      return: async () => iterator.return(),
    };
    return { [Symbol.asyncIterator]: () => asyncIterator, close: () => self.close() };
  }

  /** Sync pull (the host offers pause_output): a chunk, '' after pausing, or the end. */
  private next(): IteratorResult<Chunk> {
    for (;;) {
      const r = this.take();
      if (r) return r;
      const wait = this.ringWait();
      if (wait === null) continue; // bytes came in between: take them
      this.resume = this.environ['wsgi.pause_output']!();
      wait?.then(() => this.wake());
      return { done: false, value: '' };
    }
  }

  /** Async pull (no pause_output): waits for bytes or the end. */
  private async nextAsync(): Promise<IteratorResult<Chunk>> {
    for (;;) {
      const r = this.take();
      if (r) return r;
      const wait = this.ringWait();
      if (wait === null) continue;
      await new Promise<void>((resolve) => {
        this.wakeAsync = resolve;
        wait?.then(() => this.wake());
      });
    }
  }

  /**
   * What to wait for when take() found nothing: the ring's next bytes, or
   * `undefined` when only a message can help (the start or the end: wake()
   * runs then); `null` when bytes arrived meanwhile.
   */
  private ringWait(): Promise<void> | null | undefined {
    if (!this.started || this.out.closed) return undefined;
    return this.out.whenReadable();
  }

  /** Bytes from the ring, or the end once the worker's outcome is known; null: nothing yet. */
  private take(): IteratorResult<Chunk> | null {
    if (this.closed) return { done: true, value: undefined };
    // Abandoned by this side (the pool is stopping) while the host still pulls: the body is cut.
    if (this.abandonReason) throw this.abandonReason;
    // Body bytes only once the host has the status and headers (the start message may trail them).
    const chunk = this.started ? this.out.tryRead() : null;
    if (chunk) return { done: false, value: chunk };
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

  private onMessage(m: WorkerMessage): void {
    switch (m.t) {
      case 'start':
        this.handled();
        return this.start(m);
      case 'read':
        return this.pumpInput();
      case 'errors':
        this.handled();
        return this.environ['wsgi.errors'].write(m.text);
      case 'flush':
        this.handled();
        if (!this.closed) (this.environ['x-wsgiorg.flush'] as (() => void) | undefined)?.();
        return;
      case 'end':
        if (m.error) this.end({ error: rebuildError(m.error) });
        // Abandoned while the host still pulls (pool stopping): the body was cut, not complete.
        else if (m.aborted && !this.closed) this.end({ error: this.abandonReason ?? new ThreadedAppAborted() });
        else this.end({ error: null });
        return;
    }
  }

  /**
   * The worker's startResponse, already checked there with the same rules:
   * the host's own startResponse now, before any body byte is taken from the
   * ring. Should the host refuse anyway, the request fails (a throw from
   * onMessage abandons it).
   */
  private start(m: Extract<WorkerMessage, { t: 'start' }>): void {
    if (this.closed || this.abandonReason) return;
    this.startResponse(m.status, m.headers, m.excInfo ? rebuildError(m.excInfo) : undefined);
    this.started = true;
    this.wake();
  }

  /** A fire-and-forget message was handled: one more may come (THREAD_MAX_PENDING_MESSAGES). */
  private handled(): void {
    Atomics.sub(this.ctl, CTL_PENDING, 1);
    this.wakeWorker();
  }

  private wakeWorker(): void {
    Atomics.add(this.ctl, CTL_WAKE_SEQ, 1);
    Atomics.notify(this.ctl, CTL_WAKE_SEQ);
  }

  /** Move what the host's wsgi.input has into the input ring, up to its space (G15). */
  private pumpInput(): void {
    if (this.inputEnded || this.closed) return;
    const host = this.environ['wsgi.input'];
    for (;;) {
      const space = this.input.space();
      if (space === 0) return; // the worker asks again once it has emptied the ring
      const chunk = host.read(space);
      if (chunk.length > 0) {
        this.input.tryWrite(chunk);
        continue;
      }
      if (host.clientGone) {
        this.inputEnded = true;
        this.input.abort(); // without CTL_ABORT: the worker reads this as "client gone"
      } else if (host.atEOF || typeof this.environ['wsgi.input_handler'] !== 'function') {
        // A host without input_handler is taken to read synchronously: empty means the end.
        this.inputEnded = true;
        this.input.close();
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
    this.port.close();
    this.wake();
  }

  private jobEnded(): void {
    this.jobDone = true;
    if (this.watchdog?.active()) this.watchdog.cancel();
    this.watchdog = null;
  }

  private jobFailed(err: unknown): void {
    if (err instanceof QueueOverflow && !this.ending && !this.closed) {
      // Shed load like a busy server: 503 now, before the app was ever called.
      this.startResponse('503 Service Unavailable', [
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Retry-After', '1'],
      ]);
      this.own = new TextEncoder().encode('the server is busy: every worker thread is taken and the queue is full\n');
      this.end({ error: null });
      return;
    }
    this.end({ error: err });
  }

  /** Abandon: wake a blocked worker with the abort flag (G14, G16). */
  private abandon(reason: Error | null): void {
    this.abandonReason ??= reason;
    Atomics.store(this.ctl, CTL_ABORT, 1);
    this.wakeWorker();
    this.out.abort();
    this.input.abort();
  }

  /** The host's close()/return(): once; the worker is told and frees itself. */
  private close(): void {
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
        this.pool.terminateJob(this.job);
      });
    }
  }
}
