/**
 * `Request`: one HTTP request and its response (IRequest, Twisted.web style).
 * The input side lives in requestbody.ts, the head and framing rules in
 * framing.ts; this file is the response's life: status, headers, writes,
 * producers, failures, and the hand-off to the channel.
 *
 * The response's state is one `phase` (ResponsePhase below); the reasons to
 * hold back output are the channel's one set (`HTTPChannel.pausedFor`), whose
 * 'output' pause the channel passes through to this request's producer.
 *
 * Coalescing: while the app runs synchronously inside the channel, the first
 * body bytes are held (up to MAX_COALESCE_BYTES; phase 'head-held') instead of
 * being framed at once. If the app finishes before the channel regains
 * control, the head, an exact Content-Length and the body leave as one
 * transport write; otherwise the held bytes go out chunked when the app
 * returns. Nothing reaches the socket later than it would have without the hold.
 */
import { resolveForwarded, type ForwardedFor, type TrustedProxies } from './forwarded.js';
import { Buffer } from 'node:buffer';
import { Deferred } from '../../reactor/deferred.js';
import { ConnectionLost } from '../../reactor/errors.js';
import type { IAddress, IProducer, IProtocol, IPushProducer, IReactor } from '../../reactor/interfaces.js';
import type { Logger } from '../../reactor/log.js';
import type { DateCache } from './date.js';
import type { HeadCache } from './headcache.js';
import {
  assemble,
  CHUNKED,
  chunkFrame,
  chunkSizeLine,
  CLOSE,
  FRAME_COPY_BYTES,
  LAST_CHUNK,
  LENGTH,
  NONE,
} from './framing.js';
import { RequestFinishedError, UpgradeError } from './errors.js';
import type { Headers } from './headers.js';
import type { RequestHead } from './head.js';
import type { CpsApp, IHeaders, IRequest, ReadBodyOptions } from './interfaces.js';
import { MAX_COALESCE_BYTES, type HTTPStats } from './options.js';
import { bodyBytes, RequestCore } from './requestcore.js';
import { RequestBody, type BodyHost } from './requestbody.js';

/** What a request needs from its connection. */
export interface RequestHost extends BodyHost {
  readonly reactor: IReactor;
  readonly server: ServerContext;
  /** The connection is TLS (`ITLSTransport.secure`). */
  readonly secure: boolean;
  /** The reactor's clock: one reading per synchronous pass of the channel (see HTTPChannel.now). */
  now(): number;
  /** True while the channel is running app code synchronously and collecting output. */
  readonly corked: boolean;
  /** The transport is past its high-water mark: a producer registered now starts paused (pull: not pulled). */
  readonly outputPaused: boolean;
  /** Bytes the channel and its transport hold, not yet handed to the kernel; undefined if the transport cannot tell. */
  readonly unsentBytes: number | undefined;
  send(data: Uint8Array): void;
  /** `request`'s head is about to be sent: remember where its bytes start in what is still held. */
  markResponse(request: Request): void;
  /** Take back everything `request` sent, if none of it has reached the transport yet. */
  retract(request: Request): boolean;
  /** May the connection carry another request, as far as the input side knows? */
  canPersist(request: Request): boolean;
  /** `request` registered a producer: the transport's pause (push) or pull now passes through to it. */
  producerRegistered(request: Request, streaming: boolean): void;
  /** `request`'s producer left: the channel takes the transport's pause itself again. */
  producerUnregistered(request: Request): void;
  /** The response was completely handed over; `persist` false closes the connection after it. */
  responseDone(request: Request, persist: boolean): void;
  abortConnection(): void;
  /** Write `head` (the 101), then give the connection's transport and the bytes read past the head to `protocol`. */
  upgrade(request: Request, head: Uint8Array, protocol: IProtocol): void;
}

/** Shared per server (one per HTTPFactory). */
export interface ServerContext {
  readonly app: CpsApp;
  readonly dates: DateCache;
  /** The last response head built, reused while responses repeat it (headcache.ts). */
  readonly heads: HeadCache;
  readonly serverName: string | undefined;
  readonly maxBodyBytes: number;
  readonly log: Logger;
  readonly stats: HTTPStats;
  /** Proxies whose forwarding headers are believed (`trustedProxies`); null: none. */
  readonly trustedProxies: TrustedProxies | null;
}

