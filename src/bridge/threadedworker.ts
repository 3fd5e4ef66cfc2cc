/**
 * threadedIterApp, the worker side: a loop (one ThreadPool job that stays on
 * its worker) pulls requests from the shared job queue and runs each one of a
 * blocking iterator app. The app gets a real environ (decoded from the job
 * record, with `wsgi.multithread` true), a `write()` and iteration that block
 * while the output ring is full, and a `wsgi.input` whose `read()` blocks
 * until bytes or the end arrive (PEP 3333's blocking model, G11, G12).
 *
 * Talking to the reactor side (threaded.ts, threadeddispatch.ts): the start
 * (status, headers), body, flushes and the end of each response are records
 * in this worker's output ring, allocated once for the loop and reused by
 * every request it runs; log lines and requests for body bytes go on the
 * loop's MessagePort. `startResponse` is checked here with the gateway's own
 * rules (G2, G9, G10, so the app gets its error from the call). Log lines are
 * bounded (THREAD_MAX_PENDING_MESSAGES): a worker never outruns the reactor
 * without limit.
 *
 * Waiting: an idle loop sleeps on the queue (Atomics.wait) for at most
 * THREAD_IDLE_LINGER seconds, then ends and gives its worker back to the pool.
 * Abandonment (G14, G16): the reactor side sets the job's cancel word and
 * wakes the worker; a blocked `write()`/`read()` throws `ThreadedAppAborted`
 * in the app, whose finally blocks and `close()` then run here.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ByteRing } from '../reactor/ring.js';
import { serializeError } from '../reactor/threaderror.js';
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
import { RecordRing, SPACE_SEQ, USER_WORD } from './threadedring.js';
import { RING_SLACK } from './threadedcodec.js';
import { loopAwake, noteDrained, sleepLoop } from './threadedwake.js';
import {
  decodeJob,
  encodeEnd,
  encodeStart,
  END_ABORTED,
  END_ERROR,
  END_OK,
  JOB_HAS_BODY,
  JOB_HAS_FLUSH,
  REC_BODY,
  REC_END,
  REC_FLUSH,
  REC_START,
  REC_WHOLE,
  putU32,
  Scratch,
  WHOLE_MAX,
  StringTableReader,
  type JobSpec,
} from './threadedcodec.js';

/** Bumped by a worker that found the reactor thread asleep (Q_MAIN_SLEEP) after publishing. */
export const Q_MAIN_SEQ = USER_WORD;
/** Set by the reactor thread before it waits on Q_MAIN_SEQ; the first worker to publish clears it and wakes it. */
export const Q_MAIN_SLEEP = USER_WORD + 1;
/** Set when the pool stops: loops claim nothing more. */
export const Q_STOP = USER_WORD + 3;
/**
 * A loop's control words (Int32). The worker waits on WAKE_SEQ for log-line
 * room and for its input ring; the reactor side bumps it when it handled a
 * line, sent the ring, or abandons a request.
 */
export const CTL_WAKE_SEQ = 0;
/** Fire-and-forget messages (wsgi.errors) posted and not yet handled. */
export const CTL_PENDING = 2;
/** The job id the loop runs now (0: none). */
export const CTL_CURRENT = 3;
export const CTL_BYTES = 16;

/**
 * Most fire-and-forget messages (wsgi.errors writes) a worker app may have in
 * flight; past it the app blocks until the reactor catches up, so a chatty
 * app cannot grow the message queue without bound.
 */
export const THREAD_MAX_PENDING_MESSAGES = 64;

/** Seconds an idle loop waits for the next request before it gives its worker back to the pool. */
export const THREAD_IDLE_LINGER = 1;

/** Requests a loop runs back to back before it lets its thread's own timers and I/O run. */
const JOBS_PER_TURN = 64;

