/**
 * Where the TCP transports copy their merged small writes (see
 * `TCPConnection.write`): one slab of MERGE_LIMIT_BYTES shared by every
 * transport of the thread, as Node's Buffer pool is. A transport's held bytes
 * are one run at the slab's end; `take` hands the run over as a view and the
 * next run starts after it, so no byte handed over is written again. One run
 * is open at a time: a transport that appends while another holds a run makes
 * that one hand its run to its socket first (corked, it still leaves at its
 * turn's end), so each connection's bytes keep their order. A full slab is
 * left to the views into it (freed with the last) and a fresh one started.
 *
 * Copying a row into the slab as it comes costs one copy; collecting the rows
 * in a list and joining them at the turn's end cost an array push each plus a
 * copy per row in `Buffer.concat`.
 */
import { Buffer } from 'node:buffer';

/** The most bytes merged into one buffer before it goes to the socket (the turn's merge then starts a new one). */
export const MERGE_LIMIT_BYTES = 64 * 1024;

/** A transport that can hold a run: asked to hand it to its socket (through `takeRun`) when another transport appends. */
export interface SlabHolder {
  flushMerge(): void;
}

let slab: Buffer = Buffer.allocUnsafeSlow(MERGE_LIMIT_BYTES);
/** Start of the open run (or of the next one). */
let runStart = 0;
/** End of the open run: where the next byte goes. */
let end = 0;
let holder: SlabHolder | null = null;

/**
 * Copy `data` (`n` bytes, at most MERGE_LIMIT_BYTES) to the end of `who`'s
 * run; returns the run's length. `who`'s run is handed over first (through
 * `who.flushMerge`) when the slab has no room left for `data`.
 */
export function appendToRun(who: SlabHolder, data: Uint8Array, n: number): number {
  if (holder !== who) {
    if (holder !== null) holder.flushMerge(); // its run leaves first (takeRun); ours starts at the end
    holder = who;
    runStart = end;
  }
  if (end + n > slab.length) {
    if (end > runStart) who.flushMerge();
    holder = who;
    slab = Buffer.allocUnsafeSlow(MERGE_LIMIT_BYTES);
    runStart = end = 0;
  }
  slab.set(data, end);
  end += n;
  return end - runStart;
}

/** `who`'s run as a view of the slab (null if it holds none); the next run starts after it. */
export function takeRun(who: SlabHolder): Buffer | null {
  if (holder !== who) return null;
  holder = null;
  if (end === runStart) return null;
  const run = slab.subarray(runStart, end);
  end = (end + 7) & ~7; // the next run starts 8-byte aligned (word-wise copies out of it)
  if (end > slab.length) end = slab.length;
  runStart = end;
  return run;
}
