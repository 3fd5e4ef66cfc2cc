/**
 * spindle's public surface, name by name. Anything not exported here (or from
 * the `spindle/reactor`, `spindle/protocols`, `spindle/bridge` and
 * `spindle/testing` entry points) is internal: a deep import is not public API.
 */

// Deferreds
export {
  Deferred,
  Failure,
  succeed,
  fail,
  maybeDeferred,
  DeferredList,
  gatherResults,
  DeferredLock,
  DeferredSemaphore,
  DeferredQueue,
  inlineCallbacks,
  ensureDeferred,
} from './reactor/index.js';

// Errors, by name and as one namespace (`errors.ConnectionLost`); each layer's entry point has its own `errors`.
import * as errors from './allerrors.js';
export { errors };
export {
  SpindleError,
  AlreadyCalledError,
  CancelledError,
  TimeoutError,
  FirstError,
  QueueOverflow,
  AlreadyCancelled,
  AlreadyCalled,
  ConnectionDone,
  ConnectionLost,
  ResponseDone,
  InvalidArgumentError,
  CannotListenError,
  ConnectionRefusedError,
  ConnectTimeoutError,
  ConnectError,
  ConnectorStateError,
  TLSHandshakeError,
  TLSStateError,
  ProducerAlreadyRegisteredError,
  ProducerStoppedError,
  RingAborted,
  RingClosed,
  ThreadPoolStopped,
  WorkerCrashed,
  NotAcquiredError,
  ReactorAlreadyRunning,
  ReactorNotRunning,
  LoopingCallStateError,
  NoClockError,
  TaskFinished,
  TaskDone,
  TaskStopped,
  TaskFailed,
  SchedulerStopped,
  NotPaused,
} from './reactor/index.js';
export {
  NoProtocolError,
  BodyAlreadyConsumedError,
  InvalidHeaderError,
  InvalidStatusError,
  HeadersSentError,
  UpgradeError,
  TrustedProxyError,
  TrustedProxies,
} from './protocols/index.js';
export {
  StartResponseStatusError,
  StartResponseHeaderError,
  HopByHopHeaderError,
  StartResponseTwiceError,
  BodyBeforeStartResponseError,
  InvalidAppResultError,
  ClientGoneError,
  ResponseEndedError,
  ContentLengthMismatchError,
  BridgeOverflowError,
  BridgeHostUnsupportedError,
  BridgeNoReactorError,
  ThreadedAppAborted,
  ServeStyleError,
  ServeListenError,
} from './bridge/index.js';

// Time and core
export {
  NodeReactor,
  Clock,
  MemoryReactor,
  LoopingCall,
  deferLater,
  cooperate,
  Cooperator,
  getReactor,
} from './reactor/index.js';

// Logging
export { Logger, LogPublisher, globalLogPublisher, textObserver, jsonObserver, captureLogs } from './reactor/index.js';

// Transports and protocols
export { StringTransport, loopback, TRANSPORT_HIGH_WATER } from './reactor/index.js';
export { listenTLS, connectTLS, TLS_HANDSHAKE_TIMEOUT, listenUNIX, connectUNIX } from './reactor/index.js';
export {
  Protocol,
  Factory,
  ClientFactory,
  ReconnectingClientFactory,
  LineReceiver,
  NetstringReceiver,
  Int32StringReceiver,
  LimitConnectionsFactory,
  TimeoutMixin,
  FrameTooLongError,
  BadFrameError,
  serverFromString,
  clientFromString,
  parseServerEndpoint,
  parseClientEndpoint,
  EndpointSyntaxError,
  EndpointFileError,
} from './protocols/index.js';

// HTTP
export { HTTPFactory, Request, HTTPParseError, RequestFinishedError, BodyTooLargeError } from './protocols/index.js';

