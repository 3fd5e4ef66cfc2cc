/**
 * `toCpsApp(iterApp, options)`: the gateway. It hosts an iterator (WSGI-shaped)
 * app on spindle's HTTP server by turning it into a CPS app.
 *
 * One piece on purpose: `GatewayResponse` is a single state machine (pull loop,
 * pause/resume, headers, Content-Length, endings) whose states all guard each
 * other; the pure parts live in startresponse.ts, environ.ts and input.ts.
 *
 * Flow control: the response registers itself on the request as a push
 * producer. It calls `next()` only while the transport has not paused it and
 * the app has not paused its output (G5, G13); an AsyncIterable's pending
 * `next()` counts as a pause (one outstanding `next()` at a time). The loop
 * iterates, never recurses, and after `pullsPerTurn` chunks or `bytesPerTurn`
 * bytes it yields to the reactor with `callLater(0)` so one fast app cannot
 * starve the other connections.
 */
import { Buffer } from 'node:buffer';
import type { CpsApp, IRequest } from '../protocols/http/interfaces.js';
import { CHECKED_HEAD } from '../protocols/http/requestcore.js';
import { isFieldValue, parseContentLength, responseHasNoBody } from '../protocols/http/rules.js';
import type { Failure } from '../reactor/failure.js';
import type { IDelayedCall, IPushProducer, IReactor } from '../reactor/interfaces.js';
import { Logger } from '../reactor/log.js';
import { buildEnviron, makeErrorsStream, type EnvironParts } from './environ.js';
import {
  BodyBeforeStartResponseError,
  ClientGoneError,
  ContentLengthMismatchError,
  InvalidAppResultError,
  ResponseEndedError,
  WriteBufferOverflowError,
} from './errors.js';
import { EmptyInput, StreamingInput, INPUT_HIGH_WATER, type StreamingInputOptions } from './input.js';
import type {
  AppIterable,
  Chunk,
  Environ,
  InputHandler,
  IterApp,
  PauseOutput,
  StartResponse,
  WriteFn,
  WsgiErrors,
} from './interfaces.js';
import { ResponseStarter, type HeadSink } from './startresponse.js';
import { CHECKED_START, type CheckedStartHost } from './checkedstart.js';
import { isWebSocketRequest } from '../protocols/websocket/accept.js';
import type { IWebSocketTransport } from '../protocols/websocket/interfaces.js';
import { IterWebSocket } from './wsiter.js';

/** Bytes `write()` may hand a transport that is not draining before it throws (G12). */
export const WRITE_BUFFER_LIMIT = 1024 * 1024;
/** Chunks one response pulls in a row before it yields to the reactor. */
export const PULLS_PER_TURN = 1024;
/** Bytes one response sends in a row before it yields to the reactor. */
export const BYTES_PER_TURN = 1024 * 1024;
/**
 * Seconds of the reactor's clock one response may pull for in a row before it
 * yields (Twisted's cooperator works in 10 ms slices): an app whose chunks are
 * each slow to make cannot hold a turn for PULLS_PER_TURN of them.
 */
export const SECONDS_PER_TURN = 0.01;
/** Past this many pulls in a turn the clock is read every this many (a read costs ~90 ns, a cheap pull less). */
const PULLS_PER_CLOCK_READ = 64;

export interface GatewayOptions {
  /** The reactor for `callLater` and `spindle.reactor`; defaults to the request's. */
  reactor?: IReactor;
  /** G12 bound on `write()` output buffered for a paused transport; default `WRITE_BUFFER_LIMIT`. */
  writeBufferLimit?: number;
  /** Read the whole body before calling the app (for apps that read synchronously); 413 past `limit`. */
  bufferInput?: { limit: number };
  /** Unread body bytes held before the socket stops being read; default `INPUT_HIGH_WATER`. */
  inputHighWater?: number;
  pullsPerTurn?: number;
  bytesPerTurn?: number;
  /** Time budget of a turn's pulls, by the reactor's clock; default `SECONDS_PER_TURN`. */
  secondsPerTurn?: number;
  /** Where app failures and `wsgi.errors` go; default `new Logger('spindle.gateway')`. */
  logger?: Logger;
  urlScheme?: 'http' | 'https';
  /** Share one set of counters between several gateways. */
  stats?: GatewayStats;
  /**
   * Where the app is mounted, per request: SCRIPT_NAME and PATH_INFO to put in
   * the environ instead of '' and the whole path (PEP 3333). `WSGIResource`
   * sets it from the request's prepath/postpath.
   */
  mount?: (request: IRequest) => { SCRIPT_NAME: string; PATH_INFO: string };
}

