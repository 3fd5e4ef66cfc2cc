/**
 * `HTTPChannel`: the per-connection HTTP/1.1 server protocol. It feeds bytes
 * to the parser, hands each accepted request to the app, answers rejected ones
 * itself, and keeps the connection's rules: one request at a time (pipelined
 * ones wait, unparsed, in the parser's bounded buffer), keep-alive (RFC 9112
 * §9.3), timeouts, and flow control both ways.
 *
 * Re-entry: the parser is resumed synchronously only while it is already
 * running (the loop just carries on); from app code (an async `finish()`,
 * `deliverBody()`) the resume is scheduled with `callLater(0)`, so the next
 * request or body byte never runs inside the app's own call.
 *
 * Output is corked while the channel drives the app: responses written
 * synchronously leave in one transport write per `dataReceived`.
 *
 * Flow control out: the channel is the transport's one producer for the
 * whole connection; a request's producer is never registered on the
 * transport. When the transport passes its high-water mark it pauses the
 * channel, which passes the pause through to the current request's producer
 * if it has one (Twisted's HTTPChannel does the same), else stops answering
 * and reading; the resume goes the same way. While a request's producer is a
 * pull producer the channel is registered as one, so the transport's pulls
 * reach it the same way (`pulled`).
 *
 * The channel owns the connection's state: the socket, parsing, pipelining,
 * output coalescing, lingering close and timeouts, and why it holds back
 * (`pausedFor`). Each request's own cycle (its input: `Request.input`) and
 * its response's state (one `phase`) live on the
 * `Request` (request.ts, on RequestCore from requestcore.ts). The timeout lives in deadline.ts, the
 * response framing in framing.ts.
 */
import { Buffer } from 'node:buffer';
import { ConnectionLost } from '../../reactor/errors.js';
import type { Failure } from '../../reactor/failure.js';
import type { IAddress, IDelayedCall, IProtocol, IReactor, ITLSTransport } from '../../reactor/interfaces.js';
import type { Logger } from '../../reactor/log.js';
import { Protocol } from '../protocol.js';
import { formatAccessLine } from './accesslog.js';
import { Deadline } from './deadline.js';
import type { BodyTooLargeError, HTTPParseError } from './errors.js';
import type { Headers } from './headers.js';
import type { RequestHead } from './head.js';
import { HTTPParser, type ParserHandler, type ParserLimits } from './parser.js';
import { reasonPhrase } from './phrases.js';
import { ReadHolds } from './readholds.js';
import { Request, type RequestHost, type ServerContext } from './request.js';
import { runCpsApp } from './requestcore.js';

/** What every channel of one server shares (built by HTTPFactory). */
export interface ChannelConfig {
  readonly reactor: IReactor;
  readonly context: ServerContext;
  readonly limits: ParserLimits;
  readonly headerTimeout: number;
  readonly idleTimeout: number;
  readonly maxHeldInputBytes: number;
  readonly maxDrainBytes: number;
  readonly accessLog: Logger | null;
  /** A client's FIN is a half-close (answer what came, then close) rather than the client leaving. */
  readonly allowHalfOpen: boolean;
  readonly lingerTimeout: number;
  readonly lingerMaxBytes: number;
}

/** No output collected: shared and frozen (send() replaces it, never pushes onto it). */
const NO_OUTPUT = Object.freeze([]) as unknown as Uint8Array[];
/** Output collected while corked is written early past this many bytes. */
const CORK_FLUSH_BYTES = 64 * 1024;
/** What the connection's one deadline times (RFC 9110 §15.5.9): an idle connection, a head, a body that stopped coming. */
type TimeoutKind = 'idle' | 'head' | 'body';
/**
 * Where the connection is in its life (one value instead of a flag each):
 * - 'open': parsing and answering;
 * - 'closing': the close is decided, nothing more is parsed; the transport is
 *   told once the output collected in this turn is flushed (uncork);
 * - 'closed': the transport was told to close (or abort); connectionLost follows;
 * - 'lingering': answered and half-closed, reading and discarding (startLinger);
 * - 'upgrading': request.upgrade() sent the 101 inside a parser pass; the bytes
 *   read past its head go to the new protocol when the pass ends (handOver);
 * - 'upgraded': the connection belongs to another protocol; the channel only forwards;
 * - 'lost': the transport's connectionLost ran.
 */
