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
    const drain = pauseOutput ? new SyncQueueIterator(pauseOutput) : new AsyncQueueIterator();
    const request = new EnvironRequest(environ, startResponse, reactor, drain, options);
    drain.request = request;
    runCpsApp(app, request);
    return drain;
  };
}

type Step = { kind: 'chunk'; chunk: Chunk } | { kind: 'done' } | { kind: 'error'; error: unknown } | { kind: 'wait' };

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

  protected step(): Step {
    if (this.closed) return DONE;
    const ws = this.request.websocket;
    if (ws !== null) {
      // An accepted WebSocket: each message is one chunk; the host closes the iterable when the socket ends.
      const m = ws.shift();
      return m === null ? WAIT : { kind: 'chunk', chunk: m };
    }
    const queue = this.request.queue;
    const chunk = queue.shift();
    if (chunk) return { kind: 'chunk', chunk };
    if (queue.state === 'ended') {
      this.request.drained();
      this.finish();
      return DONE;
    }
    if (queue.state === 'failed') {
      this.finish();
      return { kind: 'error', error: queue.error };
    }
    return WAIT;
  }

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

const DONE: Step = { kind: 'done' };
const WAIT: Step = { kind: 'wait' };

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
    if (s.kind === 'chunk') return { value: s.chunk, done: false };
    if (s.kind === 'done') return { value: undefined, done: true };
    if (s.kind === 'error') throw s.error;
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
        if (s.kind === 'chunk') resolve({ value: s.chunk, done: false });
        else if (s.kind === 'done') resolve({ value: undefined, done: true });
        else if (s.kind === 'error') reject(s.error);
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
