/**
 * Larger socket reads for a client connection (`ConnectOptions.readBufferSize`).
 *
 * Node reads a socket 64 KiB at a time into fresh memory. A bulk download (a
 * proxy's upstream, a large body) then costs one `read(2)`, one reactor turn and
 * one `dataReceived` per 64 KiB. With Node's `onread` option the transport reads
 * into a buffer of its own choosing, up to `readBufferSize` bytes at a time.
 *
 * No delivered byte is overwritten while anyone may hold it: a read that filled at
 * least a quarter of the buffer is handed over as a view and the next read gets
 * fresh memory (so a protocol may keep or write the bytes it was given, as with
 * Node's own reads); a smaller read is copied out and the buffer is read into
 * again. The buffer starts at Node's 64 KiB, grows (x4, up to `readBufferSize`)
 * while reads fill it, and goes back to 64 KiB after a small read, so an idle
 * connection holds 64 KiB.
 *
 * Release after flush: fresh memory per read is garbage per read, and V8 frees
 * read buffers only when a young-generation GC runs, which under a bulk transfer
 * is once per 32 MiB of such buffers (V8 11's trigger: twice its default maximum
 * semi-space, whatever `--max-semi-space-size` says), so the process's memory
 * swings by that much. A consumer that has passed the bytes on and knows nothing
 * holds them any more (a proxy whose write went to the kernel) says so with
 * `releaseRead(chunk)`:
 *
 * - during the `dataReceived` call that delivered them: the same buffer takes
 *   the next read;
 * - later (the write was flushed after the call returned): the buffer becomes one
 *   of the connection's `SPARE_READ_BUFFERS`, taken by a later read.
 *
 * So a transfer whose writes keep up allocates nothing per read. Anyone in the
 * chain who still holds bytes of a read past the call (a parser's read-ahead)
 * says `keepRead(chunk)` during it; that wins, and the buffer is left to the GC
 * as before. Without a release nothing changes: a protocol that knows nothing of
 * this keeps every byte it was given, as with Node's own reads.
 */
import { Buffer } from 'node:buffer';

/** The first and the idle size of a connection's read buffer: Node's own read size. */
export const BASE_READ_BYTES = 64 * 1024;

/** Released buffers a connection keeps for its next reads (more go to the GC). */
export const SPARE_READ_BUFFERS = 2;

/** One connection's read buffers. */
class Reader {
  buf: Buffer;
  readonly spare: Buffer[] = [];

  constructor(
    private readonly max: number,
    private readonly deliver: (chunk: Buffer) => void,
  ) {
    this.buf = Buffer.allocUnsafeSlow(Math.min(BASE_READ_BYTES, max));
  }

  /** Node read `n` bytes into `buf`: hand them over, choose the next read's buffer. */
  read(n: number): void {
    const buf = this.buf;
    if (n < buf.length >>> 2) {
      const chunk = Buffer.allocUnsafe(n);
      buf.copy(chunk, 0, 0, n);
      if (buf.length > BASE_READ_BYTES) this.next(BASE_READ_BYTES);
      this.deliver(chunk);
      return;
    }
    // A full read means more is waiting: read more at once next time.
    const size = n === buf.length ? Math.min(buf.length * 4, this.max) : buf.length;
    const verdict = lend(buf, n, this.deliver);
    if (verdict === REUSE && size === buf.length) return;
    // Not released yet: a later releaseRead() may give it back.
    if (verdict === LENT) outstanding.set(buf.buffer, { reader: this, buf });
    this.next(size);
  }

  /** The next read goes into a spare of `size` bytes, or fresh memory. */
  private next(size: number): void {
    let spare = this.spare.pop();
    while (spare !== undefined && spare.length !== size) spare = this.spare.pop();
    this.buf = spare ?? Buffer.allocUnsafeSlow(size);
  }

  /** A lent buffer came back. */
  giveBack(buf: Buffer): void {
    if (buf.length === this.buf.length && this.spare.length < SPARE_READ_BUFFERS) this.spare.push(buf);
  }
}

const REUSE = 0;
const LENT = 1;
const KEPT = 2;

/** Lent buffers not yet released, by their memory. */
const outstanding = new WeakMap<ArrayBufferLike, { reader: Reader; buf: Buffer }>();

/** The buffer of the large read being delivered now, and what its consumers said of it. */
let lending: ArrayBufferLike | null = null;
let released = false;
let kept = false;

/**
 * The bytes of `chunk` (delivered by a connection with `readBufferSize`) were
 * written on and nothing holds them any more: its read's memory may take a later
 * read. Ignored for any other memory, and for a read someone kept.
 */
export function releaseRead(chunk: Uint8Array): void {
  const memory = chunk.buffer;
  if (memory === lending) {
    released = true;
    return;
  }
  const owner = outstanding.get(memory);
  if (owner === undefined) return;
  outstanding.delete(memory);
  owner.reader.giveBack(owner.buf);
}

/** Bytes of `chunk`'s read are still held past the delivering call: its memory is never read into again. */
export function keepRead(chunk: Uint8Array): void {
  if (chunk.buffer === lending) kept = true;
}

/** Hand `buf`'s first `n` bytes over as a view: REUSE (released, not kept), LENT, or KEPT. */
function lend(buf: Buffer, n: number, deliver: (chunk: Buffer) => void): number {
  // Saved and restored, should a delivery ever run inside another one.
  const outer = lending;
  const outerReleased = released;
  const outerKept = kept;
  lending = buf.buffer;
  released = kept = false;
  try {
    deliver(buf.subarray(0, n));
    return kept ? KEPT : released ? REUSE : LENT;
  } finally {
    lending = outer;
    released = outerReleased;
    kept = outerKept;
  }
}

/** Node's `onread` option for `net.connect`: reads into our buffers, hands each chunk to `deliver`. */
export function largeReads(
  max: number,
  deliver: (chunk: Buffer) => void,
): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  const reader = new Reader(max, deliver);
  return {
    // Node asks for the buffer of the next read after each callback (and once at the start).
    buffer: () => reader.buf,
    callback: (n) => {
      reader.read(n);
      return true; // false would stop reading; pausing is the transport's (socket.pause())
    },
  };
}