type ConnectionPhase = 'open' | 'closing' | 'closed' | 'lingering' | 'upgrading' | 'upgraded' | 'lost';
/**
 * Why a close lingers (RFC 9112 §9.6, see startLinger), '' when it does not:
 * 'unread-request' (413/414/431 answered to a request the parser refused: the
 * client is likely still sending it), 'unread-body' (413 for a body past the
 * app's readBody limit: lingers only if the body is not all here by the close).
 */
type LingerReason = '' | 'unread-request' | 'unread-body';
/** Why a connection holds back (see `HTTPChannel.pausedFor`). */
type PauseReason = 'output' | 'body' | 'held-input';

/** Answers to a request too large to read: the client is likely still sending it (see `startLinger`). */
const OVERSIZED = new Set([413, 414, 431]);

export class HTTPChannel extends Protocol implements ParserHandler, RequestHost {
  readonly reactor: IReactor;
  readonly server: ServerContext;
  private readonly parser: HTTPParser;
  private current: Request | null = null;
  private peerAddress: IAddress | null = null;
  private hostAddress: IAddress | null = null;
  private cork = 0;
  /** Output collected while corked; NO_OUTPUT when none (send() makes a new list for the first piece). */
  private out: Uint8Array[] = NO_OUTPUT;
  private outBytes = 0;
  private phase: ConnectionPhase = 'open';
  /**
   * The client half-closed: nothing more will arrive; close once what came is
   * answered. Not a phase: with allowHalfOpen the connection stays 'open'
   * (parsing what arrived, answering in order) after it; it is the input
   * direction's state, and every phase check would otherwise name two values.
   */
  private peerDone = false;
  /**
   * What the channel last told the transport (pauseProducing/resumeProducing),
   * so that updateReading calls it only on a change. Not a pause reason: it is
   * the transport's reading state as the reasons in `pausedFor` decided it.
   */
  private readingPaused = false;
  /**
   * Why the connection holds back, one set instead of a flag each: 'output'
   * (the transport's write buffer is past its high-water mark: the current
   * request's producer is paused, or without one no new request is answered
   * and the socket is not read), 'body' (the app paused its request body),
   * 'held-input' (unparsed input at maxHeldInputBytes, recomputed in
   * updateReading).
   */
  private readonly pausedFor = new Set<PauseReason>();
  /**
   * The parser was running (or was asked to resume) when the 'output' hold
   * paused it, so releasing the hold resumes it. Not derivable from
   * `pausedFor`: the parser is also paused for the request's own reasons (a
   * body not asked for, an answer not finished), which the release must not undo.
   */
  private resumeAfterOutput = false;
  /**
   * The current request has a pull producer: the channel is registered as a
   * pull producer meanwhile, so the transport pulls it after each write it
   * flushed and the channel pulls the request's producer (see producerRegistered).
   * Not a phase or a pause reason: it is how the channel is registered on the
   * transport (pull instead of push), in any phase while a pull producer lasts.
   */
  private pulled = false;
  private readonly deadline: Deadline<TimeoutKind>;
  private resumeCall: IDelayedCall | null = null;
  /** The protocol the connection was handed to by `request.upgrade()`; the channel only forwards to it. */
  private upgraded: IProtocol | null = null;
  /** Whether the close lingers, and why (set before or by closeConnection, decided in loseNow). */
  private lingerFor: LingerReason = '';
  private lingerBytes = 0;
  private lingerCall: IDelayedCall | null = null;
  /** The response whose head went into `out` at `markCount`/`markBytes`; null once `out` was flushed. */
  private mark: Request | null = null;
  /** The clock reading this pass's current request shares (`now()`); -1: none taken yet. */
  private passNow = -1;
  /** A head was completed during the current dataReceived (its deadline was then decided by the request). */
  private headSeen = false;
  /** Reads whose bytes the parser or a request may hold (release after flush, readholds.ts). */
  private readonly reads = new ReadHolds();
  private markCount = 0;
  private markBytes = 0;

