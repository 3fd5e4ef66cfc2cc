/**
 * `WebSocketProtocol`: the app's side of one WebSocket connection, in the
 * Twisted style of `Protocol`. Override `connectionMade`, `messageReceived`,
 * `connectionLost` (and `pongReceived` if you ping); talk with `sendMessage`,
 * `ping` and `close`, or through `this.transport` for flow control.
 */
import type { Failure } from '../../reactor/failure.js';
import type { IWebSocketProtocol, IWebSocketTransport, WebSocketMessage } from './interfaces.js';

export class WebSocketProtocol implements IWebSocketProtocol {
  /** Set by `makeConnection`, before `connectionMade` runs. */
  transport!: IWebSocketTransport;
  /** True once `makeConnection` ran. */
  connected = false;

  makeConnection(transport: IWebSocketTransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** The handshake is done: messages may be sent. */
  connectionMade(): void {}

  /** A whole message arrived: a string (text) or bytes (binary). */
  messageReceived(_data: WebSocketMessage): void {}

  /** The peer answered one of our pings. */
  pongReceived(_payload: Uint8Array): void {}

  /** The connection is gone; `reason.value` is a `WebSocketClosedError` (`closeCode`, `closeReason`, `wasClean`). */
  connectionLost(_reason: Failure): void {}

  /** Send a text (string) or binary (bytes) message. Dropped once the connection is closing. */
  sendMessage(data: WebSocketMessage): void {
    this.transport.sendMessage(data);
  }

  ping(payload?: WebSocketMessage): void {
    this.transport.ping(payload);
  }

  /** Start the closing handshake with `code` (default 1000) and a short `reason`. */
  close(code?: number, reason?: string): void {
    this.transport.close(code, reason);
  }
}
