/**
 * Server-sent events (the HTML "event stream" format, text/event-stream):
 * framing shared by both app styles, and the CPS twin `eventSource(request)`.
 * The iterator-app helper lives in src/bridge/sse.ts (it uses the environ).
 *
 * A frame is `event:`/`id:`/`retry:` lines, one `data:` line per line of the
 * data, and a blank line. A comment (`: text`) is ignored by clients: the
 * heartbeat is one, sent after `heartbeat` seconds without output so proxies
 * and clients keep an idle stream open. `Last-Event-ID` (sent by a
 * reconnecting client) is read into `lastEventId` for the app to resume from.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../../reactor/deferred.js';
import type { IDelayedCall, IPushProducer, IReactorTime } from '../../reactor/interfaces.js';
import type { IRequest } from '../http/interfaces.js';
import { Logger } from '../../reactor/log.js';
import { liveOnIfCore, type LiveSet } from '../goingaway.js';
import { EventFieldError, EventStreamOverflowError } from './errors.js';

const log = new Logger('spindle.web.sse');

/** Seconds without output before a heartbeat comment. */
export const SSE_HEARTBEAT = 15;
/** Bytes of events held for a client that does not read before the stream is closed. */
export const SSE_MAX_BUFFERED = 1024 * 1024;

export interface ServerSentEvent {
  /** The payload; several lines become several `data:` lines. */
  data: string;
  /** The event type (`addEventListener(type)` in a browser); default 'message'. */
  event?: string;
  /** Sets the client's last event ID, sent back as Last-Event-ID when it reconnects. */
  id?: string;
  /** Reconnection delay the client should use, in milliseconds. */
  retry?: number;
}

export interface EventStreamOptions {
  /** Seconds of silence before a heartbeat comment; 0 turns it off. Default SSE_HEARTBEAT. */
  heartbeat?: number;
  /** Bound on bytes waiting for a client that does not read; default SSE_MAX_BUFFERED. */
  maxBufferedBytes?: number;
  /** Sent once at the start as `retry:` (milliseconds). */
  retry?: number;
}