// WebSocket (RFC 6455)
export {
  acceptWebSocket,
  connectWebSocket,
  WebSocketProtocol,
  WebSocketConnection,
  FrameParser,
  acceptKey,
  isWebSocketRequest,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_CLOSE_TIMEOUT,
  WebSocketProtocolError,
  WebSocketClosedError,
  WebSocketCloseCodeError,
  WebSocketHandshakeError,
  WebSocketUnsupportedError,
} from './protocols/index.js';
// Web resources (twisted.web style)
export {
  Resource,
  site,
  NOT_DONE_YET,
  NoResource,
  ForbiddenResource,
  ErrorPage,
  Redirect,
  redirectTo,
  resourceFromCps,
  StaticFile,
  RenderResultError,
  ChildNameError,
  eventSource,
  EventStream,
  formatEvent,
  EventFieldError,
  EventStreamOverflowError,
} from './protocols/index.js';
export { WSGIResource, iterEventSource, IterEventStream } from './bridge/index.js';

// HTTP client (import Response as another name where the WHATWG global is in scope)
export {
  Agent,
  HTTPConnectionPool,
  Response,
  readBody,
  FileBodyProducer,
  UNKNOWN_LENGTH,
  reverseProxy,
  RedirectAgent,
  ContentDecoderAgent,
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
  PoolQueueFull,
  ProtocolSwitchError,
} from './protocols/index.js';

// Bridges and hosts
export {
  toCpsApp,
  toIterApp,
  toFetchHandler,
  fromFetchHandler,
  toNodeListener,
  waitFor,
  relayBody,
  NoPauseOutputError,
  validator,
  threadedIterApp,
  serve,
  WEBSOCKET_INPUT_HIGH_WATER,
  BridgeError,
  WriteBufferOverflowError,
  ValidationError,
} from './bridge/index.js';
export { ThreadPool, deferToThread } from './reactor/index.js';

// Types
export type {
  IDelayedCall,
  IReactorTime,
  IReactorCore,
  IReactorTCP,
  IReactor,
  ReactorStats,
  IPushProducer,
  IPullProducer,
  IProducer,
  IConsumer,
  IAddress,
  ITransport,
  IProtocol,
  IProtocolFactory,
  IConnector,
  IClientFactory,
  IListeningPort,
  IReactorTLS,
  IReactorUNIX,
  ITLSTransport,
  TLSMaterial,
  SNICallback,
  TLSServerOptions,
  TLSClientOptions,
  TLSListenOptions,
  TLSConnectOptions,
  UNIXListenOptions,
  TLSListeningPort,
  HandshakeStats,
  LogEvent,
  LogLevel,
  LogObserver,
} from './reactor/index.js';
export type {
  IWebSocketTransport,
  IWebSocketProtocol,
  WebSocketMessage,
  WebSocketState,
  WebSocketOptions,
  AcceptWebSocketOptions,
  ConnectWebSocketOptions,
} from './protocols/index.js';
export type {
  AgentOptions,
  IAgent,
  IBodyProducer,
  IResponse,
  PoolOptions,
  ReadResponseBodyOptions,
  RequestBody,
  RequestHeaders,
  FileBodyProducerOptions,
  ReverseProxyOptions,
  RedirectAgentOptions,
  ContentDecoderAgentOptions,
} from './protocols/index.js';
export type { IRequest, IHeaders, CpsApp, HTTPServerOptions, ITimeoutMixin } from './protocols/index.js';
// Web resources and static files
export type {
  IResource,
  IWebRequest,
  RenderResult,
  SiteOptions,
  StaticFileOptions,
  ServerSentEvent,
  EventStreamOptions,
  EventStreamEnd,
} from './protocols/index.js';
export type { IterEventStreamOptions } from './bridge/index.js';
export type {
  Chunk,
  StartResponse,
  WriteFn,
  IterApp,
  AppIterable,
  Environ,
  WsgiInput,
  EnvironWebSocket,
  EnvironWebSocketOptions,
  WebSocketInput,
  FetchHandler,
  ServeOptions,
  ServeStyle,
} from './bridge/index.js';