const CRLF = Buffer.from('\r\n');

/**
 * How far the server got with a response (one value instead of a flag each):
 * - 'open': nothing written; status and headers may still change;
 * - 'head-held': the first body bytes wait in the request while the channel
 *   drives the app (coalescing); status and headers are fixed;
 * - 'streaming': the head left for the channel; body writes are framed as they come;
 * - 'complete': finish(): the whole response was handed to the channel;
 * - 'server-answered': the server answered in the app's place (500, 413, 408,
 *   400) and closes; later app writes and finish() are dropped, not thrown;
 * - 'upgraded': the 101 went out; the connection belongs to another protocol;
 * - 'aborted': the connection was dropped (the head had left, so no 500 could).
 * The client leaving is `disconnected` (RequestCore, as on every host): it can
 * happen in any phase, which then tells how far the response had got.
 */
/**
 * How far the request's input got (one value instead of `inputDone` and `sent100`):
 * - 'unread': the app has not asked for the body; with `Expect: 100-continue`
 *   a `100 Continue` is still due (and the connection cannot be kept if the
 *   app answers without reading: RFC 9110 §10.1.1);
 * - 'reading': the app asked for the body (the 100 went out if one was due);
 * - 'done': the whole body was parsed; the next pipelined request may follow.
 * 'unread' goes to 'done' directly for a body that is all there before the
 * app asks (a request without one); a 100 is then no longer due (§10.1.1).
 */
export type InputPhase = 'unread' | 'reading' | 'done';

export type ResponsePhase =
  'open' | 'head-held' | 'streaming' | 'complete' | 'server-answered' | 'upgraded' | 'aborted';

export class Request extends RequestCore implements IRequest {
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  readonly headers: IHeaders;
  /** What a trusted proxy's headers say (undefined: not looked at yet; null: nothing applies). */
  private forwardedFor: ForwardedFor | null | undefined = undefined;
  /** The body's state, made when first needed (a request without a body usually never needs it). */
  private bodyState: RequestBody | null = null;
  /** Trailer fields of a chunked body, once it ended. */
  trailers: Headers | null = null;

  /**
   * How far the input side of this request's cycle got (see InputPhase; the
   * channel moves it: the connection's own state, parsing, pipelining, output
   * and timeouts, stays there).
   */
  input: InputPhase = 'unread';

  /** How far the response got (see ResponsePhase). */
  phase: ResponsePhase = 'open';
  /** Response body bytes handed to the transport (after framing decisions, before chunk framing). */
  bytesSent = 0;
  /** Body bytes the app wrote past its Content-Length and the server cut (logged when the first are). */
  bytesCut = 0;

  private framing = NONE;
  private lengthOut = -1;
  private keepAlive = false;
  /** The body bytes held in phase 'head-held', and how many. */
  private held: Uint8Array[] | null = null;
  private heldBytes = 0;
  constructor(
    private readonly channel: RequestHost,
    readonly head: RequestHead,
  ) {
    super();
    this.method = head.method;
    this.uri = head.target;
    this.version = head.version;
    this.headers = head.headers;
  }

  /** The input half (requestbody.ts). */
  get body(): RequestBody {
    return (this.bodyState ??= new RequestBody(this.channel, this.head.contentLength));
  }

  /**
   * The parser reported the end of the body. A request declared without one whose
   * body nobody asked for has nothing to end: its body would start complete.
   */
  bodyEnded(): void {
    if (this.bodyState !== null || this.head.contentLength !== 0) this.body.onEnd();
  }

  get path(): string {
    let u = this.uri;
    if (u.charCodeAt(0) !== 0x2f && u !== '*') {
      // absolute-form: drop scheme and authority (RFC 9112 §3.2.2).
      const start = u.indexOf('/', u.indexOf('//') + 2);
      u = start === -1 ? '/' : u.slice(start);
    }
    const q = u.indexOf('?');
    return q === -1 ? u : u.slice(0, q);
  }

