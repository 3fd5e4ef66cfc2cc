/**
 * One end of a `loopback()` connection. The pump (in loopback.ts) calls
 * `pumpTo(peer)` to move this end's queued bytes, FIN and close to the peer.
 */
import { ConnectionDone, ConnectionLost, ProducerAlreadyRegisteredError } from './errors.js';
import { Failure } from './failure.js';
import type { IAddress, IProducer, IProtocol, IPushProducer, ITransport } from './interfaces.js';
import { Logger } from './log.js';
import { checkWritable } from './writecheck.js';

const log = new Logger('spindle.loopback');

export class LoopbackTransport implements ITransport {
  disconnecting = false;
  peer!: LoopbackTransport;
  /** True once this end's `connectionLost` ran. */
  lost = false;

  private queue: Uint8Array[] = [];
  private queued = 0;
  private producer: IProducer | null = null;
  private streaming = false;
  private producerPaused = false;
  private pullWanted = false;
  private readPaused = false;
  private reading = true;
  private writeClosed = false;
  private finDelivered = false;
  private gotFin = false;
  private closeAfterFin = false;
  private aborted = false;
  private reasonOverride: unknown = null;

  constructor(
    private readonly protocol: IProtocol,
    private readonly host: IAddress,
    private readonly peerAddress: IAddress,
    readonly bufferLimit: number,
    private readonly activity: () => void,
  ) {}

  start(): void {
    this.guard('makeConnection', () => this.protocol.makeConnection(this));
  }

  /** Bytes written and not yet delivered to the peer. */
  get bufferSize(): number {
    return this.queued;
  }

  write(data: Uint8Array): void {
    checkWritable(data, 'transport.write');
    if (this.writeClosed || this.lost || this.aborted || data.byteLength === 0) return;
    this.queue.push(Uint8Array.prototype.slice.call(data));
    this.queued += data.byteLength;
    if (this.producer !== null && !this.streaming) this.pullWanted = true;
    this.checkLimit();
    this.activity();
  }

  writeSequence(data: Iterable<Uint8Array>): void {
    for (const chunk of data) this.write(chunk);
  }

  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.producer !== null) throw new ProducerAlreadyRegisteredError();
    if (this.lost) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streaming = streaming;
    if (streaming) this.checkLimit();
    else producer.resumeProducing();
  }

  unregisterProducer(): void {
    if (this.producer === null) return;
    this.producer = null;
    this.producerPaused = false;
    this.pullWanted = false;
    if (this.disconnecting && !this.aborted && !this.lost) {
      this.writeClosed = true;
      this.activity();
    }
  }

  loseConnection(reason?: Error): void {
    if (this.disconnecting || this.lost) return;
    this.disconnecting = true;
    this.reading = false;
    this.closeAfterFin = true;
    if (reason !== undefined) this.reasonOverride = reason;
    if (this.producer === null) this.writeClosed = true;
    this.activity();
  }

  abortConnection(): void {
    if (this.aborted || this.lost) return;
    this.disconnecting = true;
    this.aborted = true;
    this.reading = false;
    this.queue = [];
    this.queued = 0;
    this.activity();
  }

  loseWriteConnection(): void {
    if (this.writeClosed || this.lost) return;
    this.writeClosed = true;
    this.activity();
  }

  pauseProducing(): void {
    this.readPaused = true;
  }

  resumeProducing(): void {
    this.readPaused = false;
    this.peer.activity();
  }

  stopProducing(): void {
    this.loseConnection();
  }

  getPeer(): IAddress {
    return { ...this.peerAddress };
  }

  getHost(): IAddress {
    return { ...this.host };
  }

  /** Move this end's pending data, FIN and close to `dst`; true when anything moved. */
  pumpTo(dst: LoopbackTransport): boolean {
    if (this.lost) return false;
    if (this.aborted) {
      this.lose(this.reasonOverride ?? new ConnectionLost('connection aborted by abortConnection()'));
      if (!dst.lost) dst.lose(new ConnectionLost('connection reset by the peer (it called abortConnection())'));
      return true;
    }
    let moved = false;
    while (this.queue.length > 0 && !dst.lost && !dst.aborted && dst.reading && !dst.readPaused) {
      const chunk = this.queue.shift()!;
      this.queued -= chunk.byteLength;
      moved = true;
      dst.guard('dataReceived', () => dst.protocol.dataReceived(chunk));
    }
    if (this.queue.length > 0 && (dst.lost || dst.aborted || !dst.reading)) {
      this.queue = []; // nobody will read it: a closed socket discards what arrives
      this.queued = 0;
    }
    if (this.queued === 0 && !this.lost && this.producer !== null) {
      if (this.producerPaused) {
        this.producerPaused = false;
        moved = true;
        this.guard('resumeProducing', () => (this.producer as IPushProducer).resumeProducing());
      } else if (!this.streaming && this.pullWanted) {
        this.pullWanted = false;
        moved = true;
        this.guard('resumeProducing', () => this.producer!.resumeProducing());
      }
    }
    if (this.writeClosed && !this.finDelivered && this.queued === 0 && !this.lost) {
      this.finDelivered = true;
      moved = true;
      if (!dst.lost) dst.onPeerFin();
      this.maybeLose();
    }
    return moved;
  }

  private onPeerFin(): void {
    this.gotFin = true;
    if (this.writeClosed || !this.reading) {
      this.maybeLose();
      return;
    }
    this.reading = false;
    const p = this.protocol;
    if (typeof p.readConnectionLost === 'function') this.guard('readConnectionLost', () => p.readConnectionLost!());
    else this.loseConnection();
  }

  private maybeLose(): void {
    if (!this.lost && this.finDelivered && (this.gotFin || this.closeAfterFin))
      this.lose(this.reasonOverride ?? new ConnectionDone());
  }

  private checkLimit(): void {
    if (this.producer === null || !this.streaming || this.producerPaused || this.queued <= this.bufferLimit) return;
    this.producerPaused = true;
    (this.producer as IPushProducer).pauseProducing();
  }

  private lose(reason: unknown): void {
    if (this.lost) return;
    this.lost = true;
    this.disconnecting = true;
    this.queue = [];
    this.queued = 0;
    const producer = this.producer;
    this.producer = null;
    if (producer !== null) this.guard('stopProducing', () => producer.stopProducing(), false);
    this.guard('connectionLost', () => this.protocol.connectionLost(new Failure(reason)), false);
  }

  private guard(what: string, fn: () => void, abortOnError = true): void {
    try {
      fn();
    } catch (err) {
      log.failure(`${what} raised an exception on a loopback connection; aborting it`, err, 'error');
      if (abortOnError && !this.lost && !this.aborted) {
        this.reasonOverride = err;
        this.abortConnection();
      }
    }
  }
}