/** Live counters of a gateway (read by the demo and the reliability tests). */
export interface GatewayStats {
  /** Responses between the app call and their end. */
  activeResponses: number;
  totalResponses: number;
  /** `next()` calls made on app iterables. */
  pulls: number;
  /** Active responses not being pulled now: the transport or the app paused them. */
  pausedResponses: number;
  /** Bytes `write()` handed to paused transports, not yet drained. */
  writeBuffered: number;
  /** App failures (exceptions, contract violations). */
  appErrors: number;
}

function newGatewayStats(): GatewayStats {
  return { activeResponses: 0, totalResponses: 0, pulls: 0, pausedResponses: 0, writeBuffered: 0, appErrors: 0 };
}

export type GatewayCpsApp = CpsApp & { readonly gatewayStats: GatewayStats };

/** Host `app` on spindle's HTTP server: `new HTTPFactory(toCpsApp(app, { reactor }), { reactor })`. */
export function toCpsApp(app: IterApp, options: GatewayOptions = {}): GatewayCpsApp {
  const gateway = new Gateway(app, options);
  const cps = (request: IRequest): void => {
    new GatewayResponse(gateway, request).begin();
  };
  return Object.assign(cps, { gatewayStats: gateway.stats });
}

/** What every response of one gateway shares: one object per `toCpsApp`, read through one field of each response. */
class Gateway {
  readonly stats: GatewayStats;
  readonly logger: Logger;
  readonly live = new LiveResponses();
  /** `wsgi.errors` lines go to the logger through this one function (per gateway, not per request). */
  readonly errorsLog: (line: string) => void;
  constructor(
    readonly app: IterApp,
    readonly options: GatewayOptions,
  ) {
    const logger = (this.logger = options.logger ?? new Logger('spindle.gateway'));
    this.stats = options.stats ?? newGatewayStats();
    this.errorsLog = (line) => logger.error(line, { source: 'wsgi.errors' });
  }
}

/**
 * The responses in progress, per reactor: when a reactor shuts down, the
 * responses still running on it end and their iterables are closed (G7
 * "server shutdown"). One 'during shutdown' trigger per reactor, so a graceful
 * drain in the 'before' phase runs first.
 */
class LiveResponses {
  private readonly byReactor = new Map<IReactor, LiveList>();
  /** The last reactor asked for and its list: a server has one reactor, so most calls skip the map. */
  private lastReactor: IReactor | null = null;
  private lastList: LiveList | null = null;
  listFor(reactor: IReactor): LiveList {
    if (reactor === this.lastReactor) return this.lastList!;
    let list = this.byReactor.get(reactor);
    if (!list) {
      const fresh = new LiveList();
      list = fresh;
      this.byReactor.set(reactor, fresh);
      reactor.addSystemEventTrigger('during', 'shutdown', () => fresh.shutdownAll());
    }
    this.lastReactor = reactor;
    this.lastList = list;
    return list;
  }
}

/**
 * One reactor's live responses as an intrusive doubly linked list: adding and
 * removing a response touches two links and allocates nothing (a Set grew and
 * shrank its table for each request).
 */
class LiveList {
  private first: GatewayResponse | null = null;
  add(r: GatewayResponse): void {
    r.liveNext = this.first;
    r.livePrev = null;
    if (this.first !== null) this.first.livePrev = r;
    this.first = r;
  }
  delete(r: GatewayResponse): void {
    if (r.livePrev !== null) r.livePrev.liveNext = r.liveNext;
    else if (this.first === r) this.first = r.liveNext;
    else return; // not in the list
    if (r.liveNext !== null) r.liveNext.livePrev = r.livePrev;
    r.livePrev = r.liveNext = null;
  }
  shutdownAll(): void {
    const all: GatewayResponse[] = [];
    for (let r = this.first; r !== null; r = r.liveNext) all.push(r);
    for (const r of all) r.shutdown();
  }
}

const utf8 = new TextEncoder();
type AnyIterator = Iterator<Chunk> | AsyncIterator<Chunk>;