  get query(): string {
    const q = this.uri.indexOf('?');
    return q === -1 ? '' : this.uri.slice(q + 1);
  }

  /** The client: the peer, or behind a trusted proxy the right-most untrusted hop of `Forwarded` / `X-Forwarded-For`. */
  get client(): IAddress {
    return this.forwarding()?.client ?? this.channel.getPeer();
  }

  /**
   * True when the connection is TLS (the transport finished a handshake), or,
   * behind a trusted proxy, when it says the client used https (`Forwarded:
   * proto`, `X-Forwarded-Proto`).
   */
  get secure(): boolean {
    const scheme = this.forwarding()?.scheme;
    return scheme === undefined ? this.channel.secure : scheme === 'https';
  }

  isSecure(): boolean {
    return this.secure;
  }

  private forwarding(): ForwardedFor | null {
    if (this.forwardedFor === undefined) {
      const trusted = this.channel.server.trustedProxies;
      this.forwardedFor = trusted === null ? null : resolveForwarded(this.channel.getPeer(), this.headers, trusted);
    }
    return this.forwardedFor;
  }

  get host(): IAddress {
    return this.channel.getHost();
  }

  get reactor(): IReactor {
    return this.channel.reactor;
  }

  // ------------------------------------------------------------------ input

  deliverBody(protocol: IProtocol): void {
    this.body.deliver(protocol);
  }

  readBody(options: ReadBodyOptions = {}): Deferred<Uint8Array> {
    return this.body.read(options.limit ?? this.channel.server.maxBodyBytes);
  }

  // ------------------------------------------------------------------ output

  /** The client left, or the response was aborted: output goes nowhere. */
  private get gone(): boolean {
    return this.disconnected || this.phase === 'aborted';
  }

  /** The response was completely handed to the connection (finish(), or the server's own answer). */
  get responded(): boolean {
    return this.phase === 'complete' || this.phase === 'server-answered';
  }

  get unsentBytes(): number | undefined {
    const below = this.channel.unsentBytes;
    return below === undefined || this.held === null ? below : below + this.heldBytes;
  }

  write(data: Uint8Array | string): void {
    if (this.finished) {
      if (this.phase === 'server-answered' || this.gone) return;
      throw new RequestFinishedError('write()');
    }
    if (this.gone) return;
    const bytes = bodyBytes(data);
    if (bytes.length === 0) return;
    if (this.phase === 'streaming') this.sendBody(bytes);
    else if (this.phase === 'head-held') {
      this.held!.push(bytes);
      this.heldBytes += bytes.length;
      if (this.heldBytes > MAX_COALESCE_BYTES) this.flushHeld();
    } else {
      this.locked = true;
      if (this.channel.corked && bytes.length <= MAX_COALESCE_BYTES) {
        this.phase = 'head-held';
        this.held = [bytes];
        this.heldBytes = bytes.length;
      } else this.sendHead(-1, [bytes], bytes.length, false);
    }
  }

  flushHeaders(): void {
    if (this.finished || this.gone) return;
    if (this.phase === 'head-held') return this.flushHeld();
    if (this.phase !== 'open') return;
    this.locked = true;
    this.sendHead(-1, [], 0, false);
  }

  /** Send held bytes with streaming framing (the app did not finish synchronously); the channel calls it as it uncorks. */
  flushHeld(): void {
    if (this.phase !== 'head-held') return;
    const held = this.held!;
    this.held = null;
    this.sendHead(-1, held, this.heldBytes, false);
  }

  finish(): void {
    if (this.finished) {
      if (this.phase === 'server-answered') return;
      throw new RequestFinishedError('finish()');
    }
    this.finished = true;
    if (this.gone) return;
    let complete = true;
    if (this.phase !== 'streaming') {
      const held = this.held ?? [];
      this.held = null;
      this.locked = true;
      this.sendHead(this.heldBytes, held, this.heldBytes, true);
    } else if (this.framing === CHUNKED) this.channel.send(Buffer.from(LAST_CHUNK, 'latin1'));
    this.phase = 'complete';
    if (this.framing === LENGTH && this.bytesSent < this.lengthOut) {
      // The app promised more than it wrote: the client cannot find the end, so the connection must go.
      this.channel.server.log.error(
        `response to ${this.method} ${this.uri} ended after ${this.bytesSent} of its ${this.lengthOut} Content-Length bytes; closing the connection`,
      );
      complete = false;
    }
    if (this.producer !== null) this.unregisterProducer();
    this.settleFinished();
    this.channel.responseDone(this, this.keepAlive && complete);
  }