/** What the reactor side hands a loop: the shared memory and the loop's port. */
export interface LoopSpec {
  queue: SharedArrayBuffer;
  cancel: SharedArrayBuffer;
  /** The idle mask and each loop's wait word (threadedwake.ts), and this loop's number there. */
  loops: SharedArrayBuffer;
  index: number;
  strings: SharedArrayBuffer;
  output: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  port: MessagePort;
  lingerMs: number;
}

/** Worker → reactor messages (the port); the rest goes through the output ring. */
export type WorkerMessage = { t: 'read'; job: number } | { t: 'errors'; job: number; text: string };
/** Reactor → worker: the request's input ring, sent on its first read. */
export interface InputMessage {
  t: 'input';
  job: number;
  buffer: SharedArrayBuffer;
}

const utf8 = new TextEncoder();
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The pool job: serve requests from the queue until idle for the linger time or stopped. */
export async function serveThreadedLoop(spec: LoopSpec): Promise<void> {
  try {
    await new WorkerLoop(spec).run();
  } finally {
    spec.port.close();
  }
}

class WorkerLoop {
  readonly queue: RecordRing;
  readonly q: Int32Array;
  readonly cancel: Int32Array;
  private readonly loops: Int32Array;
  readonly out: RecordRing;
  readonly ctl: Int32Array;
  readonly scratch = new Scratch();
  /** The running request's start held back (a u32 length, then the start), and the body gathered behind it: REC_WHOLE's payload. */
  readonly whole = new Scratch();
  private readonly strings: StringTableReader;
  /** The apps this loop has loaded, by module URL and export name. */
  readonly apps = new Map<string, Map<string, { fn: IterApp; owner: unknown }>>();
  private readonly into = { buf: Buffer.allocUnsafe(4096) };
  /** The input of every request without a body (it reads empty, at the end). */
  readonly noBody: BlockingInput;

  constructor(readonly spec: LoopSpec) {
    this.queue = RecordRing.attach(spec.queue);
    this.q = this.queue.ctl;
    this.cancel = new Int32Array(spec.cancel);
    this.loops = new Int32Array(spec.loops);
    this.strings = new StringTableReader(spec.strings);
    this.out = RecordRing.attach(spec.output);
    this.ctl = new Int32Array(spec.ctl);
    const closed = ByteRing.create(1);
    closed.close();
    this.noBody = new BlockingInput(
      closed,
      () => false,
      () => {},
    );
  }

  async run(): Promise<void> {
    let run = 0;
    loopAwake(this.loops);
    for (;;) {
      if (Atomics.load(this.q, Q_STOP) !== 0) return;
      const h = this.queue.claim(this.into);
      if (h) {
        // No other loop is woken here, however many requests wait: this one takes them all
        // in turn, and the reactor side wakes another only when the queue stops draining.
        const id = h.job;
        const job = decodeJob(this.into.buf, h.length, this.strings);
        Atomics.store(this.ctl, CTL_CURRENT, id);
        const running = new WorkerRequest(this, id, job).run();
        if (running) await running;
        Atomics.store(this.ctl, CTL_CURRENT, 0);
        if (++run >= JOBS_PER_TURN) {
          run = 0;
          await yieldTurn();
        }
        continue;
      }
      // Idle: let this thread's timers and I/O run (an app's stray callbacks), then sleep.
      noteDrained(this.loops);
      run = 0;
      await yieldTurn();
      if (this.queue.used() !== 0) continue;
      const slept = sleepLoop(
        this.loops,
        this.spec.index,
        this.spec.lingerMs,
        () => this.queue.used() === 0 && Atomics.load(this.q, Q_STOP) === 0,
      );
      if (slept.timedOut && this.queue.used() === 0) return;
      if (slept.mine) loopAwake(this.loops);
    }
  }

  /** After publishing a record: wake the reactor thread if it sleeps (once: the first to clear the flag). */
  notifyMain(): void {
    if (Atomics.load(this.q, Q_MAIN_SLEEP) !== 0 && Atomics.compareExchange(this.q, Q_MAIN_SLEEP, 1, 0) === 1) {
      Atomics.add(this.q, Q_MAIN_SEQ, 1);
      Atomics.notify(this.q, Q_MAIN_SEQ);
    }
  }
}

