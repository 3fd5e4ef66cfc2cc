/**
 * `WebSocketConnection`: RFC 6455 on a byte transport, for one connection. It
 * is the protocol of the TCP transport (bytes in, frames out) and the
 * `IWebSocketTransport` of the app's `WebSocketProtocol`.
 *
 * Closing (§7.1): whoever closes first sends a close frame and waits for the
 * other's; the server then closes the TCP connection, the client waits for it
 * to (§7.1.1). Every wait is bounded by `closeTimeout` on the injected clock,
 * after which the connection is aborted. A protocol violation fails the
 * connection (§7.1.7): a close frame with the code it calls for, then close.
 *
 * One piece because the closing handshake, the flow control both ways and the
 * app's callbacks all turn on the same state (what was sent, what came, who
 * paused); the frames live in parser.ts / frame.ts, reactor shutdown in
 * goingaway.ts.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { InvalidArgumentError } from '../../reactor/errors.js';
import { Failure } from '../../reactor/failure.js';
import type { IAddress, IDelayedCall, IProducer, IReactorCore, IReactorTime } from '../../reactor/interfaces.js';
import { liveOn, type LiveSet } from '../goingaway.js';
import { Logger } from '../../reactor/log.js';
import { Protocol } from '../protocol.js';
import { WebSocketClosedError, WebSocketCloseCodeError, type WebSocketProtocolError } from './errors.js';
import {
  CLOSE_ABNORMAL,
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_NO_STATUS,
  CLOSE_NORMAL,
  DEFAULT_CLOSE_TIMEOUT,
  MAX_CONTROL_PAYLOAD,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  encodeFrame,
  isValidCloseCode,
} from './frame.js';
import type {
  IWebSocketProtocol,
  IWebSocketTransport,
  WebSocketMessage,
  WebSocketOptions,
  WebSocketState,
} from './interfaces.js';
import { FrameParser, type FrameHandler } from './parser.js';

export interface WebSocketConnectionOptions extends WebSocketOptions {
  /** The clock for the close timeout and for resuming input on a later turn. */
  clock: IReactorTime;
  /** True on the client: frames are masked out, unmasked in (§5.1). */
  isClient: boolean;
  subprotocol?: string | null;
  logger?: Logger;
  /** When given, the connection is closed with 1001 (going away) when this reactor shuts down, and the shutdown waits for the closing handshake (at most `closeTimeout`). */
  reactor?: IReactorCore;
}

const log = new Logger('spindle.websocket');
const EMPTY = new Uint8Array(0);
const toBytes = (d: WebSocketMessage): Uint8Array => (typeof d === 'string' ? Buffer.from(d, 'utf8') : d);

export class WebSocketConnection extends Protocol implements IWebSocketTransport, FrameHandler {
  state: WebSocketState = 'open';
  readonly subprotocol: string | null;
  private readonly parser: FrameParser;
  private readonly clock: IReactorTime;
  private readonly isClient: boolean;
  private readonly closeTimeout: number;
  private readonly logger: Logger;
  private sentClose = false;
  private received: { code: number; reason: string } | null = null;
  private failure: WebSocketProtocolError | null = null;
  private sentCode = CLOSE_ABNORMAL;
  private timer: IDelayedCall | null = null;
  private inputPaused = false;
  private resumeCall: IDelayedCall | null = null;
  private producer: IProducer | null = null;
  private live: LiveSet | null = null;
  /** The peer closed its side of TCP. */
  private peerGone = false;

  constructor(
    readonly app: IWebSocketProtocol,
    options: WebSocketConnectionOptions,
  ) {
    super();
    this.clock = options.clock;
    this.isClient = options.isClient;
    this.subprotocol = options.subprotocol ?? null;
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.logger = options.logger ?? log;
    this.parser = new FrameParser(this, {
      expectMasked: !options.isClient,
      maxMessageBytes: options.maxMessageBytes,
      maxFrameBytes: options.maxFrameBytes,
    });
    if (options.reactor !== undefined) this.live = liveOn(options.reactor);
  }

