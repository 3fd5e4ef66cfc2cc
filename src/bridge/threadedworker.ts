/**
 * threadedIterApp, the worker side: runs one request of a blocking iterator
 * app on a ThreadPool worker. The app gets a real environ (plain data from
 * the host's, with `wsgi.multithread` true), a `write()` and iteration that
 * block while the output ring is full, and a `wsgi.input` whose `read()`
 * blocks until bytes or the end arrive (PEP 3333's blocking model, G11, G12).
 *
 * Talking to the reactor side (threaded.ts): body bytes go through the
 * output ring; everything else is a message on the request's MessagePort.
 * `startResponse` is checked here with the gateway's own rules (G2, G9, G10,
 * so the app gets its error from the call) and posted without waiting for the
 * reactor thread; the reactor side starts the host's response before it takes
 * any body byte. Fire-and-forget messages are bounded
 * (THREAD_MAX_PENDING_MESSAGES): a worker never outruns the reactor without limit.
 *
 * Abandonment (G14, G16): the reactor side sets ABORT and aborts both rings;
 * a blocked `write()`/`read()` wakes and throws `ThreadedAppAborted` in the
 * app, whose finally blocks and `close()` then run here, on the worker.
 */
import type { MessagePort } from 'node:worker_threads';
import { ByteRing } from '../reactor/ring.js';
import { RingAborted } from '../reactor/errors.js';
import { serializeError, type SerializedError } from '../reactor/threaderror.js';
import { loadModule, resolveExport } from '../reactor/worker.js';
import {
  BodyBeforeStartResponseError,
  InvalidAppResultError,
  ResponseEndedError,
  StartResponseTwiceError,
  ThreadedAppAborted,
} from './errors.js';
import { parseStatus, validateHeaders } from './startresponse.js';
import { BlockingInput } from './threadedinput.js';
import type { AppIterable, Chunk, Environ, IterApp, WriteFn } from './interfaces.js';
import { hasToken } from '../protocols/websocket/accept.js';
import { WebSocketUnsupportedError } from '../protocols/websocket/errors.js';

/**
 * Control block slots (Int32). The worker waits on WAKE_SEQ for everything
 * but ring space/data: the reactor side bumps it when it replies, when it has
 * handled a message (PENDING went down) and when it abandons the request.
 */
export const CTL_WAKE_SEQ = 0;
export const CTL_ABORT = 1;
/** Fire-and-forget messages (wsgi.errors, flush) posted and not yet handled. */
export const CTL_PENDING = 2;
export const CTL_BYTES = 16;

/**
 * Most fire-and-forget messages (wsgi.errors writes, flushes) a worker app may
 * have in flight; past it the app blocks until the reactor catches up, so a
 * chatty app cannot grow the message queue without bound.
 */
export const THREAD_MAX_PENDING_MESSAGES = 64;

/** What the reactor side hands the worker for one request. */
export interface ThreadedSpec {
  appUrl: string;
  exportName: string;
  /** The host environ's plain-data entries (CGI variables, HTTP_*, wsgi.version, ...). */
  environ: Record<string, unknown>;
  ctl: SharedArrayBuffer;
  output: SharedArrayBuffer;
  input: SharedArrayBuffer;
  port: MessagePort;
  hasFlush: boolean;
}

/** Worker → reactor messages. */
export type WorkerMessage =
  | { t: 'start'; status: string; headers: [string, string][]; excInfo?: SerializedError }
  | { t: 'read' }
  | { t: 'errors'; text: string }
  | { t: 'flush' }
  | { t: 'end'; error?: SerializedError; aborted?: boolean };

const utf8 = new TextEncoder();

/** The pool job: run one request to its end. Never throws: the outcome goes out as the 'end' message. */
export async function serveThreaded(spec: ThreadedSpec): Promise<void> {
  const req = new WorkerRequest(spec);
  try {
    await req.run();
  } finally {
    spec.port.close();
  }
}

class WorkerRequest {
  private readonly ctl: Int32Array;
  private readonly out: ByteRing;
  private started = false;
  /** The response is over: a stray late startResponse/write must fail, not wait for a reply that never comes. */
  private finished = false;
  private bodyStarted = false;

  constructor(private readonly spec: ThreadedSpec) {
    this.ctl = new Int32Array(spec.ctl);
    this.out = ByteRing.attach(spec.output);
  }

