/**
 * Release after flush for one direction of the reverse proxy
 * (reactor/readbuffer.ts): each chunk read on one side and written on the
 * other is given back (`releaseRead`) once the writing side's socket took it.
 *
 * The writer reports how many of the bytes written through it the socket has
 * not taken yet (`unsent`: its buffer, and anything held above it); those are
 * at most the last `unsent` bytes written, so every chunk that ends before them
 * is gone to the kernel and nothing holds it. Framing the writer adds (chunk
 * sizes) is counted in `unsent` and not in what is written here, which only
 * makes a chunk wait longer. A chunk not taken yet is held (`keepRead`) until
 * a later check finds it taken; past `MAX_UNFLUSHED_CHUNKS` one stays held for
 * good (the GC takes it). A writer that cannot tell (`unsent` undefined)
 * releases nothing.
 */
import { keepRead, releaseRead, unkeepRead } from '../../../reactor/readbuffer.js';

/** Chunks a relay remembers for release after flush; past this they are left to the GC. */
export const MAX_UNFLUSHED_CHUNKS = 8;

export class FlushedReads {
  /** Chunks written and not yet taken by the socket, with where each ends in what was written. */
  private unflushed: Array<{ chunk: Uint8Array; end: number }> = [];
  /** Bytes written so far. */
  private written = 0;

  constructor(private readonly unsent: () => number | undefined) {}

  /** `data` was just written on: release its read, held until the socket took it. */
  wrote(data: Uint8Array): void {
    this.check(data);
  }

  /** Let go of the chunks the socket has taken (it drained, or is about to be written to again). */
  taken(): void {
    this.check(null);
  }

  /** The writing side is gone: the chunks still held are left to the GC. */
  drop(): void {
    this.unflushed = [];
  }

  private check(data: Uint8Array | null): void {
    const unsent = this.unsent();
    if (unsent === undefined) return;
    if (data !== null) this.written += data.length;
    const flushed = this.written - unsent;
    let i = 0;
    for (; i < this.unflushed.length && this.unflushed[i]!.end <= flushed; i++) unkeepRead(this.unflushed[i]!.chunk);
    if (i > 0) this.unflushed.splice(0, i);
    if (data === null) return;
    if (this.written > flushed) {
      keepRead(data);
      if (this.unflushed.length === MAX_UNFLUSHED_CHUNKS) return;
      this.unflushed.push({ chunk: data, end: this.written });
    }
    releaseRead(data);
  }
}
