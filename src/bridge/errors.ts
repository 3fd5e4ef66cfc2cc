/**
 * Errors of the bridge layer (gateway, bridges, validator). Each has a stable
 * `code`; its message says what was expected, what came, and the fix.
 *
 * Shared file: other bridge modules add their own classes here. Keep it additive.
 */
import { SpindleError } from '../reactor/errors.js';

/** Base class of everything the bridge layer throws. */
export class BridgeError extends SpindleError {}

/** G10: the status passed to `startResponse` is not 'NNN Reason'. */
export class StartResponseStatusError extends BridgeError {
  constructor(status: unknown, why: string) {
    super(
      'ERR_GATEWAY_INVALID_STATUS',
      `startResponse() status must be a string like '200 OK' (three digits 200-599, a space, a reason ` +
        `without control characters); got ${JSON.stringify(status)}: ${why}`,
    );
  }
}

/** G10: a header name is not a token, or a value is not latin-1 or holds CR, LF, NUL or another control. */
export class StartResponseHeaderError extends BridgeError {
  constructor(header: unknown, why: string) {
    super(
      'ERR_GATEWAY_INVALID_HEADER',
      `startResponse() headers must be [name, value] string pairs, names RFC 9110 tokens, values latin-1 ` +
        `without CR, LF, NUL or other controls; got ${safeJson(header)}: ${why}`,
    );
  }
}

/** G9: a hop-by-hop header belongs to the server, not the app (PEP 3333, "Other HTTP Features"). */
export class HopByHopHeaderError extends BridgeError {
  constructor(name: string) {
    super(
      'ERR_GATEWAY_HOP_BY_HOP',
      `startResponse() got the hop-by-hop header '${name}'; the server manages connection-level headers ` +
        `(Connection, Keep-Alive, Transfer-Encoding, TE, Trailers, Upgrade, Proxy-Authenticate, ` +
        `Proxy-Authorization): remove it from the app's headers`,
    );
  }
}

/** G2: `startResponse` called a second time without `excInfo`. */
export class StartResponseTwiceError extends BridgeError {
  constructor() {
    super(
      'ERR_GATEWAY_START_RESPONSE_TWICE',
      'startResponse() called twice without excInfo; pass the caught error as excInfo to replace the ' +
        'status and headers of a failed response',
    );
  }
}

/** G1: a body chunk (or a `write()`) came before any `startResponse` call. */
export class BodyBeforeStartResponseError extends BridgeError {
  constructor(what: string) {
    super(
      'ERR_GATEWAY_BODY_BEFORE_START_RESPONSE',
      `the app produced body data (${what}) before calling startResponse(); call startResponse(status, ` +
        `headers) first (lazily, inside the first next(), is fine)`,
    );
  }
}

/** The app returned something that is not an iterable of chunks, or yielded a chunk of the wrong type. */
export class InvalidAppResultError extends BridgeError {
  constructor(what: string) {
    super('ERR_GATEWAY_INVALID_APP_RESULT', what);
  }
}

/**
 * G12: `write()` was asked to buffer more than the gateway's bound while the
 * client was not reading. On the reactor thread `write()` cannot block.
 */
export class WriteBufferOverflowError extends BridgeError {
  readonly limit: number;
  constructor(limit: number, wanted: number) {
    super(
      'ERR_GATEWAY_WRITE_BUFFER_OVERFLOW',
      `write() would buffer ${wanted} bytes for a client that is not reading, past the limit of ${limit} ` +
        `bytes (writeBufferLimit); yield the chunks from the app's iterable instead of calling write(), ` +
        `or run the app on a worker thread with threadedIterApp() where write() blocks`,
    );
    this.limit = limit;
  }
}

/** G14: `write()` after the client went away (the stated policy: it throws, so a write loop stops). */
export class ClientGoneError extends BridgeError {
  constructor() {
    super(
      'ERR_GATEWAY_CLIENT_GONE',
      'write() after the client went away; the response was abandoned and the iterable closed; stop ' +
        'producing output (check for this error, or use the iterable instead of write())',
    );
  }
}

/** `write()` after the response ended (iterable done, closed or failed). */
export class ResponseEndedError extends BridgeError {
  constructor() {
    super(
      'ERR_GATEWAY_RESPONSE_ENDED',
      'write() after the response ended; write() belongs to the response in progress: do not keep it ' +
        'past the end of the iterable',
    );
  }
}

/** G8: the app sent fewer bytes than its Content-Length (logged; the connection is closed). */
export class ContentLengthMismatchError extends BridgeError {
  constructor(declared: number, sent: number) {
    super(
      'ERR_GATEWAY_CONTENT_LENGTH_SHORT',
      `the app declared Content-Length: ${declared} but its body ended after ${sent} bytes; the ` +
        `connection was closed so the client sees a truncated response; fix the header or the body`,
    );
  }
}