  async run(): Promise<void> {
    let result: AppIterable | null = null;
    let iterator: Iterator<Chunk> | AsyncIterator<Chunk> | null = null;
    let done = false;
    let failure: unknown = null;
    try {
      const mod = await loadModule(this.spec.appUrl);
      const { fn, owner } = resolveExport(mod, this.spec.appUrl, this.spec.exportName, 'threadedIterApp');
      const app = fn as unknown as IterApp;
      result = app.call(owner, this.environ(), (s, h, e) => this.startResponse(s, h, e));
      iterator = iteratorOf(result);
      const isAsync = typeof (result as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
      for (;;) {
        this.checkAbort();
        // A sync iterator is pulled without an await per chunk (no microtask hop on the hot path).
        const r = isAsync ? await (iterator as AsyncIterator<Chunk>).next() : (iterator as Iterator<Chunk>).next();
        if (r.done) break;
        this.send(r.value, 'a chunk yielded by the iterable');
      }
      done = true;
    } catch (err) {
      failure = err;
    }
    // G7: close() if the iterable has one, else return() on an iterator left midway; once.
    try {
      if (result && typeof result.close === 'function') result.close();
      else if (!done && iterator && typeof iterator.return === 'function') await iterator.return();
    } catch (err) {
      failure ??= err;
    }
    this.finished = true;
    this.out.close();
    const aborted = failure instanceof ThreadedAppAborted || this.aborted();
    const end: WorkerMessage = aborted
      ? { t: 'end', aborted: true }
      : failure !== null
        ? { t: 'end', error: serializeError(failure) }
        : { t: 'end' };
    this.spec.port.postMessage(end);
  }

  private environ(): Environ {
    const port = this.spec.port;
    const environ = {
      ...this.spec.environ,
      'wsgi.input': new BlockingInput(
        ByteRing.attach(this.spec.input),
        () => this.aborted(),
        () => port.postMessage({ t: 'read' } satisfies WorkerMessage),
      ),
      'wsgi.errors': {
        write: (text: string) => this.post({ t: 'errors', text: String(text) }),
        writelines(lines: Iterable<string>) {
          for (const l of lines) this.write(l);
        },
        flush() {},
      },
      'wsgi.multithread': true,
      'wsgi.run_once': false,
    } as unknown as Environ;
    if (hasToken(environ.HTTP_UPGRADE as string | undefined, 'websocket')) {
      // A blocking app on a worker cannot take a socket that talks both ways at once: say so at accept().
      environ['spindle.websocket'] = {
        accept: () => {
          throw new WebSocketUnsupportedError(
            'on a worker thread (threadedIterApp); serve the WebSocket app in-process (toCpsApp or serve())',
          );
        },
      };
    }
    if (this.spec.hasFlush) {
      environ['x-wsgiorg.flush'] = () => {
        if (!this.started) throw new BodyBeforeStartResponseError('x-wsgiorg.flush()'); // as the host would
        this.bodyStarted = true; // the headers go out now: a later excInfo is re-raised (G2)
        this.post({ t: 'flush' });
      };
    }
    return environ;
  }

  /**
   * PEP 3333's start_response on the worker. It is checked here with the
   * gateway's own rules (G2, G9, G10: the app gets the error from this very
   * call) and then posted without waiting: the reactor side hands it to the
   * host's startResponse before it takes any body byte from the ring, so the
   * worker never waits for a busy reactor thread just to start a response.
   */
  private startResponse(status: string, headers: [string, string][], excInfo?: unknown): WriteFn {
    this.checkAbort();
    if (excInfo !== undefined) {
      // With excInfo after the body began (or a flush), the headers count as sent: re-raise.
      if (this.bodyStarted) throw excInfo;
    } else if (this.started) {
      throw new StartResponseTwiceError();
    }
    parseStatus(status);
    const checked = validateHeaders(headers).headers;
    const msg: WorkerMessage = { t: 'start', status, headers: checked };
    if (excInfo !== undefined) msg.excInfo = serializeError(excInfo);
    this.post(msg);
    this.started = true;
    return this.write;
  }

  private readonly write: WriteFn = (chunk) => this.send(chunk, 'write()');

  /** Post a fire-and-forget message, blocking while THREAD_MAX_PENDING_MESSAGES are in flight. */
  private post(msg: WorkerMessage): void {
    if (this.finished) {
      // A late log line from a stray callback: the request's port is gone; keep the line.
      if (msg.t === 'errors') process.stderr.write(msg.text);
      return;
    }
    for (;;) {
      const seq = Atomics.load(this.ctl, CTL_WAKE_SEQ);
      if (Atomics.load(this.ctl, CTL_PENDING) < THREAD_MAX_PENDING_MESSAGES) break;
      this.checkAbort();
      Atomics.wait(this.ctl, CTL_WAKE_SEQ, seq);
    }
    Atomics.add(this.ctl, CTL_PENDING, 1);
    this.spec.port.postMessage(msg);
  }

  private send(chunk: unknown, where: string): void {
    this.checkAbort();
    const bytes = typeof chunk === 'string' ? utf8.encode(chunk) : chunk instanceof Uint8Array ? chunk : null;
    if (bytes === null) {
      throw new InvalidAppResultError(
        `${where} got a ${chunk === null ? 'null' : typeof chunk}; body chunks must be strings (sent as UTF-8) or Uint8Array`,
      );
    }
    if (bytes.length === 0) return; // G4: a yield point, nothing to send
    if (!this.started) throw new BodyBeforeStartResponseError(where); // G1
    this.bodyStarted = true;
    try {
      this.out.writeBlocking(bytes); // G12: blocks while the ring is full
    } catch (err) {
      throw err instanceof RingAborted ? new ThreadedAppAborted() : err;
    }
  }

  private aborted(): boolean {
    return Atomics.load(this.ctl, CTL_ABORT) !== 0;
  }

  private checkAbort(): void {
    if (this.finished) throw new ResponseEndedError();
    if (this.aborted()) throw new ThreadedAppAborted();
  }
}

function iteratorOf(result: unknown): Iterator<Chunk> | AsyncIterator<Chunk> {
  if (result !== null && typeof result === 'object' && typeof result !== 'string' && !(result instanceof Uint8Array)) {
    const asyncIt = (result as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator];
    if (typeof asyncIt === 'function') return (asyncIt as () => AsyncIterator<Chunk>).call(result);
    const it = (result as { [Symbol.iterator]?: unknown })[Symbol.iterator];
    if (typeof it === 'function') return (it as () => Iterator<Chunk>).call(result);
  }
  throw new InvalidAppResultError(
    `the app returned ${result === null ? 'null' : typeof result}; an iterator app returns an Iterable or AsyncIterable of chunks (e.g. [body], not a bare string)`,
  );
}