/** Check a chunk's type; throws on anything but string / Uint8Array. */
function checkChunk(chunk: unknown, where: string): Chunk {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) return chunk;
  throw new InvalidAppResultError(
    `${where} got a ${chunk === null ? 'null' : typeof chunk}; body chunks must be strings (sent as UTF-8) or Uint8Array`,
  );
}

/**
 * One request/response driven by the gateway; also the host of its `wsgi.input`
 * (StreamingInputOptions) and what its environ is built from (EnvironParts:
 * no parts object per request).
 */
class GatewayResponse implements IPushProducer, StreamingInputOptions, EnvironParts, CheckedStartHost {
  /** startResponse's state: the head, whether it went out. */
  private readonly starter: ResponseStarter;
  readonly reactor: IReactor;
  input!: StreamingInput | EmptyInput;
  /**
   * `notifyFinish()` is watched (from the end of the first run on: a response
   * that ends inside it, a hello, never asks, so no Deferred is made for it).
   * Until then `endedUnwatched()` reads the request's flags instead.
   */
  private watching = false;
  private result: AppIterable | null = null;
  private iterator: AnyIterator | null = null;
  /** A plain array the app returned: read by index, no iterator or result objects (`iterator` stays null). */
  private list: readonly unknown[] | null = null;
  private index = 0;
  private isAsync = false;
  private ended = false;
  private gone = false;
  private closed = false;
  private inNext = false;
  private awaiting = false;
  private pumping = false;
  private transportPaused = false;
  private appPaused = false;
  private countedPaused = false;
  private scheduled: IDelayedCall | null = null;
  private turnPulls = 0;
  private turnBytes = 0;
  /** The reactor's clock at this turn's first reading (-1: not read yet this turn). */
  private turnStart = -1;
  private sent = 0;
  private writeBuffered = 0;
  /** The `write()` callable startResponse returns (made on its first call). */
  private write: WriteFn | null = null;
  /** The `startResponse` callable handed to the app (CheckedStartHost: a bridge holding this one may hand a checked head). */
  private startResponseFn: StartResponse | null = null;
  /** `spindle.websocket` on an upgrade request; once accepted, chunks are messages. */
  private ws: IterWebSocket | null = null;
  /** StreamingInputOptions: the request's Content-Length (null: chunked or no body). */
  contentLength: number | null = null;
  /** Links in the reactor's list of live responses (LiveList). */
  livePrev: GatewayResponse | null = null;
  liveNext: GatewayResponse | null = null;
  private readonly liveList: LiveList;

  constructor(
    private readonly gw: Gateway,
    private readonly request: IRequest,
  ) {
    this.reactor = gw.options.reactor ?? request.reactor;
    this.liveList = gw.live.listFor(this.reactor);
    // spindle's own requests take the checked head at startResponse (no copy kept here); others get it at the first byte.
    const sink = request as IRequest & Partial<HeadSink>;
    this.starter = new ResponseStarter(sink[CHECKED_HEAD] !== undefined ? (sink as HeadSink) : null);
  }

  begin(): void {
    this.gw.stats.activeResponses++;
    this.gw.stats.totalResponses++;
    this.liveList.add(this);
    const buffered = this.gw.options.bufferInput;
    if (!buffered) {
      // This response is the input's host: no options object, no closures.
      this.input = hasNoBody(this.request) ? new EmptyInput(this) : new StreamingInput(this);
      this.run();
      if (!this.ended) this.watchFinish(); // the response goes on past this turn
      return;
    }
    this.watchFinish();
    this.request.readBody({ limit: buffered.limit }).addCallbacks(
      (body: Uint8Array) => {
        if (this.ended) return;
        this.input = StreamingInput.fromBytes(body, this.reactor);
        this.run();
      },
      (failure: Failure) => this.bodyFailed(failure),
    );
  }

  /**
   * Errback: the client went away. Callback while not ended: the server itself
   * finished the request (408 for a body that stopped coming, 413): the response
   * is over all the same, so end it and close the iterable (G7, G14).
   */
  private watchFinish(): void {
    this.watching = true;
    this.request.notifyFinish().addBoth(() => this.requestEnded());
  }

  /** The request ended without the gateway. An accepted WebSocket finishes the HTTP request; its own end comes through the socket. */
  private requestEnded(): void {
    if (this.ws === null || !this.ws.accepting) this.clientGone();
  }