/** One event as event-stream text. Throws EventFieldError for CR/LF in `event` or `id` (and NUL in `id`). */
export function formatEvent(e: ServerSentEvent): string {
  let out = '';
  if (e.event !== undefined) {
    if (/[\r\n]/.test(e.event)) throw new EventFieldError('event', e.event);
    out += `event: ${e.event}\n`;
  }
  if (e.id !== undefined) {
    if (/[\r\n\0]/.test(e.id)) throw new EventFieldError('id', e.id);
    out += `id: ${e.id}\n`;
  }
  if (e.retry !== undefined) out += `retry: ${Math.max(0, Math.floor(e.retry))}\n`;
  for (const line of e.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/** A comment frame (one `: ` line per line of text). */
export function formatComment(text: string): string {
  return (
    text
      .split(/\r\n|\r|\n/)
      .map((l) => `: ${l}\n`)
      .join('') + '\n'
  );
}

/** Why an event stream ended. */
export type EventStreamEnd = 'closed' | 'gone' | 'overflow';

/** The response headers of an event stream. */
export const EVENT_STREAM_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Type', 'text/event-stream; charset=utf-8'],
  ['Cache-Control', 'no-cache'],
];

/**
 * The CPS event stream: `eventSource(request, options)` starts the response
 * (200, text/event-stream, headers flushed) and returns this.
 *
 * Flow control: it registers itself as the request's push producer; while
 * the transport is paused, events wait here, up to `maxBufferedBytes`, past
 * which the connection is aborted (`done` fires with 'overflow', and the
 * EventStreamOverflowError message is logged).
 */
export class EventStream implements IPushProducer {
  /** The client's Last-Event-ID header ('' when it sent none): resume after this event. */
  readonly lastEventId: string;
  /**
   * Fires once when the stream ends, with why: 'closed' (`end()`), 'gone'
   * (the client went away) or 'overflow' (the client did not read and more
   * than `maxBufferedBytes` waited; the connection was aborted). Never an
   * errback: a client leaving is the normal end of an event stream.
   */
  readonly done = new Deferred<EventStreamEnd>();
  private readonly clock: IReactorTime;
  private readonly heartbeat: number;
  private readonly maxBuffered: number;
  private heartbeatCall: IDelayedCall | null = null;
  private paused = false;
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  private ended = false;
  /** Reactor shutdown ends the stream (goingaway.ts), so a graceful stop does not wait for it. */
  private readonly live: LiveSet | null;

  constructor(
    private readonly request: IRequest,
    options: EventStreamOptions = {},
    clock?: IReactorTime,
  ) {
    this.clock = clock ?? request.reactor;
    this.heartbeat = options.heartbeat ?? SSE_HEARTBEAT;
    this.maxBuffered = options.maxBufferedBytes ?? SSE_MAX_BUFFERED;
    this.lastEventId = request.headers.get('last-event-id') ?? '';
    request.setResponseCode(200);
    for (const [n, v] of EVENT_STREAM_HEADERS) request.setHeader(n, v);
    request.registerProducer(this, true);
    request.notifyFinish().addErrback(() => this.stop('gone'));
    if (options.retry !== undefined) this.push(`retry: ${Math.max(0, Math.floor(options.retry))}\n\n`);
    else request.flushHeaders();
    this.armHeartbeat();
    this.live = liveOnIfCore(request.reactor);
    this.live?.open.add(this);
  }

  /** The reactor is shutting down: end the response after what waits (the client may reconnect elsewhere). */
  goingAway(): void {
    this.end();
  }

  /** True until the stream ended (closed, client gone, overflow). */
  get open(): boolean {
    return !this.ended;
  }

  send(event: ServerSentEvent): void {
    this.push(formatEvent(event));
  }

  comment(text: string): void {
    this.push(formatComment(text));
  }

  /** End the response; the client will reconnect unless told otherwise (HTTP 204 on its next request). */
  end(): void {
    if (this.ended) return;
    this.flushWaiting();
    this.stop('closed');
    this.request.unregisterProducer();
    this.request.finish();
    this.live?.remove(this);
  }

  pauseProducing(): void {
    this.paused = true;
  }

  resumeProducing(): void {
    this.paused = false;
    this.flushWaiting();
  }

  stopProducing(): void {
    this.stop('gone');
  }

  private push(text: string): void {
    if (this.ended) return;
    const bytes = Buffer.from(text, 'utf8');
    this.armHeartbeat();
    if (!this.paused) return this.request.write(bytes);
    this.waiting.push(bytes);
    this.waitingBytes += bytes.length;
    if (this.waitingBytes > this.maxBuffered) {
      log.warn(new EventStreamOverflowError(this.maxBuffered).message);
      this.stop('overflow');
      this.request.abort();
    }
  }

  private flushWaiting(): void {
    const w = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    for (const b of w) this.request.write(b);
  }

  private armHeartbeat(): void {
    if (this.heartbeat <= 0 || this.ended) return;
    if (this.heartbeatCall?.active()) return this.heartbeatCall.reset(this.heartbeat);
    this.heartbeatCall = this.clock.callLater(this.heartbeat, () => {
      this.heartbeatCall = null;
      this.comment('heartbeat');
    });
  }

  private stop(why: EventStreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.waiting = [];
    if (this.heartbeatCall?.active()) this.heartbeatCall.cancel();
    this.heartbeatCall = null;
    // end() lets a waiting shutdown go on only once the response is finished.
    if (why !== 'closed') this.live?.remove(this);
    this.done.callback(why);
  }
}

/** Start a server-sent event stream on `request` (CPS). `clock` defaults to the request's reactor. */
export function eventSource(request: IRequest, options: EventStreamOptions = {}, clock?: IReactorTime): EventStream {
  return new EventStream(request, options, clock);
}