  private sendHead(knownLength: number, body: Uint8Array[], bodyLength: number, end: boolean): void {
    this.phase = 'streaming';
    this.channel.markResponse(this);
    const ctx = this.channel.server;
    const heads = ctx.heads;
    const head = heads.head(
      this.method,
      this.version,
      this.code,
      this.codeMessage,
      this.names,
      this.values,
      this.head.keepAlive && this.channel.canPersist(this),
      knownLength,
      ctx.dates.get(this.channel.now()),
      ctx.serverName,
    );
    const framing = (this.framing = heads.framing);
    this.lengthOut = heads.lengthOut;
    this.keepAlive = heads.keepAlive;
    let framed = 0;
    if (framing === LENGTH) framed = Math.min(bodyLength, this.lengthOut);
    else if (framing === CHUNKED || framing === CLOSE) framed = bodyLength;
    if (framed < bodyLength && framing === LENGTH) this.noteCut(bodyLength - framed);
    this.bytesSent += framed;
    this.channel.send(assemble(head, framing, body, framed, end));
  }

  private sendBody(bytes: Uint8Array): void {
    switch (this.framing) {
      case NONE:
        return;
      case LENGTH: {
        const room = this.lengthOut - this.bytesSent;
        if (bytes.length > room) {
          this.noteCut(bytes.length - room);
          if (room === 0) return;
          bytes = bytes.subarray(0, room);
        }
        this.bytesSent += bytes.length;
        return this.channel.send(bytes);
      }
      case CHUNKED:
        this.bytesSent += bytes.length;
        if (bytes.length < FRAME_COPY_BYTES) return this.channel.send(chunkFrame(bytes)); // a row: one write
        this.channel.send(chunkSizeLine(bytes.length));
        this.channel.send(bytes);
        return this.channel.send(CRLF);
      default:
        this.bytesSent += bytes.length;
        return this.channel.send(bytes);
    }
  }

  /** `n` body bytes past the Content-Length were cut; the first cut is logged. */
  private noteCut(n: number): void {
    const first = this.bytesCut === 0;
    this.bytesCut += n;
    if (!first) return;
    this.channel.server.log.warn(
      `response to ${this.method} ${this.uri} wrote more than its Content-Length (${this.lengthOut}); cut at ${this.lengthOut} bytes (at least ${this.lengthOut + n} were written)`,
    );
  }

  // ------------------------------------------------------------------ protocol switch (RFC 9110 §7.8)