  /**
   * `ended`, and before `notifyFinish()` is watched, what it would have said:
   * a request the client left or the server answered (a 413 while the app
   * reads) during the first run ends the response here (G7, G14).
   */
  private endedUnwatched(): boolean {
    if (!this.watching && !this.ended && (this.request.finished || this.request.disconnected)) this.requestEnded();
    return this.ended;
  }

  // -- EnvironParts: what the environ takes from its gateway (read once, by buildEnviron) --

  get errors(): WsgiErrors {
    return makeErrorsStream(this.gw.errorsLog);
  }

  // The callables are bound methods: a bound function is smaller than a closure and needs no context of its own.
  get pauseOutput(): PauseOutput {
    return this.pauseAppOutput.bind(this);
  }

  get inputHandler(): InputHandler {
    return this.setInputHandler.bind(this);
  }

  get flush(): () => void {
    return this.flushHead.bind(this);
  }

  get headersSent(): () => boolean {
    return this.areHeadersSent.bind(this);
  }

  private setInputHandler(input: unknown, onReadable: () => void): void {
    if (this.ws !== null && input === this.ws) this.ws.onReadable(onReadable);
    else this.input.setHandler(onReadable);
  }

  private areHeadersSent(): boolean {
    return this.starter.headersSent;
  }

  get urlScheme(): 'http' | 'https' | undefined {
    return this.gw.options.urlScheme;
  }

  // -- StreamingInputOptions: what wsgi.input asks of its gateway -------------

  /** Start the body's delivery into the input (on its first read or handler). */
  deliver(input: StreamingInput): void {
    this.request.deliverBody(input);
  }

  get clock(): IReactor {
    return this.reactor;
  }

  get highWater(): number {
    return this.gw.options.inputHighWater ?? INPUT_HIGH_WATER;
  }

  /** The app's `wsgi.input_handler` callback threw. */
  onHandlerError(err: unknown): void {
    this.fail(err);
  }

  /** `bufferInput`: the body did not arrive whole (too large: the server answered 413; or the client left). */
  private bodyFailed(failure: Failure): void {
    if (this.ended) return;
    this.gw.logger.info('request body not buffered; the app was not called', { failure });
    if (!this.request.finished && !this.request.disconnected && !this.request.startedWriting) {
      this.sendPlain(413, 'Payload Too Large', 'request body too large\n');
    }
    this.endResponse();
  }

  private run(): void {
    if (this.ended) return; // the client left before the app could start
    const environ = this.makeEnviron();
    this.request.registerProducer(this, true);
    let result: unknown;
    try {
      result = this.gw.app(environ, (this.startResponseFn = this.startResponse.bind(this)));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.result = result as AppIterable;
    try {
      if (isPlainArray(result)) this.list = result;
      else {
        this.iterator = iteratorOf(result);
        this.isAsync = isAsyncIterable(result);
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.endedUnwatched()) {
      this.closeIterable();
      return;
    }
    this.pump(true);
  }

  /** The app's `startResponse` (G1, G2, G9, G10: ResponseStarter checks), returning the `write()` callable. */
  private startResponse(status: string, headers: [string, string][], excInfo?: unknown): WriteFn {
    if (this.endedUnwatched() && excInfo === undefined)
      throw this.gone ? new ClientGoneError() : new ResponseEndedError();
    if (this.ws?.accepting)
      throw new InvalidAppResultError(
        'startResponse() after the WebSocket was accepted; an accepted WebSocket has no HTTP response: yield messages instead',
      );
    this.starter.start(status, headers, excInfo);
    return (this.write ??= this.writeChunk.bind(this));
  }

  /**
   * CheckedStartHost (checkedstart.ts): the head of a CPS app behind spindle's
   * bridge, checked by RequestCore's rules with the hop-by-hop names dropped
   * (G9, G10), taken as startResponse would take it, without the second check
   * and copy. Only through this response's own `startResponse`, for a first
   * head (G2), a status of 200-599 and at most one Content-Length value; false
   * otherwise (or for a status or reason set around RequestCore's checks), and the
   * bridge calls `startResponse` (which refuses what it must).
   */
  [CHECKED_START](
    startResponse: StartResponse,
    code: number,
    reason: string,
    names: readonly string[],
    values: readonly string[],
  ): boolean {
    if (startResponse !== this.startResponseFn || this.starter.started) return false;
    // A plain-JS app can assign request.code/codeMessage past TypeScript's readonly: what
    // startResponse would refuse goes to it.
    if (!Number.isInteger(code) || code < 200 || code > 599 || !isFieldValue(reason)) return false;
    if (this.ws !== null || this.endedUnwatched()) return false; // startResponse's own errors
    let contentLength: number | null = null;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name.length !== 14 || name.toLowerCase() !== 'content-length') continue;
      const n = parseContentLength(values[i]!);
      if (n === null || (contentLength !== null && n !== contentLength)) return false;
      contentLength = n;
    }
    this.starter.takeFields(code, reason, names, values, contentLength);
    return true;
  }

