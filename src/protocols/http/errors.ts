/**
 * Errors of the HTTP server. A request the parser rejects becomes an
 * `HTTPParseError` carrying the status the client is answered with; errors an
 * app can cause (finishing twice, a body past its limit) have their own class.
 * Every class has a stable `code` (see docs/http.md for the table).
 */
import { SpindleError } from '../../reactor/errors.js';

/** The request could not be accepted; `status` is the response the client gets. */
export class HTTPParseError extends SpindleError {
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

/** Stable codes of `HTTPParseError`, with the status each one answers with. */
export const ParseErrorCodes = {
  BAD_REQUEST_LINE: 'ERR_HTTP_BAD_REQUEST_LINE', // 400
  BAD_METHOD: 'ERR_HTTP_BAD_METHOD', // 400
  BAD_TARGET: 'ERR_HTTP_BAD_TARGET', // 400
  METHOD_NOT_IMPLEMENTED: 'ERR_HTTP_METHOD_NOT_IMPLEMENTED', // 501 (CONNECT)
  URI_TOO_LONG: 'ERR_HTTP_URI_TOO_LONG', // 414
  BAD_VERSION: 'ERR_HTTP_BAD_VERSION', // 400
  VERSION_NOT_SUPPORTED: 'ERR_HTTP_VERSION_NOT_SUPPORTED', // 505
  BARE_LF: 'ERR_HTTP_BARE_LF', // 400
  BARE_CR: 'ERR_HTTP_BARE_CR', // 400
  OBS_FOLD: 'ERR_HTTP_OBS_FOLD', // 400
  BAD_HEADER_NAME: 'ERR_HTTP_BAD_HEADER_NAME', // 400
  BAD_HEADER_VALUE: 'ERR_HTTP_BAD_HEADER_VALUE', // 400
  HEADERS_TOO_LARGE: 'ERR_HTTP_HEADERS_TOO_LARGE', // 431
  TOO_MANY_HEADERS: 'ERR_HTTP_TOO_MANY_HEADERS', // 431
  MISSING_HOST: 'ERR_HTTP_MISSING_HOST', // 400
  DUPLICATE_HOST: 'ERR_HTTP_DUPLICATE_HOST', // 400
  BAD_HOST: 'ERR_HTTP_BAD_HOST', // 400
  BAD_CONTENT_LENGTH: 'ERR_HTTP_BAD_CONTENT_LENGTH', // 400
  CL_AND_TE: 'ERR_HTTP_CONTENT_LENGTH_AND_TRANSFER_ENCODING', // 400
  BAD_TRANSFER_ENCODING: 'ERR_HTTP_BAD_TRANSFER_ENCODING', // 400
  UNKNOWN_CODING: 'ERR_HTTP_UNKNOWN_TRANSFER_CODING', // 501
  BAD_CHUNK: 'ERR_HTTP_BAD_CHUNK', // 400
  CHUNK_LINE_TOO_LONG: 'ERR_HTTP_CHUNK_LINE_TOO_LONG', // 400
  TRAILERS_TOO_LARGE: 'ERR_HTTP_TRAILERS_TOO_LARGE', // 431
  EXPECTATION_FAILED: 'ERR_HTTP_EXPECTATION_FAILED', // 417
  // Response parsing (the client): a proxy answers these with 502.
  BAD_STATUS_LINE: 'ERR_HTTP_BAD_STATUS_LINE',
  STATUS_LINE_TOO_LONG: 'ERR_HTTP_STATUS_LINE_TOO_LONG',
  INCOMPLETE_MESSAGE: 'ERR_HTTP_INCOMPLETE_MESSAGE',
} as const;

/** `finish()` on a request that already finished, or `write()` after it. */
export class RequestFinishedError extends SpindleError {
  constructor(what: string) {
    super(
      'ERR_REQUEST_FINISHED',
      `${what} called after finish(); a response ends once: finish() it only after its last write()`,
    );
  }
}

/** `readBody()`: the body is larger than the limit (the client is answered 413). */
export class BodyTooLargeError extends SpindleError {
  readonly limit: number;
  /** `got`: the declared length, or with `soFar` the bytes received when the limit was passed. */
  constructor(limit: number, got: number, soFar = false) {
    super(
      'ERR_HTTP_BODY_TOO_LARGE',
      `request body is larger than the ${limit}-byte limit (${soFar ? `${got} bytes received so far` : `got ${got} bytes`}); raise readBody({ limit }) or the server's maxBodyBytes option`,
    );
    this.limit = limit;
  }
}

/** `deliverBody()` / `readBody()` called a second time on one request. */
export class BodyAlreadyConsumedError extends SpindleError {
  constructor() {
    super(
      'ERR_HTTP_BODY_CONSUMED',
      'the request body was already handed to deliverBody() or readBody(); read it once and share the result',
    );
  }
}

/** A response header the app set would break the framing or inject a header. */
export class InvalidHeaderError extends SpindleError {
  constructor(message: string) {
    super('ERR_HTTP_INVALID_HEADER', message);
  }
}

/** `setResponseCode` with a code outside 100-599. */
export class InvalidStatusError extends SpindleError {
  constructor(code: number) {
    super('ERR_HTTP_INVALID_STATUS', `response code must be an integer 100-599, got ${String(code)}`);
  }
}

/** `setHeader`/`setResponseCode` after the status line and headers were committed. */
export class HeadersSentError extends SpindleError {
  constructor(what: string) {
    super(
      'ERR_HTTP_HEADERS_SENT',
      `${what} after the response headers were sent (the first write(), flushHeaders() or finish() sends them); set status and headers before writing`,
    );
  }
}

/** Re-exported so HTTP code and its users find it beside the other request errors. */
export { ProducerAlreadyRegisteredError } from '../../reactor/errors.js';

/** `request.upgrade()` on a request that cannot switch protocols (RFC 9110 §7.8), with what to do instead. */
export class UpgradeError extends SpindleError {
  constructor(message: string) {
    super('ERR_HTTP_UPGRADE', message);
  }
}
