/**
 * The HTTP/1.1 server: parser, per-request Request, factory (the per-connection
 * `HTTPChannel` is internal). An internal index: `src/protocols/index.ts` picks
 * the public names from it.
 */
export { HTTPFactory } from './factory.js';
export { Request } from './request.js';
export { Headers } from './headers.js';
export { TrustedProxies, resolveForwarded } from './forwarded.js';
export type { ForwardedFor } from './forwarded.js';
export {
  HTTPParser,
  DEFAULT_MAX_REQUEST_LINE_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_CHUNK_LINE_BYTES,
  DEFAULT_MAX_TRAILER_BYTES,
} from './parser.js';
export {
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HELD_INPUT_BYTES,
  DEFAULT_LINGER_TIMEOUT,
  DEFAULT_LINGER_MAX_BYTES,
} from './options.js';
export {
  HTTPParseError,
  ParseErrorCodes,
  RequestFinishedError,
  BodyTooLargeError,
  BodyAlreadyConsumedError,
  InvalidHeaderError,
  InvalidStatusError,
  HeadersSentError,
  UpgradeError,
} from './errors.js';
export type { IRequest, IHeaders, ReadBodyOptions, CpsApp } from './interfaces.js';
export type { HTTPServerOptions, HTTPStats } from './options.js';
export type { ParserLimits, ParserHandler } from './parser.js';
