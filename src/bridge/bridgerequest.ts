/**
 * `BridgeRequest`: the `IRequest` a CPS app sees when it runs on a host that is
 * not spindle's HTTP server (an iterator gateway, a Fetch handler, node:http).
 *
 * This base keeps the response state every such host shares (status, headers,
 * the registered producer, `notifyFinish`, the end and the disconnect) and the
 * request body plumbing (`deliverBody`, `readBody`). A subclass says where the
 * body comes from (`openBody`) and where the response goes (`send*`), and tells
 * the base about flow control (`outputPaused` / `outputResumed`), demand for a
 * pull producer (`wantMore`), the clean end (`responseCompleted`) and the
 * client going away (`connectionLost`). Each of these runs at most as often as
 * the contract says: the producer sees balanced pause/resume and one
 * `stopProducing`; `notifyFinish()` Deferreds fire once.
 *
 * One piece on purpose: the output state (the phase, finished,
 * disconnected) and the producer bookkeeping guard each other; splitting
 * them would spread one state machine over several files.
 */
import { Deferred } from '../reactor/deferred.js';
import { ConnectionLost } from '../reactor/errors.js';
import type { IAddress, IProducer, IProtocol, IPushProducer, IReactor } from '../reactor/interfaces.js';
import { Logger } from '../reactor/log.js';
import { BodyAlreadyConsumedError, RequestFinishedError } from '../protocols/http/errors.js';
import { bodyBytes, RequestCore } from '../protocols/http/requestcore.js';
import type { IHeaders, IRequest, ReadBodyOptions } from '../protocols/http/interfaces.js';
import { asConnectionLost, deliverBodyTo, readBodyFrom, type BodyControl, type BodySink } from './bridgebody.js';

/** The body a CPS failure before the headers gets (as spindle's HTTP server answers it). */
export const INTERNAL_ERROR_BODY = 'Internal Server Error\n';

export const appLog = new Logger('spindle.bridge');

/** Default `readBody()` limit on a bridged request (the HTTP server's own limit applies on spindle's server). */
export const BRIDGE_READ_BODY_LIMIT = 8 * 1024 * 1024;

/**
 * How far a bridged response got, in the words of spindle's server
 * (`ResponsePhase`, request.ts) where they apply:
 * - 'open': nothing written; status and headers may still change;
 * - 'streaming': the head went to the host (which may still hold it: a
 *   gateway waits for the first chunk it pulls); body writes follow it;
 * - 'complete': the host took the whole response (`responseCompleted`);
 * - 'upgraded': the connection switched protocols (a WebSocket took it).
 * The server's 'head-held' and 'server-answered' have no counterpart (a host
 * holds bytes itself; a bridged 500 is written as the app's response would
 * be), nor has 'aborted': `abort()` ends a bridged response as the client
 * leaving does (`disconnected`, RequestCore), in whatever phase it was.
 */
export type BridgePhase = 'open' | 'streaming' | 'complete' | 'upgraded';

export interface BridgeRequestInit {
  method: string;
  /** The request target; omitted, `path` and `query` must be given and it is `path?query` when read. */
  uri?: string;
  /** With `query`, instead of splitting `uri` (a host that has them apart already). */
  path?: string;
  query?: string;
  version: string;
  /** The request headers; omitted, `buildHeaders()` makes them on first use (most apps never look). */
  headers?: IHeaders;
  /** The addresses; omitted, `buildAddresses()` makes them on first use (most apps never look either). */
  client?: IAddress;
  host?: IAddress;
  reactor: IReactor;
  secure: boolean;
  /** Default `readBody()` limit; undefined: BRIDGE_READ_BODY_LIMIT. */
  readBodyLimit?: number | undefined;
}

