/**
 * The WebSocket layer's contracts (RFC 6455). A `WebSocketProtocol` (the
 * app's object, one per connection) talks to an `IWebSocketTransport`, which
 * frames its messages on a TCP connection (spindle's server, node:http, the
 * client) or carries them across a bridge to an iterator app. Both keep the
 * transport contract of docs/protocols.md:
 *
 * - Output backpressure: `registerProducer(p, true)` puts `p` on the
 *   underlying connection; a peer that does not read pauses it
 *   (`pauseProducing`) until its buffer drains (`resumeProducing`).
 * - Input backpressure: the transport is a push producer of incoming
 *   messages: `pauseProducing()` stops `messageReceived` (and reading the
 *   socket) after the current message; `resumeProducing()` carries on, on a
 *   later reactor turn (never inside the caller's own call).
 *
 * Closing: once no more data can be sent (both close frames exchanged, a
 * protocol error, the peer's FIN), a registered producer is unregistered and
 * told `stopProducing()`.
 *
 * Order of events: `makeConnection` → `connectionMade`, then any number of
 * `messageReceived` / `pongReceived`, then `connectionLost` exactly once, with
 * a `Failure(WebSocketClosedError)` that says how it ended.
 */
import type { Failure } from '../../reactor/failure.js';
import type { IAddress, IProducer, IPushProducer } from '../../reactor/interfaces.js';
import type { IRequest } from '../http/interfaces.js';

/** What a WebSocket message is on the app's side: text as a string, binary as bytes. */
export type WebSocketMessage = string | Uint8Array;

/** 'open' until either side sends a close frame; 'closing' during the handshake; 'closed' once the connection is gone. */
export type WebSocketState = 'open' | 'closing' | 'closed';

export interface IWebSocketTransport extends IPushProducer {
  /** Send one message: a string as a text message, bytes as binary. Dropped once closing. */
  sendMessage(data: WebSocketMessage): void;
  /** Send a ping (at most 125 bytes of payload); the peer's pong comes to `pongReceived`. */
  ping(payload?: WebSocketMessage): void;
  /**
   * Start the closing handshake (§7.1.2): send a close frame with `code`
   * (default 1000) and `reason` (at most 123 UTF-8 bytes), wait for the
   * peer's, then close; abort after the close timeout. Throws
   * `WebSocketCloseCodeError` for a code an endpoint may not send (§7.4).
   * Idempotent once closing.
   */
  close(code?: number, reason?: string): void;
  /** Drop the connection now, with no closing handshake. */
  abortConnection(): void;
  registerProducer(producer: IProducer, streaming: boolean): void;
  unregisterProducer(): void;
  getPeer(): IAddress;
  getHost(): IAddress;
  /** The subprotocol both sides agreed on (Sec-WebSocket-Protocol), or null. */
  readonly subprotocol: string | null;
  readonly state: WebSocketState;
  /** The peer's close code once its close frame came (1005 when it had none), else null. */
  readonly closeCode: number | null;
  readonly closeReason: string;
}

export interface IWebSocketProtocol {
  /** Called once by the transport: sets `transport`, then `connectionMade()`. */
  makeConnection(transport: IWebSocketTransport): void;
  /** A whole message arrived (fragments already joined, text already checked as UTF-8). */
  messageReceived(data: WebSocketMessage): void;
  /** The peer answered a ping. */
  pongReceived?(payload: Uint8Array): void;
  /** The connection is gone; `reason.value` is a `WebSocketClosedError`. Called once. */
  connectionLost(reason: Failure): void;
}

/** Limits and timing of one WebSocket connection (both sides). */
export interface WebSocketOptions {
  /** Largest incoming message in bytes; past it the connection fails with 1009. Default `DEFAULT_MAX_MESSAGE_BYTES` (16 MiB). */
  maxMessageBytes?: number;
  /** Largest incoming frame in bytes; past it 1009. Default `DEFAULT_MAX_FRAME_BYTES` (16 MiB). */
  maxFrameBytes?: number;
  /** Seconds to wait for the closing handshake before aborting. Default `DEFAULT_CLOSE_TIMEOUT` (5). */
  closeTimeout?: number;
}

/** Options of `acceptWebSocket` (the server's handshake, RFC 6455 §4.2). */
export interface AcceptWebSocketOptions extends WebSocketOptions {
  /** Subprotocols this endpoint speaks; the first one the client offers that is listed here is chosen. */
  protocols?: readonly string[];
  /** Decide on the Origin header (§10.2); false answers 403. Default: every origin is accepted. */
  checkOrigin?: (origin: string | undefined, request: IRequest) => boolean;
}
