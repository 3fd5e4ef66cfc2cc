/**
 * A bounded byte ring in a SharedArrayBuffer: one producer and one consumer,
 * on two threads, with Atomics wait/notify. It is how a worker thread hands
 * bytes to the reactor (and back) without unbounded buffering: a full ring
 * makes the producer wait, an empty one makes the consumer wait.
 *
 * Either side may block (`writeBlocking`, `readBlocking`: worker threads only,
 * they call `Atomics.wait`) or not (`tryWrite`, `tryRead`, plus
 * `whenWritable`/`whenReadable`, promises built on `Atomics.waitAsync`: the
 * reactor thread uses these and never blocks).
 *
 * The producer `close()`s (a clean end: the consumer drains what is left, then
 * reads the end); either side may `abort()` (a dirty end: both sides' waits
 * wake and their next operation throws `RingAborted`).
 *
 * Waits never miss a wake-up: each direction has a sequence word that every
 * change bumps (data written or closed; space freed; abort bumps both). A side
 * reads the sequence, then checks its condition, then waits only while the
 * sequence is unchanged.
 */
import { InvalidArgumentError, RingAborted, RingClosed } from './errors.js';

/** Slots of the control block (Int32 each) at the start of the buffer. */
const WRITE_POS = 0; // producer's position, in [0, 2 * capacity)
const READ_POS = 1; // consumer's position, same range
const FLAGS = 2;
const DATA_SEQ = 3; // bumped on write, close and abort
const SPACE_SEQ = 4; // bumped on read and abort
const CAPACITY = 5;
const HEADER_BYTES = 32;

const CLOSED = 1;
const ABORTED = 2;

/** The largest ring: positions run to twice the capacity and must fit an Int32. */
export const RING_MAX_CAPACITY = 1 << 29;