  /** The reactor is shutting down: start the closing handshake with 1001 if it has not begun. */
  goingAway(): void {
    if (this.state === 'open') this.close(CLOSE_GOING_AWAY, 'going away');
  }

  override connectionMade(): void {
    this.live?.open.add(this);
    this.guard('makeConnection', () => this.app.makeConnection(this));
  }

  override dataReceived(data: Uint8Array): void {
    this.parser.feed(data);
  }

  override connectionLost(reason: Failure): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cancelTimers();
    this.live?.remove(this);
    const clean = this.sentClose && this.received !== null;
    const code = this.received?.code ?? (this.failure !== null ? this.sentCode : CLOSE_ABNORMAL);
    const why = this.received?.reason ?? this.failure?.message ?? '';
    const closed = new WebSocketClosedError(code, why, clean, { cause: this.failure ?? reason.value });
    this.guard('connectionLost', () => this.app.connectionLost(new Failure(closed)), false);
  }

  // ------------------------------------------------------------------ frames in (FrameHandler)

  onMessage(data: WebSocketMessage): void {
    // §7.1.2: once our close frame is out, data is no longer delivered.
    if (this.state !== 'open') return;
    try {
      this.app.messageReceived(data);
    } catch (err) {
      this.appFailed('messageReceived', err, true);
    }
  }

  onPing(payload: Uint8Array): void {
    // §5.5.2: answer with a pong carrying the same payload, unless closing.
    if (!this.sentClose) this.writeFrame(OP_PONG, payload);
  }

  onPong(payload: Uint8Array): void {
    if (this.state === 'closed' || this.app.pongReceived === undefined) return;
    this.guard('pongReceived', () => this.app.pongReceived!(payload));
  }

  onClose(code: number, reason: string): void {
    this.received = { code, reason };
    if (!this.sentClose) {
      // §5.5.1: echo the status code received (none if none came).
      this.sendClose(code === CLOSE_NO_STATUS ? null : code, '');
    }
    this.state = 'closing';
    this.finishHandshake();
  }

  onError(error: WebSocketProtocolError): void {
    this.failure = error;
    this.logger.info(error.message);
    if (!this.sentClose) this.sendClose(error.closeCode, '');
    this.state = 'closing';
    this.loseAndWait();
  }

  // ------------------------------------------------------------------ IWebSocketTransport

  sendMessage(data: WebSocketMessage): void {
    if (this.state !== 'open') return;
    this.writeFrame(typeof data === 'string' ? OP_TEXT : OP_BINARY, data);
  }

  ping(payload: WebSocketMessage = EMPTY): void {
    const bytes = toBytes(payload);
    if (bytes.length > MAX_CONTROL_PAYLOAD)
      throw new InvalidArgumentError(`a ping carries at most 125 bytes (RFC 6455 §5.5), got ${bytes.length}`);
    if (this.state === 'open') this.writeFrame(OP_PING, bytes);
  }

  close(code: number = CLOSE_NORMAL, reason = ''): void {
    if (!isValidCloseCode(code) || code === 1002 || code === 1007 || code === 1009 || code === 1010) {
      throw new WebSocketCloseCodeError(
        `close(${code}) is not a code an app sends (RFC 6455 §7.4): use 1000 (normal), 1001 (going away), 1003, 1008 (policy), 1011 (server error), 1012-1014, or 3000-4999`,
      );
    }
    if (Buffer.byteLength(reason, 'utf8') > MAX_CONTROL_PAYLOAD - 2) {
      throw new WebSocketCloseCodeError(
        `a close reason is at most 123 UTF-8 bytes (RFC 6455 §5.5.1), got ${Buffer.byteLength(reason, 'utf8')}`,
      );
    }
    if (this.sentClose || this.state === 'closed') return;
    this.sendClose(code, reason);
    this.state = 'closing';
    if (this.received !== null) return this.finishHandshake();
    // The peer's close frame must be read even if the app had paused input.
    if (this.inputPaused) this.resumeProducing();
    this.startTimer();
  }

  abortConnection(): void {
    this.transport.abortConnection();
  }

  /** The peer's close code once its close frame came (1005 when it had none; 1006 when it left without one), else null. */
  get closeCode(): number | null {
    return this.received?.code ?? (this.peerGone ? CLOSE_ABNORMAL : null);
  }

  get closeReason(): string {
    return this.received?.reason ?? '';
  }

  registerProducer(producer: IProducer, streaming: boolean): void {
    this.transport.registerProducer(producer, streaming);
    this.producer = producer;
  }

  unregisterProducer(): void {
    if (this.producer === null) return;
    this.producer = null;
    this.transport.unregisterProducer();
  }

  /** The peer sent FIN: whatever state the handshake is in, nothing more comes; close our side too. */
  readConnectionLost(): void {
    this.peerGone = true;
    this.loseAndWait();
  }

  getPeer(): IAddress {
    return this.transport.getPeer();
  }

  getHost(): IAddress {
    return this.transport.getHost();
  }

  /** Stop delivering messages and reading the socket (input backpressure). */
  pauseProducing(): void {
    if (this.inputPaused || this.state === 'closed') return;
    this.inputPaused = true;
    this.parser.pause();
    this.transport.pauseProducing();
  }

  resumeProducing(): void {
    if (!this.inputPaused || this.state === 'closed') return;
    this.inputPaused = false;
    this.transport.resumeProducing();
    // Messages already read are delivered on a later turn, never inside the caller.
    this.resumeCall ??= this.clock.callLater(0, () => {
      this.resumeCall = null;
      if (!this.inputPaused) this.parser.resume();
    });
  }

  stopProducing(): void {
    this.abortConnection();
  }

  // ------------------------------------------------------------------ internals

  private writeFrame(opcode: number, payload: WebSocketMessage): void {
    const frame = encodeFrame(opcode, payload, this.isClient ? randomFillSync(new Uint8Array(4)) : null);
    if (frame.length === 1) this.transport.write(frame[0]!);
    else this.transport.writeSequence(frame);
  }

  private sendClose(code: number | null, reason: string): void {
    this.sentClose = true;
    this.sentCode = code ?? CLOSE_NO_STATUS;
    let body = EMPTY;
    if (code !== null) {
      const r = Buffer.from(reason, 'utf8');
      const b = Buffer.allocUnsafe(2 + r.length);
      b.writeUInt16BE(code, 0);
      r.copy(b, 2);
      body = b;
    }
    this.writeFrame(OP_CLOSE, body);
  }

  /** Both close frames are out: the server closes the TCP connection; the client waits for it (§7.1.1). */
  private finishHandshake(): void {
    if (this.isClient) this.startTimer();
    else this.loseAndWait();
  }

  /** Close once written; a peer that never reads does not keep it open past the timeout. */
  private loseAndWait(): void {
    // Nothing more may be sent, and a registered producer would hold the TCP close: stop it.
    const p = this.producer;
    if (p !== null) {
      this.unregisterProducer();
      this.guard('stopProducing', () => p.stopProducing(), false);
    }
    this.transport.loseConnection();
    this.startTimer();
  }

  private startTimer(): void {
    if (this.timer?.active()) this.timer.cancel();
    this.timer = this.clock.callLater(this.closeTimeout, () => {
      this.timer = null;
      if (this.state !== 'closed') this.transport.abortConnection();
    });
  }

  private cancelTimers(): void {
    if (this.timer?.active()) this.timer.cancel();
    this.timer = null;
    if (this.resumeCall?.active()) this.resumeCall.cancel();
    this.resumeCall = null;
  }

  private guard(what: string, fn: () => void, closeOnError = true): void {
    try {
      fn();
    } catch (err) {
      this.appFailed(what, err, closeOnError);
    }
  }

  /** App code failed: log it; a failure while open closes with 1011 (§7.4.1). */
  private appFailed(what: string, err: unknown, closeOnError: boolean): void {
    this.logger.failure(`WebSocket app failed in ${what}`, err, 'error');
    if (closeOnError && this.state === 'open') this.close(CLOSE_INTERNAL_ERROR, 'internal error');
  }
}
