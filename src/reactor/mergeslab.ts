/**
 * Where the TCP transports copy their merged small writes (see
 * `TCPConnection.write`): one slab of MERGE_LIMIT_BYTES shared by every
 * transport of the thread, as Node's Buffer pool is. A transport's held bytes
 * are one run at the slab's end; `take` hands the run over as a view and the
 * next run starts after it, so no byte handed over is written again. One run
 * is open at a time: a transport that appends while another holds a run makes
 * that one hand its run to its socket first (corked, it still leaves at its
 * turn's end), so each connection's bytes keep their order. A full slab is
 * left to the views into it (freed with the last) and a fresh one started; a
 * short run (a turn's few rows) moves to the fresh one, so it stays one buffer.
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

/** A run at most this long moves whole to a fresh slab when the slab fills; a longer one is handed over there. */
const MOVE_RUN_BYTES = 4 * 1024;

let slab: Buffer = Buffer.allocUnsafeSlow(MERGE_LIMIT_BYTES);
/** Start of the open run (or of the next one). */
let runStart = 0;
/** End of the open run: where the next byte goes. */
let end = 0;
let holder: SlabHolder | null = null;

/**
 * Copy `data` (`n` bytes, at most MERGE_LIMIT_BYTES) to the end of `who`'s
 * run; returns the run's length. When the slab has no room left for `data`,
 * a run longer than MOVE_RUN_BYTES is handed over first (`who.flushMerge`), a
 * shorter one moves to the fresh slab.
 */
export function appendToRun(who: SlabHolder, data: Uint8Array, n: number): number {
  if (holder !== who) {
    if (holder !== null) holder.flushMerge(); // its run leaves first (takeRun); ours starts at the end
    holder = who;
    runStart = end;
  }
  if (end + n > slab.length) {
    // A fresh slab. A short run held so far moves to its start, so a turn's few rows stay one
    // buffer whatever the last slab's fill; a longer one is handed over (copying it would cost more
    // than the extra writev entry).
    const held = end - runStart;
    const next = Buffer.allocUnsafeSlow(MERGE_LIMIT_BYTES);
    if (held > MOVE_RUN_BYTES) {
      who.flushMerge();
      holder = who;
      end = 0;
    } else {
      if (held > 0) next.set(slab.subarray(runStart, end), 0);
      end = held;
    }
    slab = next;
    runStart = 0;
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