  private makeEnviron(): Environ {
    const environ = buildEnviron(this.request, this);
    // StreamingInputOptions: the body's length as the environ has it (the first field; the server refuses unequal repeats).
    const cl = environ.CONTENT_LENGTH;
    this.contentLength = cl === '' ? null : parseContentLength(cl);
    // HTTP_UPGRADE is there for every upgrade request: the full check runs only then.
    if (environ.HTTP_UPGRADE !== undefined && isWebSocketRequest(this.request)) {
      this.ws = new IterWebSocket({
        request: this.request,
        clock: this.reactor,
        responseStarted: () => this.starter.started,
        accepted: (t) => this.wsAccepted(t),
        refused: () => {
          this.endResponse();
          this.closeIterable();
        },
        lost: () => this.clientGone(),
      });
      environ['spindle.websocket'] = this.ws;
    }
    const mount = this.gw.options.mount;
    if (mount !== undefined) Object.assign(environ, mount(this.request));
    return environ;
  }

  // -- the pull loop ---------------------------------------------------------

  private canPull(): boolean {
    return (
      !this.endedUnwatched() &&
      (this.list !== null || this.iterator !== null) &&
      !this.awaiting &&
      !this.appPaused &&
      !this.transportPaused
    );
  }

  /** Pull while allowed, at most a turn's budget; iterative, guarded against re-entry. */
  private pump(newTurn: boolean): void {
    if (this.pumping) return;
    if (newTurn) {
      this.turnPulls = this.turnBytes = 0;
      this.turnStart = -1;
    }
    this.pumping = true;
    try {
      while (this.canPull()) {
        if (
          this.turnPulls >= (this.gw.options.pullsPerTurn ?? PULLS_PER_TURN) ||
          this.turnBytes >= (this.gw.options.bytesPerTurn ?? BYTES_PER_TURN) ||
          (this.turnPulls > 1 && this.clockDue() && this.turnTimeIsUp())
        ) {
          this.schedulePump();
          break;
        }
        this.turnPulls++;
        this.gw.stats.pulls++;
        if (this.isAsync) {
          this.pullAsync();
          break;
        }
        let done: boolean;
        let value: unknown;
        this.inNext = true;
        try {
          const list = this.list;
          if (list !== null) {
            done = this.index >= list.length; // read each time, as an array iterator does
            value = done ? undefined : list[this.index++];
          } else {
            const r = (this.iterator as Iterator<Chunk>).next();
            checkResult(r);
            done = !!r.done;
            value = r.value;
          }
        } catch (err) {
          this.inNext = false;
          this.fail(err);
          break;
        }
        this.inNext = false;
        if (this.endedUnwatched()) {
          this.closeIterable(); // an ending came while the app ran (G7: closed once it returned)
          break;
        }
        try {
          this.handleStep(done, value);
        } catch (err) {
          this.fail(err); // e.g. the server refused the head: the response ends, never the loop's caller
          break;
        }
      }
    } finally {
      this.pumping = false;
      this.updatePaused();
    }
  }

  /**
   * Read the clock after pull 2, 4, 8 ... 64 of a turn, then every 64th. The
   * first reading starts the turn's budget: a response of one chunk (a hello:
   * the chunk, then the end) never reads the clock, an app whose chunks are
   * slow is caught after a few of them, a fast one pays ~21 reads per 1024 pulls.
   */
  private clockDue(): boolean {
    const n = this.turnPulls;
    return (n & (n - 1)) === 0 || n % PULLS_PER_CLOCK_READ === 0;
  }

  /** The turn's time budget is spent (the first reading of a turn only starts it). */
  private turnTimeIsUp(): boolean {
    const now = this.reactor.seconds();
    if (this.turnStart < 0) {
      this.turnStart = now;
      return false;
    }
    return now - this.turnStart >= (this.gw.options.secondsPerTurn ?? SECONDS_PER_TURN);
  }