  constructor(private readonly config: ChannelConfig) {
    super();
    this.reactor = config.reactor;
    this.server = config.context;
    this.parser = new HTTPParser(this, config.limits);
    this.deadline = new Deadline(config.reactor, this.onTimeout);
  }

  get corked(): boolean {
    return this.cork > 0;
  }

  get outputPaused(): boolean {
    return this.pausedFor.has('output');
  }

  /** The request being served, if any (for tests and tools). */
  get currentRequest(): Request | null {
    return this.current;
  }

  override connectionMade(): void {
    // The channel is the transport's producer for the connection's whole life (see the module comment).
    this.transport.registerProducer(this, true);
    this.server.stats.openChannels++;
    this.server.stats.totalChannels++;
    this.deadline.set('idle', this.config.idleTimeout);
  }

  override dataReceived(data: Uint8Array): void {
    if (this.upgraded !== null) return this.upgraded.dataReceived(data);
    if (this.phase === 'lingering') return this.discard(data.length);
    if (this.phase !== 'open') return;
    // An idle connection's next head is timed from its first bytes (RFC 9110 §15.5.9). The deadline is
    // set after the parse, and only if no head was completed in it: a head that came whole (most do)
    // then costs no clock reading for a deadline it would clear at once.
    const headStarts = this.current === null && this.deadline.kind === 'idle';
    if (!headStarts && this.deadline.kind === 'body') this.deadline.set('body', this.config.idleTimeout);
    this.headSeen = false;
    this.cork++;
    try {
      this.parser.feed(data);
    } finally {
      this.uncork();
    }
    if (this.reads.wants(data)) this.reads.afterPass(data, this.parser.bufferedBytes > 0, this.headSeen);
    if (this.handingOver) return this.handOver();
    if (headStarts && !this.headSeen && this.phase === 'open' && this.deadline.kind === 'idle')
      this.deadline.set('head', this.config.headerTimeout);
    this.updateReading();
  }

  /**
   * The reactor's clock, read once per request while the channel drives it
   * synchronously (corked): the Date header and the idle deadline set when
   * the response ends share one reading (each costs ~0.1 us on a VM). Outside
   * a pass (an app finishing later) every call reads the clock.
   */
  now(): number {
    if (this.cork === 0) return this.reactor.seconds();
    if (this.passNow < 0) this.passNow = this.reactor.seconds();
    return this.passNow;
  }

  override connectionLost(reason: Failure): void {
    if (this.phase === 'lost') return;
    this.phase = 'lost';
    this.server.stats.openChannels--;
    this.deadline.cancel();
    if (this.resumeCall?.active()) this.resumeCall.cancel();
    if (this.lingerCall?.active()) this.lingerCall.cancel();
    this.out = NO_OUTPUT;
    if (this.upgraded !== null) return this.upgraded.connectionLost(reason);
    const req = this.current;
    this.current = null;
    if (req !== null) req.connectionLost(reason.value);
  }

