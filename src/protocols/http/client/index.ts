/** The HTTP/1.1 client: Agent, connection pool, responses and body producers, and the response parser. */
export { Agent, DEFAULT_CLIENT_READ_BUFFER, DEFAULT_CONNECT_TIMEOUT } from './agent.js';
export {
  HTTPConnectionPool,
  DEFAULT_MAX_PERSISTENT_PER_HOST,
  DEFAULT_CACHED_CONNECTION_TIMEOUT,
  DEFAULT_MAX_QUEUED_PER_HOST,
} from './pool.js';
export { HTTP11ClientProtocol, CLIENT_READ_AHEAD_BYTES } from './connection.js';
export { Response } from './response.js';
export { readBody, DEFAULT_MAX_RESPONSE_BODY_BYTES, RESPONSE_ITERATOR_HIGH_WATER } from './readbody.js';
export { FileBodyProducer, FILE_BODY_CHUNK_SIZE } from './fileproducer.js';
export { UNKNOWN_LENGTH } from './interfaces.js';
export { RedirectAgent, DEFAULT_REDIRECT_LIMIT, REDIRECT_BODY_LIMIT } from './redirect.js';
export { ContentDecoderAgent, DecodedResponse, DEFAULT_ACCEPT_ENCODING } from './decoder.js';
export { reverseProxy, forwardHeaders, DEFAULT_PROXY_MAX_BUFFERED, DEFAULT_PROXY_TIMEOUT } from './proxy.js';
export { ResponseParser, DEFAULT_MAX_STATUS_LINE_BYTES } from './responseparser.js';
export {
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
} from './errors.js';
export type { AgentOptions } from './agent.js';
export type { ReverseProxyOptions } from './proxy.js';
export type { RedirectAgentOptions } from './redirect.js';
export type { ContentDecoderAgentOptions } from './decoder.js';
export type {
  IAgent,
  IBodyProducer,
  IResponse,
  PoolOptions,
  ReadResponseBodyOptions,
  RequestBody,
  RequestHeaders,
} from './interfaces.js';
export type { FileBodyProducerOptions, FileBodyProducerState } from './fileproducer.js';
export type { ResponseHead, ResponseParserHandler, ResponseParserLimits } from './responseparser.js';