export abstract class BridgeRequest extends RequestCore implements IRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly version: string;
  readonly reactor: IReactor;
  readonly secure: boolean;
  /** How far the response got (see BridgePhase). */
  phase: BridgePhase = 'open';
  /**
   * The host cannot take more output: the one pause reason a bridged host has
   * (spindle's channel keeps a set, `pausedFor`; the others are its own).
   */
  private paused = false;
  /** The body was handed to deliverBody or readBody (input side: not the response's phase). */
  private bodyTaken = false;
  /** flushHeaders() asked the host for the head once (in 'streaming' the host may still hold it). */
  private flushed = false;
  private readonly readBodyLimit: number;
  private headerView: IHeaders | undefined;
  private target: string | undefined;
  private clientAddress: IAddress | undefined;
  private hostAddress: IAddress | undefined;

  constructor(init: BridgeRequestInit) {
    super();
    this.method = init.method;
    const uri = init.uri;
    this.target = uri;
    if (uri === undefined) {
      this.path = init.path!;
      this.query = init.query!;
    } else {
      const q = uri.indexOf('?');
      this.path = q < 0 ? uri : uri.slice(0, q);
      this.query = q < 0 ? '' : uri.slice(q + 1);
    }
    this.version = init.version;
    this.headerView = init.headers;
    this.clientAddress = init.client;
    this.hostAddress = init.host;
    this.reactor = init.reactor;
    this.secure = init.secure;
    this.readBodyLimit = init.readBodyLimit ?? BRIDGE_READ_BODY_LIMIT;
  }

  isSecure(): boolean {
    return this.secure;
  }

  /** The head went to the host (IRequest.startedWriting). */
  get startedWriting(): boolean {
    return this.phase !== 'open';
  }

  /** The response was completely handed to the host (or the connection switched protocols). */
  get completed(): boolean {
    return this.phase === 'complete' || this.phase === 'upgraded';
  }

  get headers(): IHeaders {
    return (this.headerView ??= this.buildHeaders());
  }

  /** The request target as sent (`path?query` when the host gave them apart). */
  get uri(): string {
    return (this.target ??= this.query === '' ? this.path : `${this.path}?${this.query}`);
  }

  get client(): IAddress {
    if (this.clientAddress === undefined) this.fillAddresses();
    return this.clientAddress!;
  }

  get host(): IAddress {
    if (this.hostAddress === undefined) this.fillAddresses();
    return this.hostAddress!;
  }

  private fillAddresses(): void {
    const { client, host } = this.buildAddresses();
    this.clientAddress ??= client;
    this.hostAddress ??= host;
  }

  /** Build the headers when they were not given to the constructor. */
  protected buildHeaders(): IHeaders {
    throw new TypeError('BridgeRequest: pass init.headers or override buildHeaders()');
  }

  /** Build the addresses when they were not given to the constructor. */
  protected buildAddresses(): { client: IAddress; host: IAddress } {
    throw new TypeError('BridgeRequest: pass init.client and init.host or override buildAddresses()');
  }

  // ------------------------------------------------------------ subclass hooks
  /** Start the body: feed `sink`; return how to pause, resume and stop the feed. */
  protected abstract openBody(sink: BodySink): BodyControl;
  /** The head, as the request's own header lists (read them now, keep no reference: a copy is the host's to make). */
  protected abstract sendHead(code: number, phrase: string, names: readonly string[], values: readonly string[]): void;
  protected abstract sendData(chunk: Uint8Array): void;
  protected abstract sendFlush(): void;
  protected abstract sendEnd(): void;
  /** Tear the response down at once (a failure after the head went out). */
  protected abstract sendAbort(): void;

  /** The host cannot take more now: pause a registered push producer. */
  protected outputPaused(): void {
    if (this.paused) return;
    this.paused = true;
    if (this.producer && this.streaming) (this.producer as IPushProducer).pauseProducing();
  }

  /** The host can take more again: resume it. */
  protected outputResumed(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.producer && this.streaming) this.producer.resumeProducing();
  }

  /** The host wants data now: ask a pull producer for some. True if there is one. */
  protected wantMore(): boolean {
    if (!this.producer || this.streaming) return false;
    this.producer.resumeProducing();
    return true;
  }

  /** Everything was handed to the client: notifyFinish() fires. */
  protected responseCompleted(): void {
    if (this.completed || this.disconnected) return;
    this.phase = 'complete';
    this.settleFinished();
  }

  /**
   * The connection switched protocols (a WebSocket took it, RFC 9110 §7.8):
   * the HTTP response is over and complete; a producer registered for it is
   * released (its new consumer is the WebSocket).
   */
  protected switchedProtocols(): void {
    this.code = 101;
    this.codeMessage = 'Switching Protocols';
    this.finished = true;
    this.producer = null;
    if (!this.completed) this.phase = 'upgraded';
    this.settleFinished(); // once; nothing when the client left first (notifyFinish errbacked)
  }

  /** The client went away before the end: stop the producer, errback notifyFinish() (G14). */
  connectionLost(reason: unknown = new ConnectionLost('the client went away before the response ended')): void {
    if (this.completed || this.disconnected) return;
    this.disconnected = true;
    this.stopProducer();
    this.settleLost(asConnectionLost(reason, String((reason as Error)?.message ?? reason)));
  }

  // --------------------------------------------------------------------- input
  deliverBody(protocol: IProtocol): void {
    this.takeBody();
    deliverBodyTo(this, protocol, (sink) => this.openBody(sink));
  }

  readBody(options: ReadBodyOptions = {}): Deferred<Uint8Array> {
    this.takeBody();
    const limit = options.limit ?? this.readBodyLimit;
    return readBodyFrom(
      this,
      limit,
      (sink) => this.openBody(sink),
      () => {
        // RFC 9110 section 15.5.14: the client is told why, if the response has not started.
        if (this.startedWriting || this.finished || this.disconnected) return;
        this.setResponseCode(413);
        this.setHeader('Content-Type', 'text/plain; charset=utf-8');
        this.write('request body too large\n');
        this.finish();
      },
    );
  }

  private takeBody(): void {
    if (this.bodyTaken) throw new BodyAlreadyConsumedError();
    this.bodyTaken = true;
  }

  // -------------------------------------------------------------------- output
  write(data: Uint8Array | string): void {
    if (this.finished) throw new RequestFinishedError('write()');
    if (this.disconnected) return;
    const bytes = bodyBytes(data);
    if (bytes.length === 0) return;
    this.startHead();
    this.sendData(bytes);
  }

  flushHeaders(): void {
    // After a write the head may still be held by the host (a gateway waits for
    // the first chunk it pulls): the flush still asks for it now, once.
    if (this.finished || this.disconnected || this.flushed) return;
    this.flushed = true;
    this.startHead();
    this.sendFlush();
  }

  finish(): void {
    if (this.finished) throw new RequestFinishedError('finish()');
    this.finished = true;
    if (this.disconnected) return;
    this.startHead();
    this.sendEnd();
  }

  abort(): void {
    if (this.completed || this.disconnected) return;
    this.finished = true;
    this.sendAbort();
    this.connectionLost(new ConnectionLost('the response was aborted'));
  }

  registerProducer(producer: IProducer, streaming: boolean): void {
    if (!this.claimProducer(producer, streaming, this.disconnected)) return;
    if (streaming && this.paused) (producer as IPushProducer).pauseProducing();
    this.producerRegistered(streaming);
  }

  /**
   * The CPS app failed (threw, or its Deferred/Promise failed). Before the
   * head went out the client gets a 500; after, the response is aborted so
   * the client sees a truncated one rather than a silently short one.
   */
  appFailed(error: unknown): void {
    if (this.completed || this.disconnected) {
      appLog.failure('CPS app failed after its response ended', error, 'error');
      return;
    }
    if (this.startedWriting) {
      appLog.failure('CPS app failed after the response started; aborting it', error, 'error');
      this.abort();
      return;
    }
    appLog.failure('CPS app failed before the response started; answering 500', error, 'error');
    this.finished = false;
    this.resetHead(500, 'text/plain; charset=utf-8');
    this.write(INTERNAL_ERROR_BODY);
    this.finish();
  }

  /** A subclass hook: a producer came (a pull host may want to ask it for data now). */
  protected producerRegistered(_streaming: boolean): void {}

  unregisterProducer(): void {
    this.producer = null;
  }

  private startHead(): void {
    if (this.phase !== 'open') return;
    this.phase = 'streaming';
    this.locked = true;
    this.sendHead(this.code, this.codeMessage, this.names, this.values);
  }
}
