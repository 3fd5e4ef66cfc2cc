/**
 * `environ['spindle.websocket']`: WebSocket for iterator apps. Present only
 * on a request that asks for a WebSocket (Upgrade: websocket). The app calls
 * `accept()` (before `startResponse`), then:
 *
 * - yields its outgoing messages: a string is a text message, bytes a binary
 *   one, `''` a yield point (never a message). The gateway pulls only while
 *   the socket takes data (G5); with nothing to send the app pauses its output
 *   with `wsgi.pause_output` (G13), exactly as for a response body;
 * - reads incoming messages with `ws.receive()`, which never blocks (null when
 *   none is there), and is told of new ones by
 *   `environ['wsgi.input_handler'](ws, onReadable)` (or `ws.onReadable(cb)`).
 *
 * The end of the iterable closes the WebSocket with 1000; a failure of the
 * app with 1011; the connection ending (peer close, disconnect) closes the
 * iterable, once (G7). Unread incoming messages are bounded: past
 * `WEBSOCKET_INPUT_HIGH_WATER` bytes the socket stops being read until the
 * app has read them down to a quarter of it.
 */
import type { IRequest } from '../protocols/http/interfaces.js';
import { acceptWebSocket } from '../protocols/websocket/accept.js';
import { WebSocketHandshakeError } from '../protocols/websocket/errors.js';
import type { IWebSocketProtocol, IWebSocketTransport, WebSocketMessage } from '../protocols/websocket/interfaces.js';
import type { Failure } from '../reactor/failure.js';
import type { IDelayedCall, IReactorTime } from '../reactor/interfaces.js';
import type { EnvironWebSocket, EnvironWebSocketOptions, WebSocketInput } from './interfaces.js';

/** Bytes of received, unread messages held before the socket stops being read. */
export const WEBSOCKET_INPUT_HIGH_WATER = 1024 * 1024;

/** What the gateway (or another host) does when the socket is accepted, refused or lost. */
export interface IterWebSocketHost {
  readonly request: IRequest;
  readonly clock: IReactorTime;
  /** True once the app called `startResponse` (too late to accept). */
  responseStarted(): boolean;
  accepted(transport: IWebSocketTransport): void;
  refused(): void;
  lost(): void;
}

const size = (m: WebSocketMessage): number => (typeof m === 'string' ? m.length * 3 : m.length);

export class IterWebSocket implements EnvironWebSocket, WebSocketInput, IWebSocketProtocol {
  /** True from the start of `accept()` on: the request's HTTP response is no longer the app's. */
  accepting = false;
  transport: IWebSocketTransport | null = null;
  closed = false;
  private lostCode: number | null = null;
  private lostReason = '';
  private queue: WebSocketMessage[] = [];
  private head = 0;
  private queuedBytes = 0;
  private readPaused = false;
  private highWater = WEBSOCKET_INPUT_HIGH_WATER;
  private handler: (() => void) | null = null;
  private notifyCall: IDelayedCall | null = null;

  constructor(private readonly host: IterWebSocketHost) {}

  get closeCode(): number | null {
    return this.lostCode ?? this.transport?.closeCode ?? null;
  }

  get closeReason(): string {
    return this.lostCode !== null ? this.lostReason : (this.transport?.closeReason ?? '');
  }

  get subprotocol(): string | null {
    return this.transport?.subprotocol ?? null;
  }

  accept(options: EnvironWebSocketOptions = {}): WebSocketInput | null {
    if (this.accepting)
      throw new WebSocketHandshakeError(
        0,
        "environ['spindle.websocket'].accept() called twice; accept once and keep the input it returns",
      );
    if (this.host.responseStarted())
      throw new WebSocketHandshakeError(
        0,
        "environ['spindle.websocket'].accept() after startResponse(); accept first, or answer with startResponse() and do not accept",
      );
    this.accepting = true;
    this.highWater = options.inputHighWater ?? WEBSOCKET_INPUT_HIGH_WATER;
    let ok: boolean;
    try {
      ok = acceptWebSocket(this.host.request, this, options);
    } catch (err) {
      // The host cannot do WebSocket (WebSocketUnsupportedError): the HTTP response is still the app's.
      this.accepting = false;
      throw err;
    }
    if (!ok) {
      this.host.refused();
      return null;
    }
    return this;
  }

  // -- IWebSocketProtocol (the connection's side) ----------------------------

  makeConnection(transport: IWebSocketTransport): void {
    this.transport = transport;
    this.host.accepted(transport);
  }

  messageReceived(data: WebSocketMessage): void {
    this.queue.push(data);
    this.queuedBytes += size(data);
    if (!this.readPaused && this.queuedBytes > this.highWater) {
      this.readPaused = true;
      this.transport!.pauseProducing();
    }
    this.notify();
  }

  connectionLost(reason: Failure): void {
    if (this.closed) return;
    this.closed = true;
    const v = reason.value as { closeCode?: number; closeReason?: string };
    this.lostCode = v.closeCode ?? 1006;
    this.lostReason = v.closeReason ?? '';
    this.notify();
    this.host.lost();
  }

  // -- WebSocketInput (the app's side) ---------------------------------------

  receive(): WebSocketMessage | null {
    if (this.head === this.queue.length) return null;
    const m = this.queue[this.head]!;
    this.queue[this.head++] = '';
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.queuedBytes -= size(m);
    if (this.readPaused && this.queuedBytes <= this.highWater / 4 && !this.closed) {
      this.readPaused = false;
      this.transport!.resumeProducing();
    }
    return m;
  }

  onReadable(callback: () => void): void {
    this.handler = callback;
    if (this.head < this.queue.length || this.closed) this.notify();
  }

  close(code?: number, reason?: string): void {
    this.transport?.close(code, reason);
  }

  ping(payload?: WebSocketMessage): void {
    this.transport?.ping(payload);
  }

  /** The response ended: no more callbacks, and the gateway is no longer the socket's producer. */
  stop(): void {
    this.handler = null;
    if (this.notifyCall?.active()) this.notifyCall.cancel();
    this.notifyCall = null;
    if (this.transport !== null && !this.closed) this.transport.unregisterProducer();
  }

  /** Tell the app on a later turn (edge-triggered, one call per turn at most). */
  private notify(): void {
    if (this.handler === null || this.notifyCall !== null) return;
    this.notifyCall = this.host.clock.callLater(0, () => {
      this.notifyCall = null;
      this.handler?.();
    });
  }
}
