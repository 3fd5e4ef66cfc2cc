/**
 * Errors of the web layer (resources, site, static files). Every class has a
 * stable `code`; each message says what was expected and how to fix it.
 */
import { SpindleError } from '../../reactor/errors.js';

/** `render()` (or a `render_METHOD`) returned something that is not an answer. */
export class RenderResultError extends SpindleError {
  constructor(where: string, got: unknown) {
    const what =
      got === null
        ? 'null'
        : typeof got === 'object'
          ? (Object.getPrototypeOf(got)?.constructor?.name ?? 'an object')
          : typeof got;
    super(
      'ERR_WEB_RENDER_RESULT',
      `${where} returned ${what}; return the body (a string or Uint8Array), NOT_DONE_YET (and call request.finish() later), or a Deferred/Promise of one of those`,
    );
  }
}

/** `putChild(name, ...)` with a name that traversal can never reach. */
export class ChildNameError extends SpindleError {
  constructor(name: string) {
    super(
      'ERR_WEB_CHILD_NAME',
      `putChild(${JSON.stringify(name)}): a child name is one decoded path segment and cannot contain '/'; nest resources for deeper paths`,
    );
  }
}

/** An event field (`event`, `id`) with a character the event-stream format cannot carry. */
export class EventFieldError extends SpindleError {
  constructor(field: string, value: string) {
    super(
      'ERR_WEB_EVENT_FIELD',
      `server-sent event field ${field} ${JSON.stringify(value)} contains CR, LF${field === 'id' ? ' or NUL' : ''}, which would end the field early (HTML "event stream" format); remove them, or put multi-line text in data`,
    );
  }
}

/** A server-sent event stream buffered past its bound for a client that does not read. */
export class EventStreamOverflowError extends SpindleError {
  constructor(limit: number) {
    super(
      'ERR_WEB_EVENT_STREAM_OVERFLOW',
      `the client did not read its server-sent events and more than ${limit} bytes waited; the stream was closed (the client reconnects with Last-Event-ID). Raise maxBufferedBytes, or send less to slow clients`,
    );
  }
}
