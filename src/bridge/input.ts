/**
 * `wsgi.input` on the reactor thread (G11, G15): a bounded buffer fed by
 * `request.deliverBody()`. `read()` never blocks: it returns what has arrived.
 * `wsgi.input_handler` tells the app when more arrived or the body ended.
 *
 * Upload backpressure: past `highWater` unread bytes the buffer pauses the
 * body transport (the server stops reading the socket) and resumes it once
 * the app has read it down to half. Delivery starts lazily, on the first read
 * or handler registration, so `100 Continue` goes out only when the app wants
 * the body (G11; the server sends it from `deliverBody`).
 */
import { ResponseDone } from '../reactor/errors.js';
import type { Failure } from '../reactor/failure.js';
import type { IReactorTime, ITransport } from '../reactor/interfaces.js';
import type { WsgiInput } from './interfaces.js';

/** Unread request-body bytes the gateway holds before it stops reading the socket. */
export const INPUT_HIGH_WATER = 64 * 1024;

const EMPTY = new Uint8Array(0);

export interface StreamingInputOptions {
  /** Starts delivery: the gateway passes `(p) => request.deliverBody(p)`. */
  deliver: (protocol: StreamingInput) => void;
  clock: IReactorTime;
  /** The request's Content-Length, or null (chunked, or no body). Nothing past it is kept. */
  contentLength: number | null;
  highWater?: number;
  /** Called when the app's `onReadable` throws. */
  onHandlerError: (err: unknown) => void;
}

/**
 * What both inputs share: the app's `wsgi.input_handler`, run from the reactor
 * (never inside the app's call), at most one notification pending.
 */
abstract class HandlerNotice {
  protected stopped = false;
  protected handler: (() => void) | null = null;
  private notifyScheduled = false;
  protected abstract readonly opts: EmptyInputOptions;

  /** Coalesced: at most one pending notification; runs from the reactor, never inside the app's call. */
  protected notify(): void {
    if (!this.handler || this.notifyScheduled) return;
    this.notifyScheduled = true;
    this.opts.clock.callLater(0, () => {
      this.notifyScheduled = false;
      const fn = this.handler;
      if (!fn || this.stopped) return;
      try {
        fn();
      } catch (err) {
        this.opts.onHandlerError(err);
      }
    });
  }
}

/** `wsgi.input` streaming from the request body. Also the `IProtocol` given to `deliverBody`. */
export class StreamingInput extends HandlerNotice implements WsgiInput {
  /** Unread chunks from index `first` on (a moving start: `Array.shift()` is O(n), quadratic over many small chunks). */
  private chunks: Uint8Array[] = [];
  private first = 0;
  private head = 0; // offset into chunks[first]
  private buffered = 0;
  private received = 0;
  private ended = false;
  private gone = false;
  private started = false;
  private readingPaused = false;
  private transport: ITransport | null = null;
  private readonly highWater: number;

  constructor(protected readonly opts: StreamingInputOptions) {
    super();
    this.highWater = opts.highWater ?? INPUT_HIGH_WATER;
  }

  /** A finished input holding `body` (whole-body mode, `bufferInput`). */
  static fromBytes(body: Uint8Array, clock: IReactorTime): StreamingInput {
    const input = new StreamingInput({
      deliver: () => {},
      clock,
      contentLength: body.length,
      onHandlerError: () => {},
    });
    input.started = true;
    if (body.length > 0) input.push(body);
    input.ended = true;
    return input;
  }

  get atEOF(): boolean {
    return this.ended && this.buffered === 0;
  }
  get clientGone(): boolean {
    return this.gone;
  }
  /** Unread bytes held now (for stats and tests). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  // -- IProtocol, driven by deliverBody --
  makeConnection(transport: ITransport): void {
    this.transport = transport;
    this.checkWater();
  }
  dataReceived(data: Uint8Array): void {
    if (this.ended || this.gone || this.stopped) return;
    // G11: never past CONTENT_LENGTH, whatever the transport hands us.
    const cl = this.opts.contentLength;
    if (cl !== null && this.received + data.length > cl) data = data.subarray(0, Math.max(0, cl - this.received));
    if (data.length === 0) return;
    this.received += data.length;
    this.push(data);
    this.checkWater();
    this.notify();
  }
  connectionLost(reason: Failure): void {
    if (this.ended || this.gone) return;
    // End of body and client gone are told apart (G11).
    if (reason.value instanceof ResponseDone) this.ended = true;
    else this.gone = true;
    if (!this.stopped) this.notify();
  }

  // -- WsgiInput --
  read(size?: number): Uint8Array {
    this.start();
    const n = size === undefined || size < 0 ? this.buffered : Math.min(size, this.buffered);
    return this.take(n);
  }
  readline(size?: number): Uint8Array {
    this.start();
    const limit = size === undefined || size < 0 ? Infinity : size;
    const nl = this.indexOfNewline();
    if (nl >= 0) return this.take(Math.min(nl + 1, limit));
    if (this.buffered >= limit) return this.take(limit);
    // No whole line yet: wait for more, unless none can come (end, client gone,
    // or reading paused because the buffer is full — then a long line comes in pieces).
    if (this.ended || this.gone || this.buffered >= this.highWater) return this.take(this.buffered);
    return EMPTY;
  }
  readlines(hint?: number): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const line = this.readline();
      if (line.length === 0) return lines;
      lines.push(line);
      total += line.length;
      if (hint !== undefined && hint > 0 && total >= hint) return lines;
    }
  }
  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (;;) {
      const line = this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** `wsgi.input_handler`: `onReadable` runs whenever bytes or the end arrive; never synchronously here. */
  setHandler(onReadable: () => void): void {
    this.handler = onReadable;
    this.start();
    if (this.buffered > 0 || this.ended || this.gone) this.notify();
  }

