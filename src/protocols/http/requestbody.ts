/**
 * The input half of a `Request`: where the body goes once the app asks for it.
 * Until then the channel keeps the parser paused, so unread body bytes stay in
 * the parser's bounded buffer (and reading stops past that bound).
 *
 * Exactly one of: `deliverBody(protocol)` (streamed, with backpressure through
 * the protocol's transport), `readBody()` (buffered up to a limit), or a drain
 * the channel starts when the response finished without reading the body.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../../reactor/deferred.js';
import { ConnectionLost } from '../../reactor/errors.js';
import { Failure, responseDone } from '../../reactor/failure.js';
import type { IAddress, IProducer, IProtocol, ITransport } from '../../reactor/interfaces.js';
import { BodyAlreadyConsumedError, BodyTooLargeError } from './errors.js';

/** What the body needs from its channel. */
export interface BodyHost {
  /** The app asked for the body: send 100 Continue if owed and start parsing it. */
  bodyWanted(): void;
  /** The body consumer wants no more for now / wants more again. */
  pauseBody(): void;
  resumeBody(): void;
  /** A buffered read passed its limit: answer 413 (or abort) and close. */
  bodyTooLarge(error: BodyTooLargeError): void;
  getPeer(): IAddress;
  getHost(): IAddress;
}

type Mode = 'unread' | 'stream' | 'buffer' | 'drain';

/** No buffered chunks: shared, and frozen so that a push outside a buffered read throws (most requests never buffer). */
const NO_CHUNKS = Object.freeze([]) as unknown as Uint8Array[];

export class RequestBody {
  /** True once the parser reported the end of the body. */
  complete: boolean;
  /** Bytes of body seen so far. */
  received = 0;
  private mode: Mode = 'unread';
  private protocol: IProtocol | null = null;
  private chunks = NO_CHUNKS;
  private limit = 0;
  private deferred: Deferred<Uint8Array> | null = null;
  private ended = false;

  constructor(
    private readonly host: BodyHost,
    /** Declared length, -1 chunked, 0 none. */
    readonly declaredLength: number,
  ) {
    this.complete = declaredLength === 0;
  }

  get consumed(): boolean {
    return this.mode !== 'unread';
  }

  deliver(protocol: IProtocol): void {
    if (this.mode !== 'unread') throw new BodyAlreadyConsumedError();
    this.mode = 'stream';
    this.protocol = protocol;
    protocol.makeConnection(this.bodyTransport());
    if (this.complete) return this.finish(responseDone());
    this.host.bodyWanted();
  }

  read(limit: number): Deferred<Uint8Array> {
    if (this.mode !== 'unread') throw new BodyAlreadyConsumedError();
    this.mode = 'buffer';
    this.chunks = [];
    this.limit = limit;
    const d = new Deferred<Uint8Array>();
    this.deferred = d;
    if (this.declaredLength > limit) {
      const err = new BodyTooLargeError(limit, this.declaredLength);
      this.ended = true;
      this.host.bodyTooLarge(err);
      d.errback(err);
      return d;
    }
    if (this.complete) {
      this.ended = true;
      d.callback(new Uint8Array(0));
      return d;
    }
    this.host.bodyWanted();
    return d;
  }

  /** The channel drains an unread body after the response; returns false if it cannot. */
  drain(): void {
    this.mode = 'drain';
  }

  get draining(): boolean {
    return this.mode === 'drain';
  }

  onData(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.ended) return;
    if (this.mode === 'stream') this.protocol!.dataReceived(chunk);
    else if (this.mode === 'buffer') {
      if (this.received > this.limit) {
        // A chunked body (or one longer than declared) passed the limit while it streams:
        // the same answer as a declared length past it. The 413 goes out before the
        // errback runs, so an app whose errback fails its response (a Deferred it
        // returned, an await that throws) cannot turn it into a 500.
        const err = new BodyTooLargeError(this.limit, this.received, true);
        this.ended = true;
        this.chunks = NO_CHUNKS;
        this.host.bodyTooLarge(err);
        this.deferred!.errback(err);
        return;
      }
      this.chunks.push(chunk);
    }
  }

  onEnd(): void {
    this.complete = true;
    if (this.ended) return;
    if (this.mode === 'stream') this.finish(responseDone());
    else if (this.mode === 'buffer') {
      this.ended = true;
      const all = Buffer.concat(this.chunks, this.received);
      this.chunks = NO_CHUNKS;
      this.deferred!.callback(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
    }
  }

  /** The connection went away (or the body could not be parsed) before the end. */
  onLost(reason: unknown): void {
    if (this.ended || this.complete) return;
    const lost = new ConnectionLost('the client went away before the request body ended', { cause: reason });
    if (this.mode === 'stream') this.finish(new Failure(lost));
    else if (this.mode === 'buffer') {
      this.ended = true;
      this.chunks = NO_CHUNKS;
      this.deferred!.errback(lost);
    }
    this.ended = true;
  }

  private finish(reason: Failure): void {
    this.ended = true;
    const p = this.protocol!;
    p.connectionLost(reason);
  }

  /** The transport a body protocol sees: flow control only, writing is not allowed. */
  private bodyTransport(): ITransport {
    const host = this.host;
    let paused = false;
    const refuse = () => {
      throw new TypeError('a request body transport is read-only: write the response through the request');
    };
    return {
      disconnecting: false,
      pauseProducing: () => {
        if (paused) return;
        paused = true;
        host.pauseBody();
      },
      resumeProducing: () => {
        if (!paused) return;
        paused = false;
        host.resumeBody();
      },
      stopProducing: () => {
        if (paused) host.resumeBody();
        paused = false;
        this.ended = true;
        if (this.mode === 'stream') this.mode = 'drain';
      },
      write: refuse,
      writeSequence: refuse,
      registerProducer: (_p: IProducer, _s: boolean) => refuse(),
      unregisterProducer: () => {},
      loseConnection: () => {},
      abortConnection: () => {},
      loseWriteConnection: () => {},
      getPeer: () => host.getPeer(),
      getHost: () => host.getHost(),
    };
  }
}
