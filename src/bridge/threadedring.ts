/**
 * Framed records in a SharedArrayBuffer, for threadedIterApp: the job queue the
 * workers pull requests from (one producer, the reactor thread, which never
 * blocks; many consumers, the workers, which claim a record with a
 * compare-and-swap) and each worker's output ring (one producer, the worker,
 * which blocks with Atomics.wait while the ring is full; one consumer, the
 * reactor thread, which peeks and takes records as its host pulls).
 *
 * A record is a 16-byte header (payload length, job id, type; little-endian
 * u32 each, then padding) and its payload padded to 8 bytes; either may wrap around the end of the data area.
 * Positions run over [0, 2 * capacity) so that full and empty differ (as in
 * reactor/ring.ts). The header block has spare Int32 words (`USER_WORD`..)
 * that the queue and the slots use for their own flags and sequence words.
 */
import { InvalidArgumentError } from '../reactor/errors.js';

const WRITE_POS = 0;
const READ_POS = 1;
/** Bumped on every record published: consumers that sleep wait on it. */
export const DATA_SEQ = 2;
/** Bumped on every record taken (and to wake a blocked producer). */
export const SPACE_SEQ = 3;
const CAPACITY = 4;
/** First Int32 word of the header free for the owner's use (up to HEADER_WORDS - 1). */
export const USER_WORD = 8;
export const HEADER_WORDS = 16;
const HEADER_BYTES = HEADER_WORDS * 4;
/**
 * 12 bytes used, 4 of padding; payloads are padded to 8 too. Every payload
 * then starts 8-byte aligned, as the app's buffers and the reactor's do: V8
 * copies to and from a SharedArrayBuffer (relaxed_memmove) a word at a time
 * only when both sides share their alignment, else a byte at a time, which
 * made a 128 MiB stream cost 1.6x the CPU with 12-byte headers.
 */
export const RECORD_HEADER = 16;
const pad = (n: number) => (n + 7) & ~7;

/** The largest ring: positions run to twice the capacity and must fit an Int32. */
const MAX_CAPACITY = 1 << 29;

export interface RecordHead {
  type: number;
  job: number;
  length: number;
}