  /**
   * The client closed its sending side (FIN).
   *
   * By default (`allowHalfOpen` false) the client is taken to have left, as
   * node:http (whose `allowHalfOpen` defaults to false), Twisted and nginx do:
   * a response still outstanding ends as if the connection were lost
   * (`notifyFinish()` errbacks with ConnectionLost, a registered producer is
   * stopped), requests pipelined but not started are dropped, and what was
   * already written goes out before the connection closes. A FIN is what
   * `curl --max-time` or a killed client sends; without this a long-poll or a
   * paused event stream would never learn that its client went away.
   *
   * With `allowHalfOpen` a FIN is a half-close: requests already received are
   * answered in order, then the connection closes. A request body that is
   * neither complete nor wholly buffered never will be (RFC 9112 §8:
   * incomplete), so that aborts at once in either mode.
   */
  readConnectionLost(): void {
    const up = this.upgraded;
    if (up !== null) return up.readConnectionLost ? up.readConnectionLost() : this.transport.loseConnection();
    if (this.phase === 'lingering') return this.endLinger();
    this.peerDone = true;
    const req = this.current;
    if (!this.config.allowHalfOpen) {
      if (req !== null && !req.responded) return this.peerLeft(req);
      if (req === null || req.input === 'done' || !this.bodyIncomplete(req)) return this.closeConnection();
      return this.abortConnection();
    }
    if (req === null) {
      // Idle, unless pipelined requests already received wait for a scheduled resume.
      if (this.resumeCall === null || !this.resumeCall.active()) this.closeConnection();
      return;
    }
    if (req.input !== 'done' && this.bodyIncomplete(req)) this.abortConnection();
  }

  /** Body bytes still to come that the parser does not hold already. */
  private bodyIncomplete(req: Request): boolean {
    const head = req.head;
    return head.chunked || this.parser.bufferedBytes < head.contentLength - req.body.received;
  }

  /** The client left while `req`'s response was outstanding: end it as lost, flush what was written, close. */
  private peerLeft(req: Request): void {
    this.current = null;
    // connectionLost stops the request's producer (if any).
    req.connectionLost(
      new ConnectionLost(
        'the client closed its side of the connection (FIN) before the response finished; the server option allowHalfOpen answers half-closed clients instead',
      ),
    );
    this.closeConnection();
  }

  // ------------------------------------------------------------------ parser events

  onHead(head: RequestHead): void {
    this.deadline.clear();
    this.headSeen = true;
    this.passNow = -1; // each request of a pipelined read takes its own reading
    this.server.stats.requests++;
    const req = new Request(this, head);
    this.current = req;
    // The body waits in the parser until the app asks for it (bounded: see updateReading).
    if (head.contentLength !== 0) this.pauseParsing();
    runCpsApp(this.server.app, req);
  }

  onBody(data: Uint8Array): void {
    const req = this.current;
    if (req === null || this.phase !== 'open') return;
    req.body.onData(data);
    if (req.body.draining && req.body.received > this.config.maxDrainBytes) this.closeConnection();
  }

  onComplete(trailers: Headers | null): void {
    const req = this.current;
    if (req === null) return;
    if (this.phase !== 'open') {
      this.current = null;
      return;
    }
    req.trailers = trailers;
    req.input = 'done';
    if (this.deadline.kind === 'body') this.deadline.clear();
    req.bodyEnded();
    if (this.current !== req) return;
    if (req.responded) this.requestDone();
    else this.pauseParsing();
  }

  onError(error: HTTPParseError): void {
    this.deadline.clear();
    const req = this.current;
    if (req !== null && req.input !== 'done') {
      // The body broke mid-way: the client gets the parse error if nothing was sent yet
      // (else the connection is aborted), then the app's reader sees a lost connection.
      // In that order, so an app whose reader fails its response cannot turn a 400 into a 500.
      if (!req.responded) req.answer(error.status);
      req.body.onLost(error);
      return this.closeConnection(OVERSIZED.has(error.status));
    }
    this.server.stats.badRequests++;
    this.sendError(error.status);
  }

  // ------------------------------------------------------------------ RequestHost

  get unsentBytes(): number | undefined {
    const socket = (this.transport as { bufferSize?: number }).bufferSize;
    return socket === undefined ? undefined : socket + this.outBytes;
  }

  send(data: Uint8Array): void {
    if (this.phase === 'lost') return;
    if (this.cork > 0) {
      // The first piece makes a list of one (a push onto [] reserves 17 slots, 152 B, per response).
      if (this.out.length === 0) this.out = [data];
      else this.out.push(data);
      this.outBytes += data.length;
      if (this.outBytes >= CORK_FLUSH_BYTES) this.flushOut();
      return;
    }
    this.transport.write(data);
  }