class WorkerRequest {
  private readonly out: RecordRing;
  private readonly ctl: Int32Array;
  private started = false;
  private result: AppIterable | null = null;
  private iterator: Iterator<Chunk> | null = null;
  private done = false;
  private failure: unknown = null;
  /** The response is over: a stray late startResponse/write must fail, not wait for a reply that never comes. */
  private finished = false;
  private bodyStarted = false;
  /**
   * The start is held in the loop's `whole` scratch, not published yet (the
   * host sends a head only with the first body byte, a flush or the end: G3).
   * It goes out with the first of those; with the end of a returned list, as
   * one REC_WHOLE record with that list's body.
   */
  private held = false;

  constructor(
    private readonly loop: WorkerLoop,
    private readonly id: number,
    private readonly job: JobSpec,
  ) {
    this.out = loop.out;
    this.ctl = loop.ctl;
  }

  /** Run the request to its end; a promise only when something on the way is asynchronous (module load, async iterable). */
  run(): Promise<void> | void {
    const app = this.loop.apps.get(this.job.appUrl)?.get(this.job.exportName);
    return app ? this.runApp(app) : this.loadThenRun();
  }

  private async loadThenRun(): Promise<void> {
    let app: { fn: IterApp; owner: unknown };
    try {
      const mod = await loadModule(this.job.appUrl);
      const { fn, owner } = resolveExport(mod, this.job.appUrl, this.job.exportName, 'threadedIterApp');
      app = { fn: fn as unknown as IterApp, owner };
      let byName = this.loop.apps.get(this.job.appUrl);
      if (!byName) this.loop.apps.set(this.job.appUrl, (byName = new Map()));
      byName.set(this.job.exportName, app);
    } catch (err) {
      this.failure = err;
      return this.end();
    }
    return this.runApp(app);
  }

