/**
 * `EnvironRequest`: the `IRequest` a CPS app sees when `toIterApp` runs it
 * behind an iterator gateway. Its input comes from the environ (`wsgi.input`,
 * woken by `wsgi.input_handler`, G15); its output goes into a `BridgeQueue`
 * that the iterator drains, and its status and headers reach `startResponse`
 * when the first data, `finish()` or `flushHeaders()` comes (then
 * `x-wsgiorg.flush` asks the gateway to send them, G3).
 */
import type { IAddress, IDelayedCall, IReactor } from '../reactor/interfaces.js';
import { ConnectionLost } from '../reactor/errors.js';
import { Headers } from '../protocols/http/headers.js';
import type { Environ, StartResponse } from './interfaces.js';
import { BRIDGE_HIGH_WATER, BridgeQueue, type BridgeQueueListener, type BridgeQueueOptions } from './bridgequeue.js';
import { appLog, BridgeRequest, INTERNAL_ERROR_BODY, type BridgeRequestInit } from './bridgerequest.js';
import type { BodyControl, BodySink } from './bridgebody.js';
import { HOP_BY_HOP_HEADERS } from '../protocols/http/rules.js';
import { ACCEPT_WEBSOCKET } from '../protocols/websocket/accept.js';
import { WebSocketHandshakeError } from '../protocols/websocket/errors.js';
import type { AcceptWebSocketOptions, IWebSocketProtocol } from '../protocols/websocket/interfaces.js';
import { BridgedWebSocket } from './wsbridge.js';
import { statusLine } from './startresponse.js';
import { CHECKED_START, checkedStartHost } from './checkedstart.js';

/** Bytes asked of `wsgi.input.read()` per step when streaming an upload to the CPS app. */
export const BRIDGE_INPUT_CHUNK = 64 * 1024;
/** Seconds between polls of a non-blocking `wsgi.input` on a host without `wsgi.input_handler`. */
export const BRIDGE_INPUT_POLL = 0.005;

const encoder = new TextEncoder();
/** The empty list every request's early chunks start as; never written (the first chunk makes a list of one). */
const NO_CHUNKS: Uint8Array[] = [];

export interface EnvironRequestOptions extends Pick<BridgeQueueOptions, 'highWater' | 'lowWater' | 'maxBuffered'> {
  readBodyLimit?: number;
}

/**
 * The request target as sent: a raw URI key if the gateway kept one, else
 * rebuilt from the CGI variables; undefined when spindle's gateway kept the
 * percent-encoded path as it came (`spindle.raw_path`): the request takes it
 * and QUERY_STRING as they are, and makes the target only if asked.
 */