  markResponse(req: Request): void {
    if (this.cork === 0) {
      this.mark = null;
      return;
    }
    this.mark = req;
    this.markCount = this.out.length;
    this.markBytes = this.outBytes;
  }

  retract(req: Request): boolean {
    if (this.mark !== req || this.cork === 0) return false;
    if (this.markCount === 0) this.out = NO_OUTPUT;
    else this.out.length = this.markCount;
    this.outBytes = this.markBytes;
    this.mark = null;
    return true;
  }

  canPersist(req: Request): boolean {
    if (this.phase !== 'open' || req !== this.current) return false;
    if (req.input === 'done') return true;
    const head = req.head;
    // RFC 9110 §10.1.1: a client waiting for 100 may never send the body; close instead of waiting.
    if (head.expectContinue && req.input === 'unread') return false;
    if (head.contentLength > 0 && head.contentLength - req.body.received > this.config.maxDrainBytes) return false;
    return true;
  }

  responseDone(req: Request, persist: boolean): void {
    if (req !== this.current) return;
    this.server.stats.responses++;
    if (this.config.accessLog !== null)
      this.config.accessLog.info(formatAccessLine(req, this.server.dates.wallSeconds()));
    if (!persist) return this.closeConnection();
    if (req.input === 'done') return this.requestDone();
    // No body, answered from onHead: the parser reports the end next, and onComplete moves on.
    if (req.head.contentLength === 0) return;
    // The app answered without reading (all of) the body: read and discard the rest, bounded.
    if (!req.body.consumed) req.body.drain();
    this.deadline.set('body', this.config.idleTimeout);
    if (this.pausedFor.has('body')) this.resumeBody();
    else this.resumeParsing();
  }

  producerRegistered(req: Request, streaming: boolean): void {
    if (req !== this.current || this.phase !== 'open') return;
    if (streaming) {
      // The request's producer waits for the transport now; the channel stops holding back for it.
      if (this.pausedFor.has('output')) this.releaseOutputHold();
      return;
    }
    // A pull producer: the transport's own pull rule (once at once, then after each write it
    // flushed) is kept by registering the channel as a pull producer while it lasts. A pull
    // registration is never paused, so the channel does not hold back for output meanwhile.
    this.pulled = true;
    if (this.pausedFor.delete('output')) this.releaseOutputHold();
    this.transport.unregisterProducer();
    this.transport.registerProducer(this, false);
  }

  producerUnregistered(req: Request): void {
    if (this.pulled) {
      // Back to a push registration; a transport still full pauses the channel at once.
      this.pulled = false;
      if (this.phase !== 'open') return;
      this.transport.unregisterProducer();
      this.transport.registerProducer(this, true);
      return;
    }
    // Without a producer to pause, a full transport holds the channel back again.
    if (req === this.current && this.pausedFor.has('output')) this.holdForOutput();
  }

  /**
   * `request.upgrade()` (RFC 9110 §7.8): the 101 goes out first, then the
   * connection belongs to `protocol`. The channel forgets it: no timeouts, no
   * parsing, no producer of its own; bytes already read past the head are
   * handed over once the parser's current pass ends.
   */
  upgrade(req: Request, head: Uint8Array, protocol: IProtocol): void {
    if (req !== this.current || this.phase !== 'open') return;
    this.send(head);
    this.flushOut();
    this.server.stats.responses++;
    this.current = null;
    this.phase = 'upgrading';
    this.upgraded = protocol;
    this.deadline.cancel();
    if (this.resumeCall?.active()) this.resumeCall.cancel();
    this.parser.pause();
    this.pulled = false;
    this.transport.unregisterProducer();
    if (this.readingPaused) {
      this.readingPaused = false;
      this.transport.resumeProducing();
    }
    protocol.makeConnection(this.transport);
    if (!this.parser.busy) this.handOver();
  }

