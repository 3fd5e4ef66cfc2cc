/**
 * `toIterApp(cpsApp)`: run a Twisted.web-style app behind any iterator
 * gateway. "A function returning an iterator, with pausing logic and a queue"
 * (Web-SIG): the CPS app writes into a bounded `BridgeQueue`; the returned
 * iterator drains it. When the queue is empty the iterator calls
 * `wsgi.pause_output()` and yields '' (G13); the next write resumes it. Past
 * the queue's high-water mark the CPS app's producer is paused (G16), and the
 * iterator's `close()`/`return()` cancels the CPS side: `notifyFinish()`
 * errbacks with `ConnectionLost` and the producer is stopped (G14).
 */
import { ConnectionLost } from '../reactor/errors.js';
import type { IReactor } from '../reactor/interfaces.js';
import type { CpsApp } from '../protocols/http/interfaces.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse } from './interfaces.js';
import { EnvironRequest, type EnvironRequestOptions } from './envrequest.js';
import { BridgeHostUnsupportedError, BridgeNoReactorError } from './errors.js';
import { runCpsApp } from '../protocols/http/requestcore.js';

export interface ToIterAppOptions extends EnvironRequestOptions {
  /** The reactor; default `environ['spindle.reactor']`. */
  reactor?: IReactor;
  /**
   * The host accepts an AsyncIterable result. Used only when the environ has no
   * `wsgi.pause_output`; default `environ['spindle.async_iterable'] === true`.
   */
  asyncIterable?: boolean;
}

/** The environ key a host sets to say it takes an AsyncIterable from the app. */
export const ASYNC_ITERABLE_KEY = 'spindle.async_iterable';

export function toIterApp(app: CpsApp, options: ToIterAppOptions = {}): IterApp {
  return (environ: Environ, startResponse: StartResponse): AppIterable => {
    const reactor = options.reactor ?? environ['spindle.reactor'];
    if (!reactor) throw new BridgeNoReactorError('toIterApp()');
    const pauseOutput = environ['wsgi.pause_output'];
    if (!pauseOutput && !(options.asyncIterable ?? environ[ASYNC_ITERABLE_KEY] === true))
      throw new BridgeHostUnsupportedError();
    const request = new EnvironRequest(environ, startResponse, reactor, options);
    runCpsApp(app, request);
    // Finished inside its call (a hello): the host gets the chunks as a plain array, no iterator (a host
    // that takes AsyncIterables only may not take arrays).
    const whole = pauseOutput ? request.takeWhole() : null;
    if (whole !== null) return whole;
    const drain = pauseOutput ? new SyncQueueIterator(pauseOutput) : new AsyncQueueIterator();
    drain.request = request;
    request.reader = drain;
    return drain;
  };
}

/** What `step()` found besides a chunk (a chunk is returned as itself: no object per step). */
const DONE = Symbol('done');
const WAIT = Symbol('wait');
const FAILED = Symbol('failed');
type Step = Chunk | typeof DONE | typeof WAIT | typeof FAILED;

/** The reading end: turns the queue into an iterator (sync with pause_output, or async). */
abstract class QueueDrain {
  request!: EnvironRequest;
  protected closed = false;
  protected resume: (() => void) | null = null;
  protected waiter: (() => void) | null = null;

  /** Something arrived (or a pull producer came): let the reader go on. */
  wake(): void {
    const resume = this.resume;
    this.resume = null;
    resume?.();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** The next chunk, or DONE, WAIT, or FAILED (then `stepError` holds the writer's error). */
  protected step(): Step {
    if (this.closed) return DONE;
    const ws = this.request.websocket;
    if (ws !== null) {
      // An accepted WebSocket: each message is one chunk; the host closes the iterable when the socket ends.
      const m = ws.shift();
      return m === null ? WAIT : m;
    }
    const queue = this.request.queue;
    const chunk = queue.shift();
    if (chunk) return chunk;
    if (queue.state === 'ended') {
      this.request.drained();
      this.finish();
      return DONE;
    }
    if (queue.state === 'failed') {
      this.finish();
      this.stepError = queue.error;
      return FAILED;
    }
    return WAIT;
  }

  /** The error behind the last FAILED step. */
  protected stepError: unknown = undefined;

  /** The response ended on the CPS side and was read: release everything. */
  private finish(): void {
    this.closed = true;
    this.request.queue.close();
  }

  /** The reader stopped: after a complete read that is the end; before, a cancel of the CPS side (G14). */
  close(): void {
    if (this.closed) return;
    const ws = this.request.websocket;
    if (ws !== null) {
      this.closed = true;
      this.resume = null;
      const waiter = this.waiter;
      this.waiter = null;
      this.request.queue.close();
      ws.lost();
      waiter?.();
      return;
    }
    const queue = this.request.queue;
    if (queue.state === 'ended' && queue.length === 0) {
      // Everything was read; the gateway just did not ask for the end (e.g. Content-Length reached).
      this.request.drained();
      this.finish();
      return;
    }
    this.closed = true;
    this.resume = null;
    const waiter = this.waiter;
    this.waiter = null;
    queue.close();
    this.request.connectionLost(
      new ConnectionLost('the gateway closed the response iterator before the response ended'),
    );
    waiter?.();
  }
}

/** For hosts with `wsgi.pause_output`: an empty queue pauses output and yields '' (G13). */
class SyncQueueIterator extends QueueDrain implements IterableIterator<Chunk> {
  constructor(private readonly pauseOutput: () => () => void) {
    super();
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Chunk> {
    const s = this.step();
    if (typeof s !== 'symbol') return { value: s, done: false };
    if (s === DONE) return { value: undefined, done: true };
    if (s === FAILED) throw this.stepError;
    this.resume = this.pauseOutput();
    return { value: '', done: false };
  }

  return(): IteratorResult<Chunk> {
    this.close();
    return { value: undefined, done: true };
  }
}

/** For hosts that take an AsyncIterable: an empty queue makes `next()` wait. */
class AsyncQueueIterator extends QueueDrain implements AsyncIterableIterator<Chunk> {
  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Chunk>> {
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        const s = this.step();
        if (typeof s !== 'symbol') resolve({ value: s, done: false });
        else if (s === DONE) resolve({ value: undefined, done: true });
        else if (s === FAILED) reject(this.stepError);
        else this.waiter = attempt;
      };
      attempt();
    });
  }

  return(): Promise<IteratorResult<Chunk>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }
}