function requestUri(environ: Environ): string | undefined {
  const raw = environ.REQUEST_URI || environ.RAW_URI;
  if (typeof raw === 'string') return raw;
  const rawPath = environ['spindle.raw_path'];
  if (typeof rawPath === 'string' && rawPath !== '') return undefined;
  // PATH_INFO is decoded, one char per byte (PEP 3333 latin-1 strings): percent-encode
  // every byte outside RFC 3986 pchar and '/' (a '%' too: it was a decoded '%25').
  const path = (`${environ.SCRIPT_NAME}${environ.PATH_INFO}` || '/').replace(
    /[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/g,
    (c) => `%${(c.charCodeAt(0) & 0xff).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return environ.QUERY_STRING ? `${path}?${environ.QUERY_STRING}` : path;
}

/** Header pairs from the environ: CONTENT_TYPE, CONTENT_LENGTH and HTTP_* (PEP 3333 / CGI RFC 3875 4.1.18). */
function requestHeaders(environ: Environ): Headers {
  const raw: string[] = [];
  for (const [key, value] of Object.entries(environ)) {
    if (typeof value !== 'string') continue;
    if (key.startsWith('HTTP_')) raw.push(key.slice(5).toLowerCase().replace(/_/g, '-'), value);
    else if ((key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') && value !== '')
      raw.push(key.toLowerCase().replace('_', '-'), value);
  }
  return new Headers(raw);
}

/** 1 at the length of each hop-by-hop name: most response header names are ruled out by one array read (no lower-casing, no Set). */
const HOP_BY_HOP_LENGTHS = new Uint8Array(32);
for (const n of HOP_BY_HOP_HEADERS) HOP_BY_HOP_LENGTHS[n.length] = 1;

function isHopByHop(name: string): boolean {
  return name.length < 32 && HOP_BY_HOP_LENGTHS[name.length] === 1 && HOP_BY_HOP_HEADERS.has(name.toLowerCase());
}

/**
 * The one init object every EnvironRequest's constructor fills and hands to
 * BridgeRequest's, which reads it and keeps none of it (an object literal per
 * request was ~60 B of the 3 500 a bridged hello allocates).
 */
const NO_REACTOR = null as unknown as IReactor;
const INIT: BridgeRequestInit = {
  method: '',
  uri: undefined,
  path: undefined,
  query: undefined,
  version: '',
  reactor: NO_REACTOR,
  secure: false,
  readBodyLimit: undefined,
};

function initFrom(environ: Environ, reactor: IReactor, options: EnvironRequestOptions): BridgeRequestInit {
  const init = INIT;
  const uri = requestUri(environ);
  init.method = environ.REQUEST_METHOD;
  init.uri = uri;
  init.path = uri === undefined ? (environ['spindle.raw_path'] as string) : undefined;
  init.query = uri === undefined ? environ.QUERY_STRING || '' : undefined;
  init.version = environ.SERVER_PROTOCOL || 'HTTP/1.1';
  init.reactor = reactor;
  init.secure = environ['wsgi.url_scheme'] === 'https';
  init.readBodyLimit = options.readBodyLimit;
  return init;
}

/** The reading end the request wakes when data, the end or a pull producer arrives. */
export interface QueueReader {
  wake(): void;
}

export class EnvironRequest extends BridgeRequest implements BridgeQueueListener {
  /**
   * The queue the iterator drains, made on first use (`queue`): a response the
   * app finishes within its call and `highWater` bytes never needs one.
   */
  private made: BridgeQueue | null = null;
  /** What the app wrote during its call, before any queue (never past `highWater` bytes), and whether it finished. */
  private early: Uint8Array[] = NO_CHUNKS;
  private earlyBytes = 0;
  private earlyEnd = false;
  private readonly queueOptions: EnvironRequestOptions;
  /** True once `startResponse` was called for this response. */
  headSent = false;
  private readonly environ: Environ;
  private readonly startResponse: StartResponse;
  /** Who reads the queue; null until toIterApp makes its iterator (a response finished in the app's call needs none). */
  reader: QueueReader | null = null;
  /** Set once the CPS app accepted the host's WebSocket: the iterator yields its messages. */
  websocket: BridgedWebSocket | null = null;

  constructor(environ: Environ, startResponse: StartResponse, reactor: IReactor, options: EnvironRequestOptions = {}) {
    super(initFrom(environ, reactor, options));
    INIT.reactor = NO_REACTOR; // the shared init keeps no reactor alive
    this.environ = environ;
    this.startResponse = startResponse;
    this.queueOptions = options;
    // acceptWebSocket() finds this hook only where the host offers a WebSocket.
    if (environ['spindle.websocket'] !== undefined) this.offerWebSocket();
  }

  /**
   * The hook acceptWebSocket() calls. Its closure is made here, not in the
   * constructor: a constructor holding a closure over `this` gets a context
   * allocated on every call, upgrade or not.
   */
  private offerWebSocket(): void {
    const accept = (protocol: IWebSocketProtocol, subprotocol: string | null, options: AcceptWebSocketOptions) =>
      this.acceptBridged(protocol, subprotocol, options);
    Object.defineProperty(this, ACCEPT_WEBSOCKET, { value: accept, enumerable: false });
  }

  /** `acceptWebSocket(thisRequest, protocol)`: accept the host's WebSocket and carry `protocol`'s messages through the iterator. */
  private acceptBridged(
    protocol: IWebSocketProtocol,
    subprotocol: string | null,
    options: AcceptWebSocketOptions,
  ): void {
    const input = this.environ['spindle.websocket']!.accept({
      ...options,
      protocols: subprotocol === null ? [] : [subprotocol],
    });
    if (input === null)
      throw new WebSocketHandshakeError(
        400,
        'the iterator host refused a WebSocket handshake that acceptWebSocket() had checked',
      );
    this.switchedProtocols();
    const ws = new BridgedWebSocket(input, protocol, {
      clock: this.reactor,
      peer: this.client,
      local: this.host,
      inputHandler: this.environ['wsgi.input_handler'],
      wake: () => this.reader?.wake(),
    });
    this.websocket = ws;
    ws.start();
  }

  /** @internal BridgeQueueListener: past the high-water mark, pause the CPS app's producer. */
  onHigh(): void {
    this.outputPaused();
  }

  /** @internal BridgeQueueListener: drained to the low-water mark, resume it. */
  onLow(): void {
    this.outputResumed();
  }

  /** @internal BridgeQueueListener: data, the end or a failure for the reader. */
  onReadable(): void {
    this.reader?.wake();
  }

  /** @internal BridgeQueueListener: the iterator found the queue empty; a pull producer is asked for more. */
  onEmpty(): void {
    this.wantMore();
  }

  protected override buildHeaders(): Headers {
    return requestHeaders(this.environ);
  }

  protected override buildAddresses(): { client: IAddress; host: IAddress } {
    const e = this.environ;
    return {
      client: { host: e.REMOTE_ADDR, port: Number(e.REMOTE_PORT ?? 0) },
      host: { host: e.SERVER_NAME, port: Number(e.SERVER_PORT) },
    };
  }

  /** The queue, made now if the app's writes so far were kept without one (they go into it first, and its end). */
  get queue(): BridgeQueue {
    return this.made ?? this.makeQueue();
  }

  private makeQueue(): BridgeQueue {
    const queue = new BridgeQueue(this.queueOptions, this);
    this.made = queue;
    const early = this.early;
    this.early = NO_CHUNKS;
    this.earlyBytes = 0;
    for (let i = 0; i < early.length; i++) queue.push(early[i]!); // at most highWater bytes: no onHigh
    if (this.earlyEnd) queue.end();
    return queue;
  }

  /** The iterator reached the end of the queue after `finish()`. */
  drained(): void {
    this.responseCompleted();
  }

  /**
   * The whole response, if the app finished it during its call (a hello): the
   * queued chunks, handed to the host at once as a plain array, and the
   * response is complete (notifyFinish() fires now: everything went to the
   * host, as spindle's server fires it when everything went to the
   * transport). Null while it goes on, or with a producer or a WebSocket.
   */
  takeWhole(): Uint8Array[] | null {
    if (this.producer !== null || this.websocket !== null) return null;
    let chunks: Uint8Array[];
    const made = this.made;
    if (made === null) {
      if (!this.earlyEnd) return null;
      chunks = this.early === NO_CHUNKS ? [] : this.early;
      this.early = NO_CHUNKS;
      this.earlyBytes = 0;
    } else {
      if (made.state !== 'ended') return null;
      chunks = made.takeAll();
    }
    this.drained();
    return chunks;
  }

  protected override producerRegistered(streaming: boolean): void {
    if (!streaming) this.reader?.wake();
  }

  protected sendHead(code: number, phrase: string, names: readonly string[], values: readonly string[]): void {
    // Connection-level headers belong to the gateway's connection, not to this response (G9).
    for (let i = 0; i < names.length; i++) {
      if (isHopByHop(names[i]!)) {
        const keep = names.map((n) => !isHopByHop(n));
        names = names.filter((_, j) => keep[j]);
        values = values.filter((_, j) => keep[j]);
        break;
      }
    }
    // spindle's gateway takes the head RequestCore checked as it is (checkedstart.ts); any other host, or a
    // middleware between, gets it through startResponse.
    const host = checkedStartHost(this.environ);
    if (host === undefined || !host[CHECKED_START](this.startResponse, code, phrase, names, values)) {
      const pairs: [string, string][] = new Array(names.length);
      for (let i = 0; i < names.length; i++) pairs[i] = [names[i]!, values[i]!];
      this.startResponse(statusLine(code, phrase), pairs);
    }
    this.headSent = true;
  }

  protected sendData(chunk: Uint8Array): void {
    // Nothing reads during the app's call (no reader yet): below the high-water mark, where the queue would do
    // nothing but count, the chunk is kept in a plain list, which a response finished in the call hands over as
    // it is. Once toIterApp made its iterator, every write goes through the queue, which wakes it.
    const bytes = this.earlyBytes + chunk.length;
    if (this.made === null && this.reader === null && bytes <= (this.queueOptions.highWater ?? BRIDGE_HIGH_WATER)) {
      if (this.early === NO_CHUNKS) this.early = [chunk];
      else this.early.push(chunk);
      this.earlyBytes = bytes;
      return;
    }
    this.queue.push(chunk);
  }

  protected sendFlush(): void {
    this.environ['x-wsgiorg.flush']?.();
  }

  protected sendEnd(): void {
    if (this.made === null && this.reader === null) this.earlyEnd = true;
    else this.queue.end();
  }

  protected sendAbort(): void {
    this.queue.fail(new ConnectionLost('the CPS app aborted the response'));
  }

  /**
   * The CPS app failed. Before `startResponse` the client gets a 500 (the
   * gateway sees `excInfo`, PEP 3333); after it, the iterator throws once the
   * queued data went out, and the gateway ends the connection.
   */
  override appFailed(error: unknown): void {
    if (this.completed || this.disconnected || this.queue.state !== 'open') {
      appLog.failure('CPS app failed after its response ended', error, 'warn');
      return;
    }
    this.finished = true;
    if (!this.headSent) {
      const body = encoder.encode(INTERNAL_ERROR_BODY);
      this.startResponse(
        '500 Internal Server Error',
        [
          ['Content-Type', 'text/plain; charset=utf-8'],
          ['Content-Length', String(body.byteLength)],
        ],
        error,
      );
      this.headSent = true;
      this.phase = 'streaming';
      this.queue.push(body);
      this.queue.end();
    } else {
      this.queue.fail(error);
    }
  }

  protected openBody(sink: BodySink): BodyControl {
    return openEnvironBody(this.environ, this.reactor, sink);
  }
}

/**
 * Stream `wsgi.input` into `sink`. With `wsgi.input_handler` the gateway wakes
 * us when bytes or the end arrive; without it a blocking input (PEP 3333) is
 * read until empty (from the next reactor turn), and a non-blocking one is
 * polled every BRIDGE_INPUT_POLL s.
 * `resume` drains on a later reactor turn, never in the caller's stack.
 */
function openEnvironBody(environ: Environ, reactor: IReactor, sink: BodySink): BodyControl {
  const input = environ['wsgi.input'];
  const handler = environ['wsgi.input_handler'];
  let paused = false;
  let stopped = false;
  let scheduled: IDelayedCall | null = null;
  const schedule = (delay: number): void => {
    if (!scheduled && !stopped) scheduled = reactor.callLater(delay, drain);
  };
  let draining = false;
  const drain = (): void => {
    scheduled = null;
    // A read may make the gateway call onReadable again, synchronously: the loop below carries on.
    if (draining) return;
    draining = true;
    try {
      drainLoop();
    } finally {
      draining = false;
    }
  };
  const drainLoop = (): void => {
    while (!paused && !stopped) {
      const chunk = input.read(BRIDGE_INPUT_CHUNK);
      if (chunk.byteLength > 0) {
        sink.data(chunk);
        continue;
      }
      if (input.clientGone) {
        stopped = true;
        sink.lost(new ConnectionLost('the client went away before the request body ended'));
        return;
      }
      if (input.atEOF !== false) {
        stopped = true;
        sink.end();
        return;
      }
      if (!handler) schedule(BRIDGE_INPUT_POLL);
      return;
    }
  };
  handler?.(input, () => {
    if (paused || stopped) return;
    if (scheduled?.active()) scheduled.cancel();
    drain();
  });
  // What has already arrived is delivered now, as Twisted's deliverBody does
  // with a buffered body; later bytes come through input_handler.
  if (handler) drain();
  else schedule(0);
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      if (paused) {
        paused = false;
        schedule(0);
      }
    },
    stop: () => {
      stopped = true;
      if (scheduled?.active()) scheduled.cancel();
      scheduled = null;
    },
  };
}