  private pullAsync(): void {
    this.awaiting = true;
    let p: Promise<IteratorResult<Chunk>>;
    try {
      p = Promise.resolve((this.iterator as AsyncIterator<Chunk>).next());
    } catch (err) {
      this.awaiting = false;
      this.fail(err);
      return;
    }
    p.then(
      (r) => {
        this.awaiting = false;
        if (this.ended) return;
        try {
          checkResult(r);
          this.handleStep(!!r.done, r.value);
          this.pump(false);
        } catch (err) {
          this.fail(err); // never an unhandled rejection: a failure here ends the response
        }
      },
      (err: unknown) => {
        this.awaiting = false;
        this.fail(err);
      },
    );
  }

  private schedulePump(): void {
    if (this.scheduled || this.ended) return;
    this.scheduled = this.reactor.callLater(0, () => {
      this.scheduled = null;
      this.pump(true);
    });
  }

  /** One step of the iterable: its end, or a value to check and send. */
  private handleStep(done: boolean, value: unknown): void {
    if (done) {
      this.complete();
      return;
    }
    let chunk: Chunk;
    try {
      chunk = checkChunk(value, "the app's iterable");
    } catch (err) {
      this.fail(err);
      return;
    }
    // G4: an empty chunk is a yield point, never a wire chunk and never a header flush.
    if (chunk.length === 0) return;
    if (this.ws?.accepting) {
      // One chunk, one message (text for a string, binary for bytes), as the socket takes them (G5, G6).
      this.turnBytes += chunk.length;
      this.ws.transport?.sendMessage(chunk);
      return;
    }
    if (!this.starter.started) {
      this.fail(new BodyBeforeStartResponseError('a chunk yielded by the iterable')); // G1
      return;
    }
    this.sendBody(chunk); // G6: each chunk goes to the transport as it comes
  }

  /** The WebSocket is open: the gateway is now the socket's producer (the request's ended with the 101). */
  private wsAccepted(transport: IWebSocketTransport): void {
    transport.registerProducer(this, true);
  }

  // -- output ----------------------------------------------------------------

  /** G3: status and headers go out with the first body byte, flush, or the end. */
  private sendHeaders(): void {
    if (this.starter.headersSent) return;
    // spindle's own requests hold the head since startResponse (checked once, by the server's rules); others get it now.
    const headers = this.starter.headers;
    if (headers !== null) {
      const request = this.request;
      request.setResponseCode(this.starter.code, this.starter.reason);
      for (let i = 0; i < headers.length; i++) request.addHeader(headers[i]![0], headers[i]![1]);
    }
    this.starter.headersSent = true;
  }

  /** Hand a non-empty chunk to the request. A string goes as is (the server encodes it) unless Content-Length needs counting. */
  private sendBody(chunk: Chunk): void {
    this.sendHeaders();
    const cl = this.starter.contentLength;
    if (cl === null) {
      this.turnBytes += chunk.length; // string length: close enough for the per-turn budget
      this.request.write(chunk);
      return;
    }
    let bytes = typeof chunk === 'string' ? utf8.encode(chunk) : chunk;
    // G8: bytes past Content-Length are cut and the iteration stops.
    if (this.sent + bytes.length > cl) bytes = bytes.subarray(0, cl - this.sent);
    if (bytes.length > 0) {
      this.sent += bytes.length;
      this.turnBytes += bytes.length;
      this.request.write(bytes);
    }
    if (this.sent >= cl && !this.ended) this.complete();
  }

  /** The `write()` callable (G12): ordered before later items, bounded while the client is not reading. */
  private writeChunk(chunk: Chunk): void {
    if (this.endedUnwatched()) throw this.gone ? new ClientGoneError() : new ResponseEndedError();
    checkChunk(chunk, 'write()');
    if (chunk.length === 0) return; // G4
    if (!this.starter.started) throw new BodyBeforeStartResponseError('write()');
    if (this.transportPaused) {
      const limit = this.gw.options.writeBufferLimit ?? WRITE_BUFFER_LIMIT;
      const size = typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length;
      if (this.writeBuffered + size > limit) throw new WriteBufferOverflowError(limit, this.writeBuffered + size);
      this.writeBuffered += size;
      this.gw.stats.writeBuffered += size;
    }
    this.sendBody(chunk);
  }

  private flushHead(): void {
    if (this.endedUnwatched()) return;
    if (!this.starter.started) throw new BodyBeforeStartResponseError('x-wsgiorg.flush()');
    this.sendHeaders();
    if (!this.request.startedWriting) this.request.flushHeaders();
  }