  /** The response ended: drop what is held and let the server drain the rest of the body. */
  stop(): void {
    this.stopped = true;
    this.handler = null;
    if (this.chunks.length > 0) this.chunks = [];
    this.first = 0;
    this.head = 0;
    this.buffered = 0;
    this.checkWater();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.opts.deliver(this);
  }

  private push(data: Uint8Array): void {
    this.chunks.push(data);
    this.buffered += data.length;
  }

  private checkWater(): void {
    const t = this.transport;
    if (!t) return;
    if (!this.readingPaused && this.buffered >= this.highWater && !this.stopped) {
      this.readingPaused = true;
      t.pauseProducing();
    } else if (this.readingPaused && (this.buffered <= this.highWater / 2 || this.stopped)) {
      this.readingPaused = false;
      t.resumeProducing();
    }
  }

  private indexOfNewline(): number {
    let base = 0;
    for (let i = this.first; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const from = i === this.first ? this.head : 0;
      const at = c.indexOf(10, from);
      if (at >= 0) return base + at - from;
      base += c.length - from;
    }
    return -1;
  }

  private take(n: number): Uint8Array {
    if (n <= 0) return EMPTY;
    const front = this.chunks[this.first]!;
    let out: Uint8Array;
    if (front.length - this.head >= n) {
      out = front.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === front.length) this.dropFirst();
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[this.first]!;
        const m = Math.min(n - filled, c.length - this.head);
        out.set(c.subarray(this.head, this.head + m), filled);
        filled += m;
        this.head += m;
        if (this.head === c.length) this.dropFirst();
      }
    }
    this.buffered -= n;
    this.checkWater();
    return out;
  }

  /** The first chunk was read to its end: move past it; the array is rebuilt only after half of it was read. */
  private dropFirst(): void {
    this.chunks[this.first++] = EMPTY;
    this.head = 0;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 1024 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

/** What the gateway asks of a body-less request's input (the clock and the handler's failures, as StreamingInputOptions). */
export type EmptyInputOptions = Pick<StreamingInputOptions, 'clock' | 'onHandlerError'>;

/**
 * `wsgi.input` of a request the server knows has no body (no Content-Length,
 * or 0, and not chunked: RFC 9112 §6.3): what a `StreamingInput` of an empty
 * body does, as the app sees it, without its buffer, its fields or asking the
 * server for the body. Reads give nothing; `atEOF` turns true at the first
 * read or handler, as a streaming input's does once delivery ended the body;
 * a handler runs once, from the reactor (never inside the app's call), as at
 * the end of a body; the client leaving is not a body that stopped short.
 */
export class EmptyInput extends HandlerNotice implements WsgiInput {
  private started = false;

  constructor(protected readonly opts: EmptyInputOptions) {
    super();
  }

  get atEOF(): boolean {
    return this.started;
  }
  get clientGone(): boolean {
    return false;
  }
  /** Unread bytes held now: none. */
  get bufferedBytes(): number {
    return 0;
  }

  read(_size?: number): Uint8Array {
    this.started = true;
    return EMPTY;
  }
  readline(_size?: number): Uint8Array {
    this.started = true;
    return EMPTY;
  }
  readlines(_hint?: number): Uint8Array[] {
    this.started = true;
    return [];
  }
  *[Symbol.iterator](): Iterator<Uint8Array> {
    this.started = true;
  }

  /** `wsgi.input_handler`: the body has ended, so `onReadable` runs once, from the reactor. */
  setHandler(onReadable: () => void): void {
    this.handler = onReadable;
    this.started = true;
    this.notify();
  }

  /** The response ended: no handler runs after this. */
  stop(): void {
    this.stopped = true;
    this.handler = null;
  }
}
