/**
 * `BridgedWebSocket`: a CPS `WebSocketProtocol` running behind an iterator
 * host (`toIterApp`). The host's `environ['spindle.websocket']` is accepted;
 * the protocol's `sendMessage` goes into a bounded queue that the iterator
 * yields from (one chunk per message, so a string stays a text message), and
 * incoming messages are read from the host's input as it reports them.
 *
 * Flow control both ways, as the HTTP bridge does it (G16): past
 * `highWater` queued bytes the protocol's registered producer is paused and
 * resumed at `lowWater`; a protocol that sends on regardless gets
 * `BridgeOverflowError` past `maxBuffered`. `pauseProducing()` stops reading
 * the host's input, whose own bound then stops the socket.
 */
import { WebSocketClosedError } from '../protocols/websocket/errors.js';
import type {
  IWebSocketProtocol,
  IWebSocketTransport,
  WebSocketMessage,
  WebSocketState,
} from '../protocols/websocket/interfaces.js';
import { Failure } from '../reactor/failure.js';
import type { IAddress, IDelayedCall, IProducer, IPushProducer, IReactorTime } from '../reactor/interfaces.js';
import { Logger } from '../reactor/log.js';
import { BRIDGE_HIGH_WATER, BRIDGE_LOW_WATER, BRIDGE_MAX_BUFFERED } from './bridgequeue.js';
import { BridgeOverflowError } from './errors.js';
import type { InputHandler, WebSocketInput } from './interfaces.js';

const log = new Logger('spindle.bridge.websocket');
const size = (m: WebSocketMessage): number => (typeof m === 'string' ? m.length : m.length);

export interface BridgedWebSocketHost {
  readonly clock: IReactorTime;
  readonly peer: IAddress;
  readonly local: IAddress;
  /** `wsgi.input_handler` of the host, if it has one (else `input.onReadable`). */
  readonly inputHandler?: InputHandler;
  /** Output is waiting: wake the iterator. */
  wake(): void;
  /** Limits of the outgoing queue. */
  readonly highWater?: number;
  readonly lowWater?: number;
  readonly maxBuffered?: number;
}

export class BridgedWebSocket implements IWebSocketTransport {
  state: WebSocketState = 'open';
  private out: WebSocketMessage[] = [];
  private outHead = 0;
  private outBytes = 0;
  private producer: IProducer | null = null;
  private streaming = false;
  private producerPaused = false;
  private inputPaused = false;
  private scheduled: IDelayedCall | null = null;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly input: WebSocketInput,
    private readonly protocol: IWebSocketProtocol,
    private readonly host: BridgedWebSocketHost,
  ) {
    this.highWater = host.highWater ?? BRIDGE_HIGH_WATER;
    this.lowWater = host.lowWater ?? BRIDGE_LOW_WATER;
    this.maxBuffered = host.maxBuffered ?? BRIDGE_MAX_BUFFERED;
  }

  get subprotocol(): string | null {
    return this.input.subprotocol;
  }

  get closeCode(): number | null {
    return this.input.closeCode;
  }

  get closeReason(): string {
    return this.input.closeReason;
  }

  start(): void {
    const onReadable = (): void => this.schedule();
    if (this.host.inputHandler) this.host.inputHandler(this.input, onReadable);
    else this.input.onReadable(onReadable);
    this.guard('makeConnection', () => this.protocol.makeConnection(this));
    this.schedule();
  }

  // -- output: the iterator's side -------------------------------------------

  /** The next message to yield, or null (then the iterator waits for `wake`). */
  shift(): WebSocketMessage | null {
    if (this.outHead === this.out.length) {
      if (this.producer !== null && !this.streaming && this.state === 'open') this.producer.resumeProducing();
      if (this.outHead === this.out.length) return null;
    }
    const m = this.out[this.outHead]!;
    this.out[this.outHead++] = '';
    if (this.outHead === this.out.length) {
      this.out = [];
      this.outHead = 0;
    }
    this.outBytes -= size(m);
    if (this.producerPaused && this.outBytes <= this.lowWater) {
      this.producerPaused = false;
      (this.producer as IPushProducer).resumeProducing();
    }
    return m;
  }

  /** The host's connection is gone (the iterator was closed): tell the protocol, once. */
  lost(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.scheduled?.active()) this.scheduled.cancel();
    this.scheduled = null;
    const p = this.producer;
    this.producer = null;
    if (p !== null) this.guard('stopProducing', () => p.stopProducing());
    const code = this.input.closeCode ?? 1006;
    const closed = new WebSocketClosedError(code, this.input.closeReason, code !== 1006);
    this.guard('connectionLost', () => this.protocol.connectionLost(new Failure(closed)));
  }

  // -- IWebSocketTransport ---------------------------------------------------

  sendMessage(data: WebSocketMessage): void {
    if (this.state !== 'open') return;
    const n = size(data);
    if (this.outBytes > 0 && this.outBytes + n > this.maxBuffered)
      throw new BridgeOverflowError(
        this.maxBuffered,
        this.outBytes + n,
        'in WebSocket messages while the iterator host was not taking them',
      );
    this.out.push(data);
    this.outBytes += n;
    if (!this.producerPaused && this.streaming && this.producer !== null && this.outBytes > this.highWater) {
      this.producerPaused = true;
      (this.producer as IPushProducer).pauseProducing();
    }
    this.host.wake();
  }

  ping(payload?: WebSocketMessage): void {
    this.input.ping(payload);
  }

  close(code?: number, reason?: string): void {
    if (this.state !== 'open') return;
    this.input.close(code, reason);
    this.state = 'closing';
  }

  abortConnection(): void {
    // The host's socket is out of reach: the nearest thing is an immediate close with 1011.
    if (this.state === 'open') this.close(1011, 'aborted');
  }

  registerProducer(producer: IProducer, streaming: boolean): void {
    this.producer = producer;
    this.streaming = streaming;
    this.producerPaused = false;
    if (!streaming) this.host.wake();
    else if (this.outBytes > this.highWater) {
      this.producerPaused = true;
      (producer as IPushProducer).pauseProducing();
    }
  }

  unregisterProducer(): void {
    this.producer = null;
    this.producerPaused = false;
  }

  getPeer(): IAddress {
    return this.host.peer;
  }

  getHost(): IAddress {
    return this.host.local;
  }

  pauseProducing(): void {
    this.inputPaused = true;
  }

  resumeProducing(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    this.schedule();
  }

  stopProducing(): void {
    this.abortConnection();
  }

  // -- input -----------------------------------------------------------------

  /** Read the host's input on a later turn (never inside the caller). */
  private schedule(): void {
    if (this.scheduled !== null || this.state === 'closed') return;
    this.scheduled = this.host.clock.callLater(0, () => {
      this.scheduled = null;
      this.drainInput();
    });
  }

  private drainInput(): void {
    while (!this.inputPaused && this.state === 'open') {
      const m = this.input.receive();
      if (m === null) return;
      this.guard('messageReceived', () => this.protocol.messageReceived(m));
    }
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.failure(`WebSocket app failed in ${what}`, err, 'error');
      if (what !== 'connectionLost' && this.state === 'open') this.close(1011, 'internal error');
    }
  }
}