  // -- pause (G13) and transport flow control (G5) ---------------------------

  private pauseAppOutput(): () => void {
    if (this.endedUnwatched()) return () => {};
    this.appPaused = true;
    this.updatePaused();
    let used = false;
    // One-shot; a stale resume may wake the app spuriously (harmless: it pauses
    // again) but never loses a wake-up. Never re-enters the app: pump is scheduled.
    return () => {
      if (used) return;
      used = true;
      if (!this.appPaused || this.ended) return;
      this.appPaused = false;
      this.updatePaused();
      this.schedulePump();
    };
  }

  pauseProducing(): void {
    this.transportPaused = true;
    this.updatePaused();
  }

  resumeProducing(): void {
    this.transportPaused = false;
    this.gw.stats.writeBuffered -= this.writeBuffered; // the transport drained what write() gave it
    this.writeBuffered = 0;
    this.updatePaused();
    if (!this.ended) this.pump(true);
  }

  /** The consumer (connection) is gone for good. */
  stopProducing(): void {
    this.clientGone();
  }

  private updatePaused(): void {
    const paused = !this.ended && (this.appPaused || this.transportPaused);
    if (paused !== this.countedPaused) {
      this.gw.stats.pausedResponses += paused ? 1 : -1;
      this.countedPaused = paused;
    }
  }

  // -- endings (G7, G8, G14) -------------------------------------------------

  /** The iterable ended, or Content-Length was reached. */
  private complete(): void {
    if (this.ended) return;
    if (this.ws?.accepting) {
      const ws = this.ws;
      this.endResponse();
      this.settle(() => ws.close());
      return;
    }
    if (!this.starter.started) {
      this.fail(new BodyBeforeStartResponseError('the end of the iterable'));
      return;
    }
    this.sendHeaders();
    const cl = this.starter.contentLength;
    const short = cl !== null && this.sent < cl && !responseHasNoBody(this.request.method, this.starter.code);
    this.endResponse();
    // settle() without its closure (this runs once per response): finish, and close the iterable whatever happens (G7).
    try {
      if (short) {
        // G8: too few bytes. Framing is broken: close the connection, log.
        this.gw.logger.failure(
          'response shorter than its Content-Length',
          new ContentLengthMismatchError(cl, this.sent),
          'error',
        );
        this.request.abort();
      } else {
        this.request.finish();
      }
    } catch (err) {
      this.gw.logger.failure('ending the response failed', err, 'error');
    } finally {
      this.closeIterable();
    }
  }

  /** The app failed: 500 before the headers went out (logged), abort after. */
  private fail(err: unknown): void {
    if (this.ended) {
      this.gw.logger.failure('iterator app failed after its response ended', err, 'warn');
      return;
    }
    this.gw.stats.appErrors++;
    this.gw.logger.failure(`iterator app failed: ${this.request.method} ${this.request.uri}`, err, 'error');
    const headersOut = this.starter.headersSent || this.request.startedWriting;
    this.endResponse();
    const ws = this.ws;
    if (ws?.accepting) {
      // §7.4.1: 1011, the server met a condition that kept it from going on.
      this.settle(() => ws.transport?.close(1011, 'internal error'));
      return;
    }
    this.settle(() => {
      if (!headersOut) this.sendPlain(500, 'Internal Server Error', 'Internal Server Error\n');
      else this.request.abort();
    });
  }

  /** The reactor is shutting down with this response still running: cut it, close the iterable. */
  shutdown(): void {
    if (this.ended) return;
    this.gw.logger.warn(`response to ${this.request.method} ${this.request.uri} cut short by reactor shutdown`);
    this.endResponse();
    const ws = this.ws;
    if (ws?.accepting) {
      this.settle(() => ws.transport?.abortConnection());
      return;
    }
    this.settle(() => this.request.abort());
  }

  /** Finish the ended response with `last` (finish, abort, a 500); whatever it throws, close the iterable (G7). */
  private settle(last: () => void): void {
    try {
      last();
    } catch (err) {
      this.gw.logger.failure('ending the response failed', err, 'error');
    } finally {
      this.closeIterable();
    }
  }

  private clientGone(): void {
    if (this.ended) return;
    this.gone = true;
    this.endResponse();
    this.closeIterable();
  }