  /** The parser pass that upgraded the connection ended (or none was running): give the new protocol the rest. */
  private handOver(): void {
    if (this.phase !== 'upgrading') return;
    this.phase = 'upgraded';
    this.reads.keepForGood(); // the new protocol may keep the bytes held for it
    const rest = this.parser.takeBuffered();
    if (rest.length > 0) this.upgraded!.dataReceived(rest);
  }

  /** Read through a getter: after a parser pass `this.phase` may have left 'open' (TypeScript keeps the narrowing). */
  private get handingOver(): boolean {
    return this.phase === 'upgrading';
  }

  // ------------------------------------------------------------------ the channel as the transport's producer

  /**
   * The transport's buffer passed its high-water mark. The current request's
   * producer, if it has one, is paused (pass-through); otherwise the channel
   * itself holds back, so a client that pipelines requests without reading
   * the answers stops being served (and read), as node:http does: the output
   * buffer cannot grow without bound.
   */
  pauseProducing(): void {
    if (this.pausedFor.has('output')) return;
    this.pausedFor.add('output');
    const req = this.current;
    if (req !== null && req.hasProducer) req.pauseProducer();
    else this.holdForOutput();
  }

  /** The transport drained (or, registered for a pull producer, wants more): pass it on, or answer and read again. */
  resumeProducing(): void {
    if (this.pulled) return this.current?.resumeProducer();
    if (!this.pausedFor.delete('output')) return;
    const req = this.current;
    if (req !== null && req.hasProducer) req.resumeProducer();
    this.releaseOutputHold();
  }

  stopProducing(): void {
    // The transport is going away; connectionLost follows, and the request stops its producer once.
  }

  /** A full transport and no request producer to pause: answer no new request, read no more. */
  private holdForOutput(): void {
    if (!this.parser.isPaused) this.resumeAfterOutput = true;
    this.parser.pause();
    this.updateReading();
  }

  private releaseOutputHold(): void {
    const resume = this.resumeAfterOutput;
    this.resumeAfterOutput = false;
    if (resume) this.resumeParsing();
    this.updateReading();
  }

  /** 'output' holds the channel itself back only while no request producer takes the pause. */
  private get heldForOutput(): boolean {
    return this.pausedFor.size !== 0 && this.pausedFor.has('output') && !(this.current?.hasProducer ?? false);
  }

  /** Pause the parser for a reason of the request's own (which output resuming must not undo). */
  private pauseParsing(): void {
    this.resumeAfterOutput = false;
    this.parser.pause();
  }

  abortConnection(): void {
    if (this.phase !== 'lost') this.phase = 'closed';
    this.out = NO_OUTPUT;
    this.outBytes = 0;
    this.deadline.clear();
    this.transport.abortConnection();
  }