/** `validator()` caught the app or the gateway breaking the contract. `rule` names it (G1-G16, or an environ check). */
export class ValidationError extends BridgeError {
  readonly rule: string;
  constructor(rule: string, message: string) {
    super('ERR_WSGI_VALIDATION', `[${rule}] ${message}`);
    this.rule = rule;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

// -- continuation bridges (toIterApp, Fetch, node:http, serve) --

/**
 * G12/G16: a CPS app wrote past the bridge queue's hard bound while its reader
 * was not reading (no producer registered, or a producer that ignored the pause).
 */
export class BridgeOverflowError extends BridgeError {
  readonly limit: number;
  constructor(limit: number, wanted: number, when = 'while the reader was not reading') {
    super(
      'ERR_BRIDGE_QUEUE_OVERFLOW',
      `request.write() would queue ${wanted} bytes ${when}, past the bridge's bound of ${limit} bytes ` +
        `(maxBuffered); register a producer with request.registerProducer() so the bridge can pause it, ` +
        `or raise maxBuffered`,
    );
    this.limit = limit;
  }
}

/**
 * toIterApp() was hosted by a gateway that offers neither `wsgi.pause_output`
 * nor AsyncIterable results, so the bridge has no way to wait for the CPS app.
 */
export class BridgeHostUnsupportedError extends BridgeError {
  constructor() {
    super(
      'ERR_BRIDGE_HOST_UNSUPPORTED',
      "toIterApp() needs a host that can wait: this environ has no 'wsgi.pause_output' and does not say " +
        "the host takes an AsyncIterable; host it with spindle's toCpsApp()/serve() (which offer " +
        'wsgi.pause_output), pass toIterApp(app, { asyncIterable: true }) if your host accepts an ' +
        'AsyncIterable, or run the app on a worker thread (threadedIterApp)',
    );
  }
}

/** A bridge needs a reactor (for timers and scheduling) and none was given. */
export class BridgeNoReactorError extends BridgeError {
  constructor(where: string) {
    super(
      'ERR_BRIDGE_NO_REACTOR',
      `${where} needs a reactor and got none; pass { reactor } in its options` +
        (where === 'toIterApp()' ? " or host it on a gateway that sets environ['spindle.reactor']" : ''),
    );
  }
}

/**
 * threadedIterApp: thrown inside an app on a worker thread from `write()`,
 * `wsgi.input.read()` or between chunks once the response was abandoned
 * (client gone, request cancelled, server shutting down). G14/G16.
 */
export class ThreadedAppAborted extends BridgeError {
  constructor() {
    super(
      'ERR_THREADED_APP_ABORTED',
      'the response was abandoned (the client went away, the request was cancelled or the server is shutting ' +
        "down) while the app ran on its worker thread; let this error propagate so the app's finally blocks " +
        'and close() run and the worker is freed for the next request',
    );
  }
}

const STYLE_MEANING: Record<string, string> = {
  iter: "'iter' (an iterator app)",
  cps: "'cps' (a (request) => void app)",
  fetch: "'fetch' (a (Request) => Promise<Response> handler)",
};

/** `serve()` (or a host: `toFetchHandler`, `toNodeListener`) was given a style it does not know (or none). */
export class ServeStyleError extends BridgeError {
  constructor(style: unknown, where = 'serve(app, { style })', styles: readonly string[] = ['iter', 'cps', 'fetch']) {
    const named = styles.map((s) => STYLE_MEANING[s] ?? `'${s}'`);
    super(
      'ERR_BRIDGE_SERVE_STYLE',
      `${where} needs style ${named.slice(0, -1).join(', ')} or ${named[named.length - 1]}; ` +
        `got ${JSON.stringify(style) ?? String(style)}`,
    );
  }
}

/** waitFor()/relayBody() in an iterator app whose host offers no `wsgi.pause_output`. */
export class NoPauseOutputError extends BridgeError {
  constructor(what: string) {
    super(
      'ERR_BRIDGE_NO_PAUSE_OUTPUT',
      `${what} needs environ['wsgi.pause_output'] to wait without blocking; host the app with spindle's toCpsApp()/serve(), or make it an async generator and await the Deferred`,
    );
  }
}

/** `serve()` was told where to listen in a way it cannot follow (listen together with port/host, an empty list, a reactor without TLS or Unix sockets). */
export class ServeListenError extends BridgeError {
  constructor(message: string) {
    super('ERR_BRIDGE_SERVE_LISTEN', message);
  }
}