  /**
   * Answer `101 Switching Protocols` with the headers set so far and hand the
   * connection to `protocol`: it gets the raw transport (`makeConnection`) and
   * then any bytes the client sent past this request's head. The HTTP server
   * forgets the connection (no timeouts, no further requests). Only for an
   * HTTP/1.1 request with no body, before anything was written.
   */
  upgrade(protocol: IProtocol): void {
    if (this.finished || this.phase !== 'open' || this.gone) {
      throw new UpgradeError(
        'upgrade() after the response started, finished or the client left; switch protocols before writing anything',
      );
    }
    if (this.version !== 'HTTP/1.1')
      throw new UpgradeError(
        `upgrade() on an ${this.version} request; RFC 9110 §7.8 allows Upgrade on HTTP/1.1 only: answer it as an ordinary request`,
      );
    if (this.head.chunked || this.head.contentLength > 0)
      throw new UpgradeError(
        'upgrade() on a request with a body; answer it as an ordinary request (a protocol switch needs the body-less request first)',
      );
    let text = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i < this.names.length; i++) text += `${this.names[i]}: ${this.values[i]}\r\n`;
    this.code = 101;
    this.codeMessage = 'Switching Protocols';
    this.locked = true;
    this.phase = 'upgraded';
    this.finished = true;
    // A producer registered for the response is released (its new consumer is the new protocol).
    this.producer = null;
    this.channel.upgrade(this, Buffer.from(`${text}\r\n`, 'latin1'), protocol);
    this.settleFinished();
  }

  // ------------------------------------------------------------------ producers (passed through by the channel)

  /**
   * The producer stays with the request; the transport's only producer is the
   * channel, which passes its pause and resume here (Twisted's HTTPChannel
   * does the same). A push producer registered while the transport is full
   * starts paused. For a pull producer the channel is pulled by the transport
   * (after each write it flushed, as the transports pull) and pulls it.
   */
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (!this.claimProducer(producer, streaming, this.gone)) return;
    this.channel.producerRegistered(this, streaming);
    if (streaming && this.channel.outputPaused) (producer as IPushProducer).pauseProducing();
  }

  unregisterProducer(): void {
    const p = this.producer;
    if (p === null) return;
    this.producer = null;
    if (this.gone) p.stopProducing();
    else this.channel.producerUnregistered(this);
  }

  /** A producer is registered: the channel passes the transport's pause to it. */
  get hasProducer(): boolean {
    return this.producer !== null;
  }

  /** The channel's transport passed its high-water mark: pause a push producer (a pull one is simply not pulled). */
  pauseProducer(): void {
    if (this.producer !== null && this.streaming) (this.producer as IPushProducer).pauseProducing();
  }

  /** The transport drained: resume a push producer; or it wants more: pull a pull producer. */
  resumeProducer(): void {
    this.producer?.resumeProducing();
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * True once the status line and headers left for the transport. Output the
   * server still holds (see the module comment) does not count: a failure
   * then is still answered with a 500.
   */
  get startedWriting(): boolean {
    return this.phase !== 'open' && this.phase !== 'head-held';
  }

  /**
   * Drop the connection: the client must not wait for a response that will
   * not end. Before any byte of the response was sent (the head is at most
   * held: an app that wrote and failed in one turn, issue 12) nothing is cut
   * off yet, so the client gets the server's 500 and a close instead of a
   * reset with no status.
   */
  abort(): void {
    if (this.gone) return;
    if (!this.finished && (this.phase !== 'streaming' || this.unsend())) return this.answer(500);
    this.phase = 'aborted';
    this.channel.server.stats.aborted++;
    this.channel.abortConnection();
  }

  /** The app failed. Before the head went out: a 500; after: abort, the client must not wait for more. */
  appFailed(error: unknown): void {
    const ctx = this.channel.server;
    ctx.stats.appErrors++;
    ctx.log.failure(`app failed handling ${this.method} ${this.uri}`, error, 'error');
    if (this.gone || this.finished) return;
    this.answer(500);
  }

  /** Undo the head (and body) sent so far if the channel still holds all of it: nothing reached the client. */
  private unsend(): boolean {
    if (!this.channel.retract(this)) return false;
    this.phase = 'open';
    this.bytesSent = 0;
    this.bytesCut = 0;
    this.framing = NONE;
    return true;
  }

  /** The server answers in the app's place (500 after a failure, 413 for a body past its limit) and closes. */
  answer(code: number): void {
    if (this.gone || this.finished) return;
    if (this.phase === 'streaming' && !this.unsend()) return this.abort();
    this.held = null;
    this.resetHead(code, 'text/plain; charset=utf-8');
    this.head.keepAlive = false;
    this.finished = true;
    this.locked = true;
    const body = Buffer.from(`${this.codeMessage}\n`);
    this.sendHead(body.length, [body], body.length, true);
    this.phase = 'server-answered';
    if (this.producer !== null) this.unregisterProducer();
    this.settleFinished();
    this.channel.responseDone(this, false);
  }

  /** The channel lost its connection. */
  connectionLost(reason: unknown): void {
    // A body declared empty is complete from the start: losing the connection changes nothing there.
    if (this.bodyState !== null || this.head.contentLength !== 0) this.body.onLost(reason);
    if (this.disconnected || (this.finished && this.phase !== 'aborted')) return;
    this.disconnected = true;
    this.stopProducer();
    this.settleLost(new ConnectionLost('the client went away before the response finished', { cause: reason }));
  }
}