  bodyWanted(): void {
    const req = this.current!;
    if (req.input === 'unread') {
      req.input = 'reading';
      // RFC 9110 §10.1.1: the app reads the body, so tell the client to send it.
      if (req.head.expectContinue && !req.startedWriting)
        this.send(Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1'));
    }
    // A body the app waits for must keep coming: idleTimeout of silence ends it.
    if (!this.pausedFor.has('body')) {
      this.deadline.set('body', this.config.idleTimeout);
      this.resumeParsing();
    }
  }

  pauseBody(): void {
    this.pausedFor.add('body');
    if (this.deadline.kind === 'body') this.deadline.clear();
    this.pauseParsing();
    this.updateReading();
  }

  resumeBody(): void {
    this.pausedFor.delete('body');
    if (this.current !== null && this.current.input !== 'done') this.deadline.set('body', this.config.idleTimeout);
    this.updateReading();
    this.resumeParsing();
  }

  bodyTooLarge(_error: BodyTooLargeError): void {
    // The client may still be sending the rest of the body: linger so that it reads the 413
    // (decided in loseNow, once the parser holds what this read brought).
    this.lingerFor = 'unread-body';
    this.current!.answer(413);
  }

  /** The connection is TLS: its transport finished a handshake (listenTLS, or STARTTLS). */
  get secure(): boolean {
    return (this.transport as Partial<ITLSTransport>).secure === true;
  }

  /**
   * The connection's addresses, asked of the transport once (a TCP transport
   * copies them on each call) and frozen: every request on the connection
   * shares them (`request.client`, `request.host`), and none can change them.
   */
  getPeer(): IAddress {
    return (this.peerAddress ??= frozenAddress(this.transport.getPeer()));
  }

  getHost(): IAddress {
    return (this.hostAddress ??= frozenAddress(this.transport.getHost()));
  }

  // ------------------------------------------------------------------ connection state

  /** The current request is done both ways: move on to the next one. */
  private requestDone(): void {
    this.current = null;
    if (this.phase !== 'open') return;
    if (this.peerDone && this.parser.bufferedBytes === 0) return this.closeConnection();
    this.deadline.set(
      this.parser.bufferedBytes > 0 ? 'head' : 'idle',
      this.parser.bufferedBytes > 0 ? this.config.headerTimeout : this.config.idleTimeout,
      this.now(),
    );
    this.resumeParsing();
  }

  /** Resume the parser now if it is running (no re-entry), else on the next reactor turn. */
  private resumeParsing(): void {
    if (this.heldForOutput) {
      this.resumeAfterOutput = true;
      return;
    }
    if (!this.parser.isPaused || this.phase !== 'open') return;
    if (this.parser.busy) return this.parser.resume();
    if (this.resumeCall === null || !this.resumeCall.active())
      this.resumeCall = this.reactor.callLater(0, this.resumeNow);
  }

  private readonly resumeNow = (): void => {
    this.resumeCall = null;
    if (this.phase !== 'open' || this.pausedFor.has('body')) return;
    // The transport filled up after this resume was scheduled: the drain resumes instead.
    if (this.heldForOutput) {
      this.resumeAfterOutput = true;
      return;
    }
    this.cork++;
    this.headSeen = false;
    try {
      this.parser.resume();
    } finally {
      this.uncork();
    }
    if (this.reads.holding) this.reads.afterPass(null, this.parser.bufferedBytes > 0, this.headSeen);
    if (this.handingOver) return this.handOver();
    if (this.peerDone && this.current === null) return this.closeConnection();
    this.updateReading();
  };

  /** Stop reading the socket while the app holds back or the held input is at its bound. */
  private updateReading(): void {
    if (this.phase !== 'open') return;
    // Nothing held, nothing paused, reading on: nothing would change (every keep-alive read ends here).
    if (this.pausedFor.size === 0 && !this.readingPaused && !this.parser.isPaused) return;
    if (this.parser.isPaused && this.parser.bufferedBytes >= this.config.maxHeldInputBytes)
      this.pausedFor.add('held-input');
    else this.pausedFor.delete('held-input');
    const pause = this.pausedFor.size > (this.pausedFor.has('output') && !this.heldForOutput ? 1 : 0);
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.transport.pauseProducing();
    else this.transport.resumeProducing();
  }

  private uncork(): void {
    // Held bytes of the request still running go out behind what is already collected.
    if (this.cork === 1 && this.current !== null && this.current.phase === 'head-held') this.current.flushHeld();
    if (--this.cork > 0) return;
    this.passNow = -1;
    this.flushOut();
    if (this.phase === 'closing') this.loseNow();
  }

  private flushOut(): void {
    this.mark = null;
    if (this.out.length === 0 || this.phase === 'lost') return;
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outBytes);
    this.out = NO_OUTPUT;
    this.outBytes = 0;
    this.transport.write(data);
  }

  /**
   * Close once what was written has gone out; parse nothing more. With
   * `linger` (an answer to a request too large to read) the close lingers:
   * see `startLinger`.
   */
  private closeConnection(linger = false): void {
    if (this.phase !== 'open') return;
    this.phase = 'closing';
    this.deadline.clear();
    this.pauseParsing();
    if (linger && this.lingerFor === '') this.lingerFor = 'unread-request';
    // Corked: uncork flushes what this turn wrote, then calls loseNow (phase 'closing').
    if (this.cork === 0) this.loseNow();
  }

