/**
 * A growable byte queue for framing receivers: bytes are appended at the end
 * and taken from the front without re-copying what stays behind, so feeding a
 * receiver one byte at a time costs O(n) overall, not O(n^2).
 */
/** Capacity an empty buffer keeps; a larger one is released. */
const KEEP_WHEN_EMPTY = 64 * 1024;

export class ByteBuffer {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(data: Uint8Array): void {
    const n = data.byteLength;
    if (n === 0) return;
    if (this.end + n > this.buf.length) this.makeRoom(n);
    this.buf.set(data, this.end);
    this.end += n;
  }

  /** Index (from the front) of the first `needle` at or after `from`, else -1. */
  indexOf(needle: Uint8Array, from = 0): number {
    const i = this.buf.subarray(this.start, this.end).indexOf(needle, from);
    return i;
  }

  /** The byte at `i` from the front. */
  at(i: number): number {
    return this.buf[this.start + i]!;
  }

  /** Remove and return the first `n` bytes (a copy the caller may keep). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(this.buf.subarray(this.start, this.start + n)); // a plain copy, not a Buffer
    this.skip(n);
    return out;
  }

  /** Remove the first `n` bytes and return them decoded as UTF-8. */
  takeString(n: number): string {
    const s = this.buf.toString('utf8', this.start, this.start + n);
    this.skip(n);
    return s;
  }

  /** Remove and return everything. */
  takeAll(): Uint8Array {
    return this.take(this.length);
  }

  /** Drop the first `n` bytes. */
  skip(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }

  clear(): void {
    this.start = this.end = 0;
    // One big frame should not pin a big buffer to an idle connection for good.
    if (this.buf.length > KEEP_WHEN_EMPTY) this.buf = Buffer.alloc(0);
  }

  private makeRoom(n: number): void {
    const live = this.end - this.start;
    if (live + n <= this.buf.length >>> 1) {
      // Plenty of room once the consumed front is reclaimed.
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, live + n, 256));
      this.buf.copy(bigger, 0, this.start, this.end);
      this.buf = bigger;
    }
    this.start = 0;
    this.end = live;
  }
}
