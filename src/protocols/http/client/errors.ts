/**
 * Errors of the HTTP client (Twisted's `twisted.web._newclient` names). Each
 * has a stable `code`. Connection failures are the reactor's `ConnectError`
 * family (refused, timed out), passed through as they are.
 */
import { SpindleError } from '../../../reactor/errors.js';

/** The response broke off or could not be parsed; `reasons` holds what went wrong. */
export class ResponseFailed extends SpindleError {
  readonly reasons: unknown[];
  constructor(reasons: unknown[], message?: string, code = 'ERR_HTTP_RESPONSE_FAILED') {
    const first = reasons[0] instanceof Error ? reasons[0].message : String(reasons[0]);
    super(code, message ?? `the response failed: ${first}`, { cause: reasons[0] });
    this.reasons = reasons;
  }
}

/** The connection closed before any byte of the response came (a stale kept-alive connection, or a server that hung up). */
export class ResponseNeverReceived extends ResponseFailed {
  constructor(reasons: unknown[]) {
    super(
      reasons,
      'the server closed the connection before sending a response; if it was a kept-alive connection it had gone stale (retryAutomatically retries idempotent requests once)',
      'ERR_HTTP_RESPONSE_NEVER_RECEIVED',
    );
  }
}

/** The request (head or body) could not be sent: the connection broke, or the body producer failed. */
export class RequestTransmissionFailed extends SpindleError {
  readonly reasons: unknown[];
  constructor(reasons: unknown[]) {
    const first = reasons[0] instanceof Error ? reasons[0].message : String(reasons[0]);
    super('ERR_HTTP_REQUEST_TRANSMISSION_FAILED', `the request could not be sent: ${first}`, { cause: reasons[0] });
    this.reasons = reasons;
  }
}

/** No response head came within the agent's `timeout`. */
export class ResponseTimeout extends SpindleError {
  readonly seconds: number;
  constructor(seconds: number, url: string) {
    super(
      'ERR_HTTP_RESPONSE_TIMEOUT',
      `no response from ${url} within ${seconds} s; raise the agent's timeout option or check the server`,
    );
    this.seconds = seconds;
  }
}

/** The URL cannot be requested: not absolute, or a scheme the agent does not speak. */
export class SchemeNotSupported extends SpindleError {
  constructor(url: string, why: string) {
    super('ERR_HTTP_SCHEME_NOT_SUPPORTED', `cannot request ${JSON.stringify(url.slice(0, 80))}: ${why}`);
  }
}

/** A request method or header would break the request's framing (CR, LF, or a bad token). */
export class InvalidRequestError extends SpindleError {
  constructor(message: string) {
    super('ERR_HTTP_INVALID_REQUEST', message);
  }
}

/** `readBody(response, { limit })`: the body is longer than the limit. */
export class ResponseBodyTooLarge extends SpindleError {
  readonly limit: number;
  constructor(limit: number) {
    super(
      'ERR_HTTP_RESPONSE_BODY_TOO_LARGE',
      `response body is larger than the ${limit}-byte limit; raise readBody(response, { limit }) or stream it with deliverBody()`,
    );
    this.limit = limit;
  }
}

/** The body producer wrote more or fewer bytes than its `length` said. */
export class WrongBodyLength extends SpindleError {
  constructor(expected: number, got: number) {
    super(
      'ERR_HTTP_WRONG_BODY_LENGTH',
      `the body producer said length ${expected} but wrote ${got} bytes; give length UNKNOWN_LENGTH to send it chunked`,
    );
  }
}

/** RedirectAgent followed more redirects than its limit. */
export class TooManyRedirects extends SpindleError {
  readonly limit: number;
  constructor(limit: number, url: string) {
    super(
      'ERR_HTTP_TOO_MANY_REDIRECTS',
      `more than ${limit} redirects, the last to ${url}; raise RedirectAgent's redirectLimit or check for a loop`,
    );
    this.limit = limit;
  }
}

/** A redirect without a usable Location header. */
export class RedirectWithNoLocation extends SpindleError {
  constructor(code: number, url: string) {
    super('ERR_HTTP_REDIRECT_NO_LOCATION', `${code} redirect from ${url} has no Location header`);
  }
}

/** `deliverBody()` (or `readBody()`, or iteration) a second time on one response. */
export class ResponseBodyConsumed extends SpindleError {
  constructor() {
    super(
      'ERR_HTTP_RESPONSE_BODY_CONSUMED',
      'the response body was already handed to deliverBody(), readBody() or an iterator; read it once and share the result',
    );
  }
}

/** A capped pool (`maxConnectionsPerHost`) has `maxQueuedPerHost` requests waiting for that host already. */
export class PoolQueueFull extends SpindleError {
  readonly key: string;
  readonly queued: number;
  constructor(key: string, maxConnections: number, queued: number) {
    super(
      'ERR_HTTP_POOL_QUEUE_FULL',
      `${queued} requests already wait for one of the ${maxConnections} connections to ${key} (maxConnectionsPerHost); ` +
        "raise the pool's maxQueuedPerHost or maxConnectionsPerHost, or send fewer requests at once",
    );
    this.key = key;
    this.queued = queued;
  }
}

/**
 * A protocol switch that cannot happen: `switchProtocols()` on a response that is not
 * `101 Switching Protocols`, or (inside a `ResponseFailed`) a 101 that answers a request
 * which did not ask for Upgrade (RFC 9110 §15.2.2).
 */
export class ProtocolSwitchError extends SpindleError {
  constructor(message: string) {
    super('ERR_HTTP_PROTOCOL_SWITCH', message);
  }
}