  /** The transport closes once its buffer is written and no producer is registered: leave its slot. */
  private loseNow(): void {
    this.pulled = false;
    this.transport.unregisterProducer();
    if (this.lingers()) return this.startLinger();
    this.phase = 'closed';
    this.transport.loseConnection();
  }

  /** Does the close linger? Not if the client already closed, lingering is off, or (a readBody 413) the body all came. */
  private lingers(): boolean {
    if (this.lingerFor === '' || this.peerDone || this.config.lingerTimeout <= 0) return false;
    if (this.lingerFor === 'unread-request') return true;
    const req = this.current;
    return req !== null && req.input !== 'done' && this.bodyIncomplete(req);
  }

  /**
   * Lingering close (RFC 9112 §9.6): a client that writes its whole request
   * before reading (Python's http.client) is still sending when the answer
   * (413, 414, 431) goes out. Closing at once would make its TCP stack see a
   * reset and drop the answer unread (BrokenPipe). So: FIN after the answer,
   * then read and discard for at most `lingerTimeout` seconds and
   * `lingerMaxBytes` bytes, or until the client closes, then close.
   */
  private startLinger(): void {
    this.phase = 'lingering';
    this.deadline.cancel();
    this.transport.loseWriteConnection();
    if (this.readingPaused) {
      this.readingPaused = false;
      this.transport.resumeProducing();
    }
    this.lingerCall = this.reactor.callLater(this.config.lingerTimeout, this.endLinger);
  }

  private discard(bytes: number): void {
    this.lingerBytes += bytes;
    if (this.lingerBytes > this.config.lingerMaxBytes) this.endLinger();
  }

  private readonly endLinger = (): void => {
    if (this.phase !== 'lingering') return;
    this.phase = 'closed';
    if (this.lingerCall?.active()) this.lingerCall.cancel();
    this.lingerCall = null;
    this.transport.loseConnection();
  };

  /** A request rejected before reaching the app: its status, `Connection: close`, then close. */
  private sendError(status: number): void {
    const phrase = reasonPhrase(status);
    const body = `${phrase}\n`;
    const head = `HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\nDate: ${this.server.dates.get()}\r\n\r\n`;
    this.send(Buffer.from(head + body, 'latin1'));
    this.closeConnection(OVERSIZED.has(status));
  }

  // ------------------------------------------------------------------ timeouts (deadline.ts)

  private bodyTimedOut(): void {
    const req = this.current;
    if (req === null || req.input === 'done') return;
    req.body.onLost(
      new ConnectionLost(
        `the client sent no request body bytes for ${this.config.idleTimeout} s (idleTimeout); the request got 408 and the connection closed`,
      ),
    );
    if (!req.responded) req.answer(408);
    this.closeConnection();
  }

  private readonly onTimeout = (kind: TimeoutKind): void => {
    if (this.phase !== 'open') return;
    this.server.stats.timeouts++;
    // RFC 9110 §15.5.9: 408 for a head or body that did not arrive in time; an idle connection just closes.
    if (kind === 'head') this.sendError(408);
    else if (kind === 'body') this.bodyTimedOut();
    else this.closeConnection();
  };
}

/**
 * A frozen copy of an address, made by one of three object literals (the
 * keys, in order, of an IAddress with a path, with a family, with neither),
 * so every connection's copy shares one hidden class. Freezing the transport's
 * own copy (an object spread) gave each connection a class of its own, and
 * every read of `request.client.host` or `request.host.port` became a
 * megamorphic load.
 */
function frozenAddress(a: IAddress): IAddress {
  const copy: IAddress =
    a.path !== undefined
      ? { host: a.host, port: a.port, family: a.family, path: a.path }
      : a.family !== undefined
        ? { host: a.host, port: a.port, family: a.family }
        : { host: a.host, port: a.port };
  return Object.freeze(copy);
}
