/**
 * `StringTransport`: a transport that records what is written to it, for
 * testing protocols without sockets (Twisted's `proto_helpers.StringTransport`).
 *
 * It never calls the protocol back: a test feeds bytes with
 * `protocol.dataReceived(...)`, reads what the protocol wrote with `value()`,
 * and plays the peer's part in flow control with `pauseRegisteredProducer()` /
 * `resumeRegisteredProducer()` or the `highWater` option.
 */
import { ConnectionLost, ProducerAlreadyRegisteredError, ProducerStoppedError } from './errors.js';
import type { IAddress, IProducer, IPushProducer, ITransport } from './interfaces.js';
import { checkWritable } from './writecheck.js';

export interface StringTransportOptions {
  /** What `getPeer()` returns. Default `{ host: '192.0.2.1', port: 54321 }`. */
  peer?: IAddress;
  /** What `getHost()` returns. Default `{ host: '127.0.0.1', port: 8080 }`. */
  host?: IAddress;
  /**
   * Simulated write buffer limit in bytes: when more than this has been written
   * since the last `clear()`, a registered push producer is paused; `clear()`
   * (the peer read everything) resumes it. Default: no limit.
   */
  highWater?: number;
}

/** What pause/resume/stop calls on the transport itself (as a producer of incoming data) did. */
export type ProducerState = 'producing' | 'paused' | 'stopped';

const decoder = new TextDecoder();

export class StringTransport implements ITransport {
  /** True once `loseConnection` or `abortConnection` was called. */
  disconnecting = false;
  /** True once `abortConnection` was called. */
  aborted = false;
  /** True once `loseWriteConnection` was called (half-close). */
  writeDisconnected = false;
  /** The reason given to `loseConnection(reason)`, or `ConnectionLost` after an abort. */
  closeReason: Error | null = null;
  /** The registered producer, if any, and whether it is a push producer. */
  producer: IProducer | null = null;
  streaming = false;
  /** State of the transport as a producer: what the protocol asked of its reading side. */
  producerState: ProducerState = 'producing';
  /** True while this transport has the registered push producer paused. */
  registeredProducerPaused = false;
  readonly highWater: number | undefined;

  private readonly peer: IAddress;
  private readonly host: IAddress;
  private chunks: Uint8Array[] = [];
  private written = 0;

  constructor(options: StringTransportOptions = {}) {
    this.peer = options.peer ?? { host: '192.0.2.1', port: 54321, family: 'IPv4' };
    this.host = options.host ?? { host: '127.0.0.1', port: 8080, family: 'IPv4' };
    this.highWater = options.highWater;
  }

  write(data: Uint8Array): void {
    checkWritable(data, 'StringTransport.write');
    // Copy: the caller may reuse its buffer, and value() must show what was written then.
    this.chunks.push(Uint8Array.prototype.slice.call(data));
    this.written += data.byteLength;
    if (this.highWater !== undefined && this.written > this.highWater) this.pauseRegisteredProducer();
  }

  writeSequence(data: Iterable<Uint8Array>): void {
    for (const chunk of data) this.write(chunk);
  }

  /** Everything written since the last `clear()`, as one array. */
  value(): Uint8Array {
    if (this.chunks.length !== 1) {
      const all = new Uint8Array(this.written);
      let at = 0;
      for (const c of this.chunks) {
        all.set(c, at);
        at += c.byteLength;
      }
      this.chunks = [all];
    }
    return this.chunks[0] ?? new Uint8Array(0);
  }

  /** `value()` decoded as UTF-8. */
  valueString(): string {
    return decoder.decode(this.value());
  }

  /** Forget what was written (the peer read it); resumes a producer paused by `highWater`. */
  clear(): void {
    this.chunks = [];
    this.written = 0;
    if (this.highWater !== undefined) this.resumeRegisteredProducer();
  }

  loseConnection(reason?: Error): void {
    this.disconnecting = true;
    this.closeReason ??= reason ?? null;
  }

  abortConnection(): void {
    this.disconnecting = true;
    this.aborted = true;
    this.closeReason ??= new ConnectionLost('connection aborted by abortConnection()');
  }

  loseWriteConnection(): void {
    this.writeDisconnected = true;
  }

  getPeer(): IAddress {
    return { ...this.peer };
  }

  getHost(): IAddress {
    return { ...this.host };
  }

  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.producer !== null) throw new ProducerAlreadyRegisteredError();
    this.producer = producer;
    this.streaming = streaming;
    this.registeredProducerPaused = false;
    // As the real transports do: a pull producer is asked for data at once.
    if (!streaming) producer.resumeProducing();
    else if (this.highWater !== undefined && this.written > this.highWater) this.pauseRegisteredProducer();
  }

  unregisterProducer(): void {
    this.producer = null;
    this.streaming = false;
    this.registeredProducerPaused = false;
  }

  /**
   * Play a peer that stopped reading: pause the registered push producer. Does
   * nothing when none is registered or it is already paused, so calls balance.
   */
  pauseRegisteredProducer(): void {
    if (this.producer === null || !this.streaming || this.registeredProducerPaused) return;
    this.registeredProducerPaused = true;
    (this.producer as IPushProducer).pauseProducing();
  }

  /**
   * Play a peer that read everything: resume a push producer this transport
   * paused, or ask a pull producer for more (`resumeProducing`).
   */
  resumeRegisteredProducer(): void {
    if (this.producer === null) return;
    if (this.streaming) {
      if (!this.registeredProducerPaused) return;
      this.registeredProducerPaused = false;
    }
    this.producer.resumeProducing();
  }

  pauseProducing(): void {
    this.checkNotStopped('pauseProducing');
    this.producerState = 'paused';
  }

  resumeProducing(): void {
    this.checkNotStopped('resumeProducing');
    this.producerState = 'producing';
  }

  stopProducing(): void {
    this.producerState = 'stopped';
  }

  private checkNotStopped(what: string): void {
    if (this.producerState === 'stopped') {
      throw new ProducerStoppedError(what);
    }
  }
}
