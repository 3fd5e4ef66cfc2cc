/**
 * `spindle/protocols`: Protocol and Factory, framing receivers, the HTTP/1.1
 * server (and its Request) that both app styles run on, the HTTP client,
 * WebSocket and web resources. Every export is named here: a name not listed
 * (`HTTPChannel`, the parser's internals) is not public API, and
 * test/public-surface.test.ts pins this list.
 */
export { Protocol, Factory, ClientFactory, ReconnectingClientFactory } from './protocol.js';
export {
  LineReceiver,
  LINE_MAX_LENGTH,
  NetstringReceiver,
  NETSTRING_MAX_LENGTH,
  Int32StringReceiver,
  INT32_MAX_LENGTH,
} from './basic.js';
export {
  FrameTooLongError,
  BadFrameError,
  NoProtocolError,
  NoClockError,
  EndpointSyntaxError,
  EndpointFileError,
  TrustedProxyError,
} from './errors.js';
export { serverFromString, clientFromString, parseServerEndpoint, parseClientEndpoint } from './endpoints.js';
export type {
  EndpointReactor,
  ServerEndpointSpec,
  ClientEndpointSpec,
  IStreamServerEndpoint,
  IStreamClientEndpoint,
} from './endpoints.js';
export { LimitConnectionsFactory, DEFAULT_MAX_CONNECTIONS } from './policies.js';
export { TimeoutMixin } from './timeout.js';
export type { ITimeoutMixin } from './timeout.js';
export type { ProtocolClass } from './protocol.js';
export type { LimitConnectionsOptions, ConnectionLimitStats } from './policies.js';

// Every error class of the layer, also as one namespace: `import { errors } from 'spindle/protocols'`.
import * as errors from './errorsnamespace.js';
export { errors };

// The HTTP/1.1 server
export {
  HTTPFactory,
  Request,
  Headers,
  TrustedProxies,
  resolveForwarded,
  HTTPParser,
  DEFAULT_MAX_REQUEST_LINE_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_CHUNK_LINE_BYTES,
  DEFAULT_MAX_TRAILER_BYTES,
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HELD_INPUT_BYTES,
  DEFAULT_LINGER_TIMEOUT,
  DEFAULT_LINGER_MAX_BYTES,
  HTTPParseError,
  ParseErrorCodes,
  RequestFinishedError,
  BodyTooLargeError,
  BodyAlreadyConsumedError,
  InvalidHeaderError,
  InvalidStatusError,
  HeadersSentError,
  UpgradeError,
} from './http/index.js';
export type {
  IRequest,
  IHeaders,
  ReadBodyOptions,
  CpsApp,
  HTTPServerOptions,
  HTTPStats,
  ParserLimits,
  ParserHandler,
  ForwardedFor,
} from './http/index.js';

// The HTTP/1.1 client
export {
  Agent,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_CLIENT_READ_BUFFER,
  HTTPConnectionPool,
  DEFAULT_MAX_PERSISTENT_PER_HOST,
  DEFAULT_CACHED_CONNECTION_TIMEOUT,
  HTTP11ClientProtocol,
  CLIENT_READ_AHEAD_BYTES,
  Response,
  readBody,
  DEFAULT_MAX_RESPONSE_BODY_BYTES,
  RESPONSE_ITERATOR_HIGH_WATER,
  FileBodyProducer,
  FILE_BODY_CHUNK_SIZE,
  UNKNOWN_LENGTH,
  RedirectAgent,
  DEFAULT_REDIRECT_LIMIT,
  REDIRECT_BODY_LIMIT,
  ContentDecoderAgent,
  DecodedResponse,
  DEFAULT_ACCEPT_ENCODING,
  reverseProxy,
  forwardHeaders,
  DEFAULT_PROXY_MAX_BUFFERED,
  DEFAULT_PROXY_TIMEOUT,
  ResponseParser,
  DEFAULT_MAX_STATUS_LINE_BYTES,
  ResponseFailed,
  ResponseNeverReceived,
  RequestTransmissionFailed,
  ResponseTimeout,
  SchemeNotSupported,
  InvalidRequestError,
  ResponseBodyTooLarge,
  ResponseBodyConsumed,
  WrongBodyLength,
  TooManyRedirects,
  RedirectWithNoLocation,
} from './http/client/index.js';
export type {
  AgentOptions,
  ReverseProxyOptions,
  RedirectAgentOptions,
  ContentDecoderAgentOptions,
  IAgent,
  IBodyProducer,
  IResponse,
  PoolOptions,
  ReadResponseBodyOptions,
  RequestBody,
  RequestHeaders,
  FileBodyProducerOptions,
  FileBodyProducerState,
  ResponseHead,
  ResponseParserHandler,
  ResponseParserLimits,
} from './http/client/index.js';

// WebSocket (RFC 6455)
export {
  WebSocketProtocol,
  WebSocketConnection,
  acceptWebSocket,
  checkHandshake,
  isWebSocketRequest,
  ACCEPT_WEBSOCKET,
  FrameParser,
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
  WebSocketProtocolError,
  WebSocketClosedError,
  WebSocketCloseCodeError,
  WebSocketHandshakeError,
  WebSocketUnsupportedError,
  connectWebSocket,
  DEFAULT_HANDSHAKE_TIMEOUT,
  MAX_HANDSHAKE_BYTES,
} from './websocket/index.js';
export type {
  IWebSocketTransport,
  IWebSocketProtocol,
  WebSocketMessage,
  WebSocketState,
  WebSocketOptions,
  AcceptWebSocketOptions,
  BridgedWebSocketRequest,
  HandshakeCheck,
  FrameHandler,
  FrameParserOptions,
  WebSocketConnectionOptions,
  ConnectWebSocketOptions,
  ReactorSource,
} from './websocket/index.js';

// Web resources (twisted.web style)
export {
  Resource,
  NOT_DONE_YET,
  site,
  asWebRequest,
  getChildForRequest,
  ErrorPage,
  NoResource,
  ForbiddenResource,
  Redirect,
  redirectTo,
  escapeHtml,
  resourceFromCps,
  StaticFile,
  FileProducer,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_RANGES,
  parseRange,
  CONTENT_TYPES,
  RenderResultError,
  ChildNameError,
  eventSource,
  EventStream,
  formatEvent,
  formatComment,
  SSE_HEARTBEAT,
  SSE_MAX_BUFFERED,
  EVENT_STREAM_HEADERS,
  EventFieldError,
  EventStreamOverflowError,
} from './web/index.js';
export type {
  IResource,
  IWebRequest,
  RenderResult,
  NotDoneYet,
  Body,
  SiteOptions,
  StaticFileOptions,
  ByteRange,
  RangeResult,
  ServerSentEvent,
  EventStreamOptions,
  EventStreamEnd,
} from './web/index.js';