type WaitAsync = (ta: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class ByteRing {
  /** The shared memory: post it to the other thread and `ByteRing.attach` it there. */
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ctl = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.capacity = Atomics.load(this.ctl, CAPACITY);
    this.data = new Uint8Array(buffer, HEADER_BYTES, this.capacity);
  }

  /** A new empty ring holding at most `capacity` bytes (1 .. RING_MAX_CAPACITY). */
  static create(capacity: number): ByteRing {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > RING_MAX_CAPACITY) {
      throw new InvalidArgumentError(
        `ByteRing capacity must be an integer from 1 to ${RING_MAX_CAPACITY} bytes; got ${capacity}`,
      );
    }
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity);
    new Int32Array(buffer, 0, HEADER_BYTES / 4)[CAPACITY] = capacity;
    return new ByteRing(buffer);
  }

  /** The same ring seen from another thread (or another owner on this one). */
  static attach(buffer: SharedArrayBuffer): ByteRing {
    return new ByteRing(buffer);
  }

  /** Bytes written and not yet read. */
  available(): number {
    const span = 2 * this.capacity;
    return (Atomics.load(this.ctl, WRITE_POS) - Atomics.load(this.ctl, READ_POS) + span) % span;
  }

  /** Room left for the producer. */
  space(): number {
    return this.capacity - this.available();
  }

  get closed(): boolean {
    return (Atomics.load(this.ctl, FLAGS) & CLOSED) !== 0;
  }

  get aborted(): boolean {
    return (Atomics.load(this.ctl, FLAGS) & ABORTED) !== 0;
  }

  // ------------------------------------------------------------------ producer

  /**
   * Copy as much of `src` (from `offset`) as fits; returns the count (0 when
   * full). Throws `RingAborted` after an abort, `RingClosed` after `close()`.
   */
  tryWrite(src: Uint8Array, offset = 0): number {
    const flags = Atomics.load(this.ctl, FLAGS);
    if (flags & ABORTED) throw new RingAborted();
    if (flags & CLOSED) throw new RingClosed();
    const n = Math.min(src.length - offset, this.space());
    if (n <= 0) return 0;
    const span = 2 * this.capacity;
    const w = Atomics.load(this.ctl, WRITE_POS);
    const at = w % this.capacity;
    const first = Math.min(n, this.capacity - at);
    this.data.set(src.subarray(offset, offset + first), at);
    if (first < n) this.data.set(src.subarray(offset + first, offset + n), 0);
    // The Atomics store publishes the plain byte copies above to the consumer.
    Atomics.store(this.ctl, WRITE_POS, (w + n) % span);
    Atomics.add(this.ctl, DATA_SEQ, 1);
    Atomics.notify(this.ctl, DATA_SEQ);
    return n;
  }

  /**
   * Write all of `src`, waiting (Atomics.wait: worker threads only) while the
   * ring is full. `beforeWait` runs each time just before this thread blocks.
   */
  writeBlocking(src: Uint8Array, beforeWait?: () => void): void {
    let offset = 0;
    while (offset < src.length) {
      const seq = Atomics.load(this.ctl, SPACE_SEQ);
      const n = this.tryWrite(src, offset);
      offset += n;
      if (n === 0) {
        beforeWait?.();
        Atomics.wait(this.ctl, SPACE_SEQ, seq);
      }
    }
  }

  /** The producer's clean end: the consumer reads what is left, then the end. Idempotent. */
  close(): void {
    Atomics.or(this.ctl, FLAGS, CLOSED);
    Atomics.add(this.ctl, DATA_SEQ, 1);
    Atomics.notify(this.ctl, DATA_SEQ);
  }

  /**
   * Resolves once the producer may write again (space, or an abort); `null`
   * when it may write now. Never blocks the calling thread.
   */
  whenWritable(): Promise<void> | null {
    const seq = Atomics.load(this.ctl, SPACE_SEQ);
    if (this.space() > 0 || this.aborted) return null;
    return settle(waitAsync(this.ctl, SPACE_SEQ, seq));
  }

  // ------------------------------------------------------------------ consumer

  /**
   * A copy of up to `max` available bytes, or `null` when none are (check
   * `closed` for the end). Throws `RingAborted` after an abort.
   */
  tryRead(max = this.capacity): Uint8Array | null {
    if (this.aborted) throw new RingAborted();
    const n = Math.min(max, this.available());
    if (n <= 0) return null;
    // Not zero-filled: every byte is copied over at once (a memset saved per read).
    const raw = Buffer.allocUnsafeSlow(n);
    const out = new Uint8Array(raw.buffer, raw.byteOffset, n);
    this.readInto(out, n);
    return out;
  }

  /**
   * Up to `max` bytes, waiting (Atomics.wait: worker threads only) until some
   * arrive; empty at the end. Throws `RingAborted` after an abort.
   * `beforeWait` runs each time just before this thread blocks (e.g. to ask
   * the producer for more).
   */
  readBlocking(max = this.capacity, beforeWait?: () => void): Uint8Array {
    for (;;) {
      const seq = Atomics.load(this.ctl, DATA_SEQ);
      const chunk = this.tryRead(max);
      if (chunk) return chunk;
      if (this.closed) return new Uint8Array(0);
      beforeWait?.();
      Atomics.wait(this.ctl, DATA_SEQ, seq);
    }
  }

  /**
   * Resolves once there is something to read (data, the end, or an abort);
   * `null` when there is now. Never blocks the calling thread.
   */
  whenReadable(): Promise<void> | null {
    const seq = Atomics.load(this.ctl, DATA_SEQ);
    if (this.available() > 0 || (Atomics.load(this.ctl, FLAGS) & (CLOSED | ABORTED)) !== 0) return null;
    return settle(waitAsync(this.ctl, DATA_SEQ, seq));
  }

  // ------------------------------------------------------------------ either side

  /** Give up: wake both sides; their next operation throws `RingAborted`. Idempotent. */
  abort(): void {
    Atomics.or(this.ctl, FLAGS, ABORTED);
    Atomics.add(this.ctl, DATA_SEQ, 1);
    Atomics.add(this.ctl, SPACE_SEQ, 1);
    Atomics.notify(this.ctl, DATA_SEQ);
    Atomics.notify(this.ctl, SPACE_SEQ);
  }

  private readInto(out: Uint8Array, n: number): void {
    const span = 2 * this.capacity;
    const r = Atomics.load(this.ctl, READ_POS);
    const at = r % this.capacity;
    const first = Math.min(n, this.capacity - at);
    out.set(this.data.subarray(at, at + first), 0);
    if (first < n) out.set(this.data.subarray(0, n - first), first);
    Atomics.store(this.ctl, READ_POS, (r + n) % span);
    Atomics.add(this.ctl, SPACE_SEQ, 1);
    Atomics.notify(this.ctl, SPACE_SEQ);
  }
}

function settle(r: { async: boolean; value: Promise<string> | string }): Promise<void> | null {
  return r.async ? (r.value as Promise<string>).then(() => undefined) : null;
}
