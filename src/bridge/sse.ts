/**
 * Server-sent events for iterator apps: `iterEventSource(environ,
 * startResponse, options)` starts the response and returns an `IterEventStream`,
 * which is both the app's handle (`send`, `comment`, `end`, `lastEventId`)
 * and the iterable the app returns (its `close()` is WSGI's, called by the
 * gateway when the response is over; the app ends the stream with `end()`).
 *
 *     const app: IterApp = (environ, startResponse) => {
 *       const stream = iterEventSource(environ, startResponse);
 *       const timer = ticker.onTick((n) => stream.send({ id: String(n), data: `tick ${n}` }));
 *       stream.done.addCallback(() => timer.stop());
 *       return stream;
 *     };
 *
 * Between events the iterator pauses its output (`wsgi.pause_output`, G13):
 * it yields '' and the gateway pulls no more until an event, a heartbeat or
 * `end()` resumes it; so an idle stream costs nothing. Events wait in a
 * queue while the gateway is not pulling (the client is not reading), up to
 * `maxBufferedBytes`; past it the stream ends (`done` fires with 'overflow').
 * The heartbeat runs on `environ['spindle.reactor']` (or `options.clock`).
 * When the response ends however it ends, the gateway calls `return()`
 * (G7): the heartbeat stops and `done` fires.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../reactor/deferred.js';
import type { IDelayedCall, IReactorTime } from '../reactor/interfaces.js';
import {
  EVENT_STREAM_HEADERS,
  SSE_HEARTBEAT,
  SSE_MAX_BUFFERED,
  formatComment,
  formatEvent,
  type EventStreamEnd,
  type EventStreamOptions,
  type ServerSentEvent,
} from '../protocols/web/sse.js';
import { liveOnIfCore, type LiveSet } from '../protocols/goingaway.js';
import { BridgeNoReactorError } from './errors.js';
import type { Environ, StartResponse } from './interfaces.js';

export interface IterEventStreamOptions extends EventStreamOptions {
  /** Clock for the heartbeat; default `environ['spindle.reactor']`. */
  clock?: IReactorTime;
}

const EMPTY = '';

export class IterEventStream implements Iterator<Uint8Array | string>, Iterable<Uint8Array | string> {
  /** The client's Last-Event-ID header ('' when none): resume after this event. */
  readonly lastEventId: string;
  /** Fires once when the stream ends: 'closed' (`end()`), 'gone' (the response ended otherwise), 'overflow'. */
  readonly done = new Deferred<EventStreamEnd>();
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private readonly maxBuffered: number;
  private readonly heartbeat: number;
  private readonly clock: IReactorTime | undefined;
  private heartbeatCall: IDelayedCall | null = null;
  private resume: (() => void) | null = null;
  private closing = false;
  private ended = false;
  /** Reactor shutdown ends the stream after what is queued (goingaway.ts). */
  private readonly live: LiveSet | null;

  constructor(
    private readonly environ: Environ,
    startResponse: StartResponse,
    options: IterEventStreamOptions = {},
  ) {
    this.lastEventId = typeof environ.HTTP_LAST_EVENT_ID === 'string' ? environ.HTTP_LAST_EVENT_ID : '';
    this.maxBuffered = options.maxBufferedBytes ?? SSE_MAX_BUFFERED;
    this.heartbeat = options.heartbeat ?? SSE_HEARTBEAT;
    this.clock = options.clock ?? environ['spindle.reactor'];
    if (this.heartbeat > 0 && this.clock === undefined) {
      throw new BridgeNoReactorError('iterEventSource() (for its heartbeat: or pass { clock }, or heartbeat: 0)');
    }
    startResponse(
      '200 OK',
      EVENT_STREAM_HEADERS.map(([n, v]) => [n, v] as [string, string]),
    );
    // The headers go out now, not at the first event: the client's EventSource opens at once.
    if (options.retry !== undefined) this.enqueue(`retry: ${Math.max(0, Math.floor(options.retry))}\n\n`);
    else environ['x-wsgiorg.flush']?.();
    this.armHeartbeat();
    this.live = liveOnIfCore(environ['spindle.reactor']);
    this.live?.open.add(this);
  }

  /** The reactor is shutting down: end the response after what is queued. */
  goingAway(): void {
    this.end();
  }

  get open(): boolean {
    return !this.ended && !this.closing;
  }

  send(event: ServerSentEvent): void {
    this.enqueue(formatEvent(event));
  }

  comment(text: string): void {
    this.enqueue(formatComment(text));
  }

  /** End the response after what is queued. */
  end(): void {
    if (this.closing || this.ended) return;
    this.closing = true;
    this.wake();
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Uint8Array | string> {
    if (this.ended) return { done: true, value: undefined };
    if (this.queue.length > 0) {
      const chunk = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
      this.queue.length = 0;
      this.queued = 0;
      return { done: false, value: chunk };
    }
    if (this.closing) {
      this.finish('closed');
      return { done: true, value: undefined };
    }
    // Nothing to send: pause output until an event, a heartbeat or end() (G13).
    const pause = this.environ['wsgi.pause_output'];
    if (pause !== undefined && this.resume === null) this.resume = pause();
    return { done: false, value: EMPTY };
  }

  /** WSGI's close(), called once by the gateway however the response ended (G7): the stream is over. */
  close(): void {
    this.finish(this.closing ? 'closed' : 'gone');
    // Only now is the response over (the gateway calls close() after it finished
    // the request), so only now may a waiting reactor shutdown go on.
    this.live?.remove(this);
  }

  /** The same for a host that ends the iteration with `return()`. */
  return(): IteratorResult<Uint8Array | string> {
    this.close();
    return { done: true, value: undefined };
  }

  private enqueue(text: string): void {
    if (this.ended || this.closing) return;
    const bytes = Buffer.from(text, 'utf8');
    this.queue.push(bytes);
    this.queued += bytes.length;
    this.armHeartbeat();
    if (this.queued > this.maxBuffered) {
      this.queue.length = 0;
      this.queued = 0;
      this.finish('overflow');
    }
    this.wake();
  }

  private wake(): void {
    const r = this.resume;
    this.resume = null;
    r?.();
  }

  private armHeartbeat(): void {
    if (this.heartbeat <= 0 || this.ended || this.clock === undefined) return;
    if (this.heartbeatCall?.active()) return this.heartbeatCall.reset(this.heartbeat);
    this.heartbeatCall = this.clock.callLater(this.heartbeat, () => {
      this.heartbeatCall = null;
      this.comment('heartbeat');
    });
  }

  private finish(why: EventStreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeatCall?.active()) this.heartbeatCall.cancel();
    this.heartbeatCall = null;
    this.wake();
    this.done.callback(why);
  }
}

/** Start a server-sent event stream in an iterator app; return the stream from the app. */
export function iterEventSource(
  environ: Environ,
  startResponse: StartResponse,
  options: IterEventStreamOptions = {},
): IterEventStream {
  return new IterEventStream(environ, startResponse, options);
}
