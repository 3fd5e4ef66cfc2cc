/** WebSocket (RFC 6455): framing with no I/O, the connection, the app's protocol, the server handshake. */
export { WebSocketProtocol } from './protocol.js';
export { WebSocketConnection } from './connection.js';
export { acceptWebSocket, checkHandshake, isWebSocketRequest, ACCEPT_WEBSOCKET } from './accept.js';
export { FrameParser } from './parser.js';
export { connectWebSocket, DEFAULT_HANDSHAKE_TIMEOUT, MAX_HANDSHAKE_BYTES } from './client.js';
export {
  acceptKey,
  encodeFrame,
  isValidCloseCode,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_CLOSE_TIMEOUT,
  CLOSE_NORMAL,
  CLOSE_GOING_AWAY,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_NO_STATUS,
  CLOSE_ABNORMAL,
  CLOSE_INVALID_DATA,
  CLOSE_POLICY,
  CLOSE_TOO_BIG,
  CLOSE_INTERNAL_ERROR,
} from './frame.js';
export {
  WebSocketProtocolError,
  WebSocketClosedError,
  WebSocketCloseCodeError,
  WebSocketHandshakeError,
  WebSocketUnsupportedError,
} from './errors.js';
export type {
  IWebSocketTransport,
  IWebSocketProtocol,
  WebSocketMessage,
  WebSocketState,
  WebSocketOptions,
  AcceptWebSocketOptions,
} from './interfaces.js';
export type { BridgedWebSocketRequest, HandshakeCheck } from './accept.js';
export type { FrameHandler, FrameParserOptions } from './parser.js';
export type { WebSocketConnectionOptions } from './connection.js';
export type { ConnectWebSocketOptions, ReactorSource } from './client.js';
