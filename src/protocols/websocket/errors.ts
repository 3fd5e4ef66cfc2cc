/**
 * Errors of the WebSocket layer (RFC 6455). Each is a `SpindleError` with a
 * stable `code`. A peer that breaks the protocol is failed with a
 * `WebSocketProtocolError` whose `closeCode` is the status sent in the close
 * frame (§7.4.1: 1002 protocol error, 1007 bad UTF-8, 1009 too big); the
 * application always hears how the connection ended through a
 * `WebSocketClosedError` in `connectionLost`.
 */
import { SpindleError } from '../../reactor/errors.js';

/** The peer sent something RFC 6455 forbids; the connection is failed with `closeCode`. */
export class WebSocketProtocolError extends SpindleError {
  /** The close status sent to the peer: 1002, 1007 or 1009. */
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super('ERR_WS_PROTOCOL', message);
    this.closeCode = closeCode;
  }
}

/**
 * How a WebSocket connection ended: the reason given to `connectionLost`.
 * `wasClean` is true when both close frames were exchanged (RFC 6455 §7.1.4);
 * `closeCode` is the peer's status (1005 when its close frame had none, 1006
 * when no close frame came at all, §7.1.5).
 */
export class WebSocketClosedError extends SpindleError {
  readonly closeCode: number;
  readonly closeReason: string;
  readonly wasClean: boolean;
  constructor(closeCode: number, closeReason: string, wasClean: boolean, options?: { cause?: unknown }) {
    super(
      'ERR_WS_CLOSED',
      wasClean
        ? `WebSocket closed cleanly with ${closeCode}${closeReason ? ` (${closeReason})` : ''}`
        : `WebSocket connection lost without a closing handshake (${closeCode}${closeReason ? `: ${closeReason}` : ''})`,
      options,
    );
    this.closeCode = closeCode;
    this.closeReason = closeReason;
    this.wasClean = wasClean;
  }
}

/** `close(code, reason)` with a code an endpoint may not send (§7.4) or a reason over 123 UTF-8 bytes. */
export class WebSocketCloseCodeError extends SpindleError {
  constructor(message: string) {
    super('ERR_WS_CLOSE_CODE', message);
  }
}

/**
 * The opening handshake failed (RFC 6455 §4). On the server, `status` is what
 * the client was answered (400, 403, 426); on the client, what the server
 * answered (or 0 when the answer was not HTTP at all).
 */
export class WebSocketHandshakeError extends SpindleError {
  readonly status: number;
  constructor(status: number, message: string) {
    super('ERR_WS_HANDSHAKE', message);
    this.status = status;
  }
}

/** The request's host cannot hand its connection over (a Fetch host, a worker thread). */
export class WebSocketUnsupportedError extends SpindleError {
  constructor(where: string) {
    super(
      'ERR_WS_UNSUPPORTED',
      `WebSocket is not available ${where}; serve the app on spindle's HTTP server (serve(), HTTPFactory) or node:http (server.on('upgrade', toNodeListener(app).upgrade)), in-process`,
    );
  }
}