  private runApp(app: { fn: IterApp; owner: unknown }): Promise<void> | void {
    try {
      this.checkStopped();
      this.result = app.fn.call(app.owner, this.environ(), (s, h, e) => this.startResponse(s, h, e));
      const iterator = iteratorOf(this.result);
      if (typeof (this.result as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') {
        return this.pumpAsync(iterator as AsyncIterator<Chunk>);
      }
      this.iterator = iterator as Iterator<Chunk>;
      // An array's items are all there: the reactor thread is woken once, by the end, not per
      // chunk (a generator's next() may block, so each of its chunks wakes it: G6). An array
      // with a close() of its own is not quiet: its chunks go out while close() runs.
      const quiet = Array.isArray(this.result) && typeof (this.result as { close?: unknown }).close !== 'function';
      // A sync iterator is pulled without an await per chunk (no microtask hop on the hot path).
      for (;;) {
        this.checkAbort();
        const r = this.iterator.next();
        if (r.done) break;
        if (quiet && this.held) this.gather(r.value);
        else this.send(r.value, 'a chunk yielded by the iterable', quiet);
      }
      this.done = true;
    } catch (err) {
      this.failure = err;
    }
    return this.closeThenEnd(this.iterator);
  }

  private async pumpAsync(iterator: AsyncIterator<Chunk>): Promise<void> {
    try {
      for (;;) {
        this.checkAbort();
        const r = await iterator.next();
        if (r.done) break;
        this.send(r.value, 'a chunk yielded by the iterable');
      }
      this.done = true;
    } catch (err) {
      this.failure = err;
    }
    return this.closeThenEnd(iterator);
  }

  /** G7: close() if the iterable has one, else return() on an iterator left midway; once. Then the end. */
  private closeThenEnd(iterator: Iterator<Chunk> | AsyncIterator<Chunk> | null): Promise<void> | void {
    try {
      if (this.result && typeof this.result.close === 'function') this.result.close();
      else if (!this.done && iterator && typeof iterator.return === 'function') {
        const returned = iterator.return() as unknown;
        if (returned instanceof Promise) {
          return returned.then(
            () => this.end(),
            (err: unknown) => {
              this.failure ??= err;
              this.end();
            },
          );
        }
      }
    } catch (err) {
      this.failure ??= err;
    }
    return this.end();
  }

  /**
   * The outcome, as the END record (after the request's log lines were
   * handled); a good end of a response whose start is still held, as one
   * REC_WHOLE record with the start and the body gathered behind it.
   */
  private end(): void {
    this.finished = true;
    const failure = this.failure;
    const aborted = failure instanceof ThreadedAppAborted || this.aborted();
    // Abandoned: the reactor side drops what this request would still publish, so a held start goes nowhere.
    if (aborted) this.held = false;
    const s = this.loop.scratch;
    s.reset();
    if (aborted) encodeEnd(s, END_ABORTED);
    else if (failure !== null) encodeEnd(s, END_ERROR, serializeError(failure));
    else encodeEnd(s, END_OK);
    // Log lines go on the port, the end through the ring: the end waits until the lines were handled.
    for (let seq = Atomics.load(this.ctl, CTL_WAKE_SEQ); Atomics.load(this.ctl, CTL_PENDING) > 0;) {
      Atomics.wait(this.ctl, CTL_WAKE_SEQ, seq);
      seq = Atomics.load(this.ctl, CTL_WAKE_SEQ);
    }
    // The end always goes out (the reactor side drains an abandoned job's records, so room comes).
    const notify = () => this.loop.notifyMain();
    if (this.held && failure === null) {
      this.held = false;
      this.out.putBlocking(REC_WHOLE, this.id, this.loop.whole.view(), notify, this.job.ringLimit);
    } else {
      // A failure after the start: the host gets the start and the body so far, then the error, as before.
      if (this.held) this.publishHeld(notify);
      this.out.putBlocking(REC_END, this.id, s.view(), notify);
    }
    this.loop.notifyMain();
  }

  /**
   * The held start goes out as a START record, and the body gathered behind
   * it as a BODY record. `stop` is asked before each wait for room (the end's
   * own puts wait for the reactor side without throwing).
   */
  private publishHeld(stop: () => void = this.beforeWait): void {
    this.held = false;
    const w = this.loop.whole;
    const startEnd = 4 + (w.buf[0]! | (w.buf[1]! << 8) | (w.buf[2]! << 16) | (w.buf[3]! << 24));
    const limit = this.job.ringLimit;
    this.out.putBlocking(REC_START, this.id, w.buf.subarray(4, startEnd), stop, limit);
    if (w.at > startEnd) this.out.putBlocking(REC_BODY, this.id, w.buf.subarray(startEnd, w.at), stop, limit);
  }

  /**
   * A chunk of a returned list while the start is held: into the REC_WHOLE
   * payload while it stays within WHOLE_MAX (and the ring's bound), else
   * what was held goes out as records and this chunk after it, as send() does.
   */
  private gather(chunk: unknown): void {
    const bytes = bodyBytes(chunk, 'a chunk yielded by the iterable');
    if (bytes.length === 0) return; // G4
    const w = this.loop.whole;
    if (w.at + bytes.length <= this.wholeMax()) {
      this.bodyStarted = true;
      w.ensure(bytes.length);
      w.buf.set(bytes, w.at);
      w.at += bytes.length;
      return;
    }
    this.publishHeld();
    this.send(bytes, 'a chunk yielded by the iterable', true);
  }

  /** Most bytes of a REC_WHOLE payload for this request: one record that fits its share of an empty ring. */
  private wholeMax(): number {
    return Math.min(WHOLE_MAX, this.job.ringLimit - 64);
  }

  private environ(): Environ {
    const port = this.loop.spec.port;
    const hasBody = (this.job.flags & JOB_HAS_BODY) !== 0;
    const environ = this.job.environ as unknown as Environ;
    environ['wsgi.input'] = hasBody
      ? new BlockingInput(
          () => this.inputRing(),
          () => this.aborted(),
          () => port.postMessage({ t: 'read', job: this.id } satisfies WorkerMessage),
        )
      : this.loop.noBody;
    environ['wsgi.errors'] = new WorkerErrors(this);
    environ['wsgi.multithread'] = true;
    environ['wsgi.run_once'] = false;
    if (hasToken(environ.HTTP_UPGRADE as string | undefined, 'websocket')) {
      // A blocking app on a worker cannot take a socket that talks both ways at once: say so at accept().
      environ['spindle.websocket'] = {
        accept: () => {
          throw new WebSocketUnsupportedError(
            'on a worker thread (threadedIterApp); serve the WebSocket app in-process (toCpsApp or serve())',
          );
        },
      } as Environ['spindle.websocket'];
    }
    if ((this.job.flags & JOB_HAS_FLUSH) !== 0) {
      environ['x-wsgiorg.flush'] = () => {
        if (!this.started) throw new BodyBeforeStartResponseError('x-wsgiorg.flush()'); // as the host would
        this.checkAbort();
        this.bodyStarted = true; // the headers go out now: a later excInfo is re-raised (G2)
        if (this.held) this.publishHeld();
        this.put(REC_FLUSH, EMPTY);
      };
    }
    return environ;
  }

  /** The request's input ring: asked for with the first read, sent by the reactor side on the port. */
  private inputRing(): ByteRing {
    const port = this.loop.spec.port;
    port.postMessage({ t: 'read', job: this.id } satisfies WorkerMessage);
    for (;;) {
      const seq = Atomics.load(this.ctl, CTL_WAKE_SEQ);
      const got = receiveMessageOnPort(port);
      if (got) {
        const m = got.message as InputMessage;
        if (m.t === 'input' && m.job === this.id) return ByteRing.attach(m.buffer);
        continue; // a previous request's ring, sent as it was abandoned
      }
      if (this.aborted()) throw new ThreadedAppAborted();
      Atomics.wait(this.ctl, CTL_WAKE_SEQ, seq);
    }
  }

  /**
   * PEP 3333's start_response on the worker. It is checked here with the
   * gateway's own rules (G2, G9, G10: the app gets the error from this very
   * call) and then published without waiting: the reactor side hands it to
   * the host's startResponse before it takes any body byte.
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
    // A start held from an earlier call goes first: the host sees every call, in order.
    if (this.held) this.publishHeld();
    // Held, not published: the host sends a head only with the first body byte, a flush or the
    // end (G3), and the start goes out with the first of those (with a list's end, in one record).
    const w = this.loop.whole;
    w.reset();
    w.u32(0);
    encodeStart(w, status, checked, excInfo !== undefined ? serializeError(excInfo) : undefined);
    putU32(w.buf, 0, w.at - 4);
    this.started = true;
    if (w.at <= this.wholeMax()) this.held = true;
    else this.put(REC_START, w.buf.subarray(4, w.at), false); // a start too large to hold
    return this.write;
  }

  private readonly write: WriteFn = (chunk) => this.send(chunk, 'write()');

  /**
   * One record into the output ring, blocking while it does not fit (G12; the
   * reactor thread is woken first: it frees the room); throws once abandoned.
   * `wake`: wake the reactor thread for it now.
   */
  private put(type: number, payload: Uint8Array, wake = true): void {
    this.out.putBlocking(type, this.id, payload, this.beforeWait, this.job.ringLimit);
    if (wake) this.loop.notifyMain();
  }

  /** Before blocking for room: what is in the ring reaches the reactor thread, and an abandoned request stops. */
  private readonly beforeWait = (): void => {
    this.loop.notifyMain();
    this.checkAbort();
  };

  /** A log line, blocking while THREAD_MAX_PENDING_MESSAGES are in flight. */
  post(text: string): void {
    if (this.finished) {
      // A late log line from a stray callback: the request is gone; keep the line.
      process.stderr.write(text);
      return;
    }
    for (;;) {
      const seq = Atomics.load(this.ctl, CTL_WAKE_SEQ);
      if (Atomics.load(this.ctl, CTL_PENDING) < THREAD_MAX_PENDING_MESSAGES) break;
      this.checkAbort();
      Atomics.wait(this.ctl, CTL_WAKE_SEQ, seq);
    }
    Atomics.add(this.ctl, CTL_PENDING, 1);
    this.loop.spec.port.postMessage({ t: 'errors', job: this.id, text } satisfies WorkerMessage);
  }

  /**
   * Body bytes: as many records as it takes, each as big as the ring has room
   * for (G6: no waiting to fill). `quiet`: more chunks follow at once (an
   * array's), so the reactor thread is woken by a later record, or before
   * this thread waits for room.
   */
  private send(chunk: unknown, where: string, quiet = false): void {
    this.checkAbort();
    const bytes = bodyBytes(chunk, where);
    if (bytes.length === 0) return; // G4: a yield point, nothing to send
    if (!this.started) throw new BodyBeforeStartResponseError(where); // G1
    if (this.held) this.publishHeld();
    this.bodyStarted = true;
    const limit = this.job.ringLimit;
    // A piece as large as the room allows, but not a sliver: a blocked writer waits for a
    // quarter of its bound (or the rest of the chunk), so a stream through a full ring goes
    // out in large chunks rather than in the few bytes freed at a time.
    const least = Math.max(1, (limit - RING_SLACK) >> 2);
    let offset = 0;
    while (offset < bytes.length) {
      const seq = Atomics.load(this.out.ctl, SPACE_SEQ);
      const room = this.out.room(limit);
      if (room >= Math.min(least, bytes.length - offset)) {
        const n = Math.min(room, bytes.length - offset);
        this.out.tryPut(
          REC_BODY,
          this.id,
          offset === 0 && n === bytes.length ? bytes : bytes.subarray(offset, offset + n),
          limit,
        );
        offset += n;
        if (!quiet) this.loop.notifyMain();
        continue;
      }
      this.beforeWait(); // G12: blocks while the ring is full, until room or abandonment
      this.out.waitForRoom(seq);
    }
  }

  private aborted(): boolean {
    return Atomics.load(this.loop.cancel, this.job.cancelSlot) !== 0;
  }

  /** The pool is stopping or the request was abandoned before it started: do not run the app. */
  private checkStopped(): void {
    if (Atomics.load(this.loop.q, Q_STOP) !== 0) throw new ThreadedAppAborted();
    this.checkAbort();
  }

  private checkAbort(): void {
    if (this.finished) throw new ResponseEndedError();
    if (this.aborted()) throw new ThreadedAppAborted();
  }
}

const EMPTY = new Uint8Array(0);

/** A body chunk as bytes (a string as UTF-8); anything else is the app's error. */
function bodyBytes(chunk: unknown, where: string): Uint8Array {
  const bytes = typeof chunk === 'string' ? utf8.encode(chunk) : chunk instanceof Uint8Array ? chunk : null;
  if (bytes === null) {
    throw new InvalidAppResultError(
      `${where} got a ${chunk === null ? 'null' : typeof chunk}; body chunks must be strings (sent as UTF-8) or Uint8Array`,
    );
  }
  return bytes;
}

/** `wsgi.errors` on a worker: lines go to the host's log (a late one, after the response, to stderr). */
class WorkerErrors {
  constructor(private readonly request: WorkerRequest) {}
  write(text: string): void {
    this.request.post(String(text));
  }
  writelines(lines: Iterable<string>): void {
    for (const l of lines) this.write(l);
  }
  flush(): void {}
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