export class RecordRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  /** The header words (shared). */
  readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  /** The data area for header words read and written in place (a header that wraps goes through `head`). */
  private readonly words: DataView;
  private readonly head = new Uint8Array(RECORD_HEADER);
  private readonly headView = new DataView(this.head.buffer);
  /** The record peek() found, taken by take()/skip(). */
  private peeked: RecordHead = { type: 0, job: 0, length: 0 };
  private peekedAt = -1;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.ctl = new Int32Array(buffer, 0, HEADER_WORDS);
    this.capacity = Atomics.load(this.ctl, CAPACITY);
    this.data = new Uint8Array(buffer, HEADER_BYTES, this.capacity);
    this.words = new DataView(buffer, HEADER_BYTES, this.capacity);
  }

  static create(capacity: number): RecordRing {
    if (!Number.isInteger(capacity) || capacity < RECORD_HEADER + 1 || capacity > MAX_CAPACITY) {
      throw new InvalidArgumentError(
        `threadedIterApp ring size must be an integer from ${RECORD_HEADER + 1} to ${MAX_CAPACITY} bytes; got ${capacity}`,
      );
    }
    const buffer = new SharedArrayBuffer(HEADER_BYTES + capacity);
    new Int32Array(buffer, 0, HEADER_WORDS)[CAPACITY] = capacity;
    return new RecordRing(buffer);
  }

  static attach(buffer: SharedArrayBuffer): RecordRing {
    return new RecordRing(buffer);
  }

  /** Bytes of records published and not yet taken. */
  used(): number {
    const span = 2 * this.capacity;
    return (Atomics.load(this.ctl, WRITE_POS) - Atomics.load(this.ctl, READ_POS) + span) % span;
  }

  /** Room for one more record's payload (whole 8-byte units) while the ring holds at most `limit` bytes (0: not even a header fits). */
  room(limit = this.capacity): number {
    return Math.max(0, (Math.min(limit, this.capacity) - this.used() - RECORD_HEADER) & ~7);
  }

  // ------------------------------------------------------------------ producer

  /** Publish one record if it fits whole (within `limit` bytes in the ring); false when it does not. */
  tryPut(type: number, job: number, payload: Uint8Array, limit = this.capacity): boolean {
    if (pad(payload.length) > this.room(limit)) return false;
    const w = Atomics.load(this.ctl, WRITE_POS);
    const span = 2 * this.capacity;
    const at = w % this.capacity;
    if (at + RECORD_HEADER <= this.capacity) {
      const words = this.words;
      words.setUint32(at, payload.length, true);
      words.setUint32(at + 4, job, true);
      words.setUint32(at + 8, type, true);
    } else {
      this.headView.setUint32(0, payload.length, true);
      this.headView.setUint32(4, job, true);
      this.headView.setUint32(8, type, true);
      this.copyIn(w, this.head);
    }
    if (payload.length > 0) this.copyIn((w + RECORD_HEADER) % span, payload);
    // The Atomics store publishes the plain byte copies above to the consumer.
    Atomics.store(this.ctl, WRITE_POS, (w + RECORD_HEADER + pad(payload.length)) % span);
    Atomics.add(this.ctl, DATA_SEQ, 1);
    return true;
  }

  /**
   * Publish one record, waiting (Atomics.wait: worker threads only) while it
   * does not fit; `stop()` is asked before each wait and throws to give up.
   * The payload must fit an empty ring (split larger ones).
   */
  putBlocking(type: number, job: number, payload: Uint8Array, stop: () => void, limit = this.capacity): void {
    for (;;) {
      const seq = Atomics.load(this.ctl, SPACE_SEQ);
      if (this.tryPut(type, job, payload, limit)) return;
      stop();
      Atomics.wait(this.ctl, SPACE_SEQ, seq);
    }
  }

  /**
   * Wait (worker threads only) until a record is taken or the producer is
   * woken, unless one was since `seq` (read SPACE_SEQ before checking room).
   */
  waitForRoom(seq: number): void {
    Atomics.wait(this.ctl, SPACE_SEQ, seq);
  }

  /** Wake a producer blocked in putBlocking (it asks its `stop()` again). */
  wakeProducer(): void {
    Atomics.add(this.ctl, SPACE_SEQ, 1);
    Atomics.notify(this.ctl, SPACE_SEQ);
  }

  // ------------------------------------------------------------------ single consumer

  /** The oldest record's header, or null when there is none; the same object until take()/skip(). */
  peek(): RecordHead | null {
    const r = Atomics.load(this.ctl, READ_POS);
    if (r === this.peekedAt) return this.peeked;
    if (r === Atomics.load(this.ctl, WRITE_POS)) return null;
    this.readHead(r, this.peeked);
    this.peekedAt = r;
    return this.peeked;
  }

  /** The peeked record's payload (a fresh copy) and the record gone from the ring (see release()). */
  take(): Uint8Array {
    const h = this.peeked;
    const out = Buffer.allocUnsafe(h.length);
    if (h.length > 0) this.copyOut((this.peekedAt + RECORD_HEADER) % (2 * this.capacity), out, h.length);
    this.skip();
    return out;
  }

  /**
   * The payloads of the peeked record and of those right behind it with the
   * same job and type, joined (up to `max` bytes, at least the first), and
   * those records gone (see release()): what is already there leaves in one
   * piece. One pass over the headers: where each payload lies is noted as it
   * is read, then the payloads are copied.
   */
  takeRun(max: number): Uint8Array {
    const first = this.peeked;
    const job = first.job;
    const type = first.type;
    const span = 2 * this.capacity;
    const w = Atomics.load(this.ctl, WRITE_POS);
    let pos = this.peekedAt;
    let total = 0;
    let count = 0;
    const h = this.scanHead;
    let run: Int32Array = this.run;
    while (pos !== w) {
      this.readHead(pos, h);
      if (h.job !== job || h.type !== type || (count > 0 && total + h.length > max)) break;
      if (2 * count === run.length) run = this.growRun();
      run[2 * count] = (pos + RECORD_HEADER) % span;
      run[2 * count + 1] = h.length;
      total += h.length;
      count++;
      pos = (pos + RECORD_HEADER + pad(h.length)) % span;
    }
    if (count === 1) return this.take();
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const n = run[2 * i + 1]!;
      if (n > 0) this.copyOut(run[2 * i]!, out.subarray(at, at + n), n);
      at += n;
    }
    this.peekedAt = -1;
    Atomics.store(this.ctl, READ_POS, pos);
    this.freed = true;
    return out;
  }

  /** Where takeRun's payloads lie (position, length), reused. */
  private run: Int32Array = new Int32Array(32);

  private growRun(): Int32Array {
    const next = new Int32Array(2 * this.run.length);
    next.set(this.run);
    return (this.run = next);
  }

  /** The peeked record's payload copied into `into` (which must hold it) and the record gone (see release()); its length. */
  takeInto(into: Uint8Array): number {
    const n = this.peeked.length;
    if (n > 0) this.copyOut((this.peekedAt + RECORD_HEADER) % (2 * this.capacity), into, n);
    this.skip();
    return n;
  }

  /** Drop the peeked record (see release()). */
  skip(): void {
    const span = 2 * this.capacity;
    const next = (this.peekedAt + RECORD_HEADER + pad(this.peeked.length)) % span;
    this.peekedAt = -1;
    Atomics.store(this.ctl, READ_POS, next);
    this.freed = true;
  }

  /**
   * Wake a producer waiting for room if records were taken since the last
   * call: the consumer calls it once it has taken what it takes now (one
   * Atomics.notify for a run of records, not one each).
   */
  release(): void {
    if (!this.freed) return;
    this.freed = false;
    this.wakeProducer();
  }

  private freed = false;

  /**
   * Whether the records from the oldest on that belong to `job` include one
   * of `type` (they are contiguous: a producer runs one job at a time).
   * Resumes where the last look for the same job stopped, so a job streaming
   * many small records is not rescanned from the start on every look.
   */
  holds(job: number, type: number): boolean {
    const span = 2 * this.capacity;
    const r = Atomics.load(this.ctl, READ_POS);
    const w = Atomics.load(this.ctl, WRITE_POS);
    const used = (w - r + span) % span;
    let pos = r;
    if (this.scanJob === job && (this.scanPos - r + span) % span <= used) pos = this.scanPos;
    const h = this.scanHead;
    while (pos !== w) {
      this.readHead(pos, h);
      if (h.job !== job) break;
      if (h.type === type) return true;
      pos = (pos + RECORD_HEADER + pad(h.length)) % span;
    }
    this.scanJob = job;
    this.scanPos = pos;
    return false;
  }

  private scanJob = -1;
  private scanPos = 0;
  private readonly scanHead: RecordHead = { type: 0, job: 0, length: 0 };

  // ------------------------------------------------------------------ many consumers

  /**
   * Claim the oldest record for this consumer (another may race for it): its
   * header, with the payload copied into `into` (grown when short), or null
   * when the ring is empty. Never blocks.
   */
  claim(into: { buf: Buffer }): RecordHead | null {
    const span = 2 * this.capacity;
    for (;;) {
      const r = Atomics.load(this.ctl, READ_POS);
      if (r === Atomics.load(this.ctl, WRITE_POS)) return null;
      const h: RecordHead = { type: 0, job: 0, length: 0 };
      this.readHead(r, h);
      // A racing consumer may have taken it and the producer reused the bytes: the CAS below fails then.
      if (h.length <= this.capacity - RECORD_HEADER) {
        if (into.buf.length < h.length) into.buf = Buffer.allocUnsafe(Math.max(h.length, 2 * into.buf.length));
        this.copyOut((r + RECORD_HEADER) % span, into.buf, h.length);
        const next = (r + RECORD_HEADER + pad(h.length)) % span;
        if (Atomics.compareExchange(this.ctl, READ_POS, r, next) === r) {
          Atomics.add(this.ctl, SPACE_SEQ, 1);
          return h;
        }
      }
    }
  }

  // ------------------------------------------------------------------ bytes

  private readHead(pos: number, h: RecordHead): void {
    const at = pos % this.capacity;
    if (at + RECORD_HEADER <= this.capacity) {
      const words = this.words;
      h.length = words.getUint32(at, true);
      h.job = words.getUint32(at + 4, true);
      h.type = words.getUint32(at + 8, true);
      return;
    }
    this.copyOut(pos, this.head, RECORD_HEADER);
    h.length = this.headView.getUint32(0, true);
    h.job = this.headView.getUint32(4, true);
    h.type = this.headView.getUint32(8, true);
  }

  private copyIn(pos: number, src: Uint8Array): void {
    const at = pos % this.capacity;
    const first = Math.min(src.length, this.capacity - at);
    this.data.set(first === src.length ? src : src.subarray(0, first), at);
    if (first < src.length) this.data.set(src.subarray(first), 0);
  }

  private copyOut(pos: number, out: Uint8Array, n: number): void {
    const at = pos % this.capacity;
    const first = Math.min(n, this.capacity - at);
    out.set(this.data.subarray(at, at + first), 0);
    if (first < n) out.set(this.data.subarray(0, n - first), first);
  }
}