  private sendPlain(code: number, reason: string, body: string): void {
    const bytes = utf8.encode(body);
    this.starter.withdraw(); // the app's head, if the request holds it already, does not go out with this answer
    this.request.setResponseCode(code, reason);
    this.request.setHeader('Content-Type', 'text/plain; charset=utf-8');
    this.request.setHeader('Content-Length', String(bytes.length));
    this.request.write(bytes);
    this.request.finish();
  }

  private endResponse(): void {
    if (this.ended) return;
    this.ended = true;
    this.liveList.delete(this);
    this.gw.stats.activeResponses--;
    this.gw.stats.writeBuffered -= this.writeBuffered;
    this.writeBuffered = 0;
    this.updatePaused();
    if (this.scheduled) {
      this.scheduled.cancel();
      this.scheduled = null;
    }
    this.request.unregisterProducer();
    this.input?.stop();
    this.ws?.stop();
  }

  /** G7: `close()` if the iterable has one, else the iterator's `return()`; exactly once. */
  private closeIterable(): void {
    // An app that returned undefined or null (already reported as InvalidAppResultError) has nothing to close.
    if (this.closed || this.result === null || this.result === undefined || this.inNext) return;
    this.closed = true;
    const result = this.result as { close?: unknown };
    try {
      if (typeof result.close === 'function') {
        (result.close as () => unknown).call(result);
      } else if (this.iterator && typeof this.iterator.return === 'function') {
        const r = this.iterator.return();
        if (this.isAsync)
          Promise.resolve(r).catch((err: unknown) => this.gw.logger.failure('iterator return() failed', err, 'error'));
      }
    } catch (err) {
      this.gw.logger.failure("the app iterable's close() failed", err, 'error');
    }
  }
}

/**
 * spindle's server says the request has no body: its head's body length is 0
 * (no Content-Length, or 0, and not chunked; RFC 9112 §6.3). Other hosts (a
 * Fetch request may stream a body without either field) always get a
 * streaming input.
 */
function hasNoBody(request: IRequest): boolean {
  const head = (request as { head?: { contentLength?: unknown } }).head;
  return head !== undefined && head !== null && head.contentLength === 0;
}

/** What `next()` returned must be an object ({ value, done }); throws InvalidAppResultError. */
function checkResult(r: unknown): asserts r is IteratorResult<Chunk> {
  if (typeof r !== 'object' || r === null)
    throw new InvalidAppResultError(`the app's iterator returned ${String(r)} from next(); expected { value, done }`);
}

const arrayIterator = Array.prototype[Symbol.iterator];

/** An array iterated the standard way (not a subclass or an array given its own iterator). */
function isPlainArray(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && (v as unknown[])[Symbol.iterator] === arrayIterator;
}

function isAsyncIterable(v: unknown): boolean {
  return typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** The iterator of what the app returned; a clear TypeError-like error for a string or bytes. */
function iteratorOf(result: unknown): AnyIterator {
  if (typeof result === 'string') {
    throw new InvalidAppResultError(
      'the app returned a string; return an iterable of chunks, e.g. [body], so the body is not sent one character at a time',
    );
  }
  if (result instanceof Uint8Array) {
    throw new InvalidAppResultError('the app returned a Uint8Array; return an iterable of chunks, e.g. [bytes]');
  }
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as PromiseLike<unknown>).then === 'function' &&
    !isAsyncIterable(result)
  ) {
    // Handled here: its rejection (the app failing on an environ it took for a
    // Request) would otherwise be unhandled and end the whole process.
    (result as PromiseLike<unknown>).then(undefined, () => undefined);
    throw new InvalidAppResultError(
      'the app returned a Promise; an iterator app returns an iterable of chunks. An async function (request) => ... is a Fetch handler ' +
        "(style 'fetch') or a CPS app (style 'cps'); an iterator app that awaits is an async generator: async function* (environ, startResponse)",
    );
  }
  if (result !== null && typeof result === 'object') {
    if (isAsyncIterable(result)) return (result as AsyncIterable<Chunk>)[Symbol.asyncIterator]();
    const it = (result as { [Symbol.iterator]?: unknown })[Symbol.iterator];
    if (typeof it === 'function') return (it as () => Iterator<Chunk>).call(result);
  }
  throw new InvalidAppResultError(
    `the app returned ${result === null ? 'null' : typeof result}; an iterator app returns an Iterable or AsyncIterable of chunks`,
  );
}
