/**
 * `spindle/bridge`: the iterator-app gateway, the CPS<->iterator bridges, the
 * Fetch and node:http hosts, the thread bridge, the validator and `serve()`.
 */
export { toCpsApp, WRITE_BUFFER_LIMIT, PULLS_PER_TURN, BYTES_PER_TURN, SECONDS_PER_TURN } from './gateway.js';
export { toIterApp, ASYNC_ITERABLE_KEY } from './toiterapp.js';
export { BridgeQueue, BRIDGE_HIGH_WATER, BRIDGE_LOW_WATER, BRIDGE_MAX_BUFFERED } from './bridgequeue.js';
export { BRIDGE_READ_BODY_LIMIT } from './bridgerequest.js';
export { BRIDGE_INPUT_CHUNK, BRIDGE_INPUT_POLL } from './envrequest.js';
export { ERRORS_LINE_LIMIT } from './environ.js';
export { toFetchHandler, fromFetchHandler } from './fetch.js';
export { toNodeListener } from './nodehttp.js';
export { WEBSOCKET_INPUT_HIGH_WATER } from './wsiter.js';
export {
  threadedIterApp,
  THREAD_RING_SIZE,
  THREAD_INPUT_RING_SIZE,
  THREAD_ABORT_TIMEOUT,
  THREAD_MAX_PENDING_MESSAGES,
  THREAD_JOB_QUEUE_SIZE,
  THREAD_IDLE_LINGER,
} from './threaded.js';
export { validator } from './validator.js';
export { WSGIResource } from './wsgiresource.js';
export { iterEventSource, IterEventStream } from './sse.js';
export { serve, DEFAULT_SERVE_PORT, DEFAULT_SERVE_HOST } from './serve.js';
export { INPUT_HIGH_WATER } from './input.js';
export { waitFor, relayBody, RELAY_BODY_HIGH_WATER } from './clientwait.js';
export {
  BridgeError,
  NoPauseOutputError,
  StartResponseStatusError,
  StartResponseHeaderError,
  HopByHopHeaderError,
  StartResponseTwiceError,
  BodyBeforeStartResponseError,
  InvalidAppResultError,
  WriteBufferOverflowError,
  ClientGoneError,
  ResponseEndedError,
  ContentLengthMismatchError,
  ValidationError,
  BridgeOverflowError,
  BridgeHostUnsupportedError,
  BridgeNoReactorError,
  ThreadedAppAborted,
  ServeStyleError,
  ServeListenError,
} from './errors.js';

// Every error class of the layer, also as one namespace: `import { errors } from 'spindle/bridge'`.
import * as errors from './errors.js';
export { errors };

export type {
  Chunk,
  WriteFn,
  StartResponse,
  AppIterable,
  IterApp,
  WsgiInput,
  WsgiErrors,
  PauseOutput,
  InputHandler,
  Environ,
  EnvironWebSocket,
  EnvironWebSocketOptions,
  WebSocketInput,
} from './interfaces.js';
export type { GatewayOptions, GatewayStats, GatewayCpsApp } from './gateway.js';
export type { ToIterAppOptions } from './toiterapp.js';
export type { FetchHandler, ToFetchHandlerOptions } from './fetch.js';
export type { NodeListener, NodeListenerOptions } from './nodehttp.js';
export type { ThreadedOptions, ThreadedIterApp } from './threaded.js';
export type { ValidatorOptions, ValidatedApp } from './validator.js';
export type { ServeOptions, ServeStyle } from './serve.js';
export type { IterEventStreamOptions } from './sse.js';
