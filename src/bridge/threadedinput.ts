/**
 * `wsgi.input` for an app on a worker thread (threadedIterApp): `read()`
 * blocks until bytes or the end arrive on the input ring, which the reactor
 * side fills from the host's non-blocking `wsgi.input` when asked (G11).
 */
import { ByteRing } from '../reactor/ring.js';
import { RingAborted } from '../reactor/errors.js';
import { ThreadedAppAborted } from './errors.js';
import type { WsgiInput } from './interfaces.js';

const EMPTY = new Uint8Array(0);

/**
 * `wsgi.input` on a worker: `read()` blocks until bytes or the end arrive.
 * An aborted input ring means the client went away (`clientGone`, reads
 * return empty) unless the whole request was abandoned (then reads throw).
 */
export class BlockingInput implements WsgiInput {
  private pending: Uint8Array = EMPTY;
  private eof = false;
  private gone = false;
  private ring: ByteRing | null;
  private readonly getRing: (() => ByteRing) | null;

  /** `ring`: the input ring, or how to get it on the first read that needs it (a round trip to the reactor side). */
  constructor(
    ring: ByteRing | (() => ByteRing),
    private readonly requestAborted: () => boolean,
    private readonly askForMore: () => void,
  ) {
    this.ring = typeof ring === 'function' ? null : ring;
    this.getRing = typeof ring === 'function' ? ring : null;
  }

  get atEOF(): boolean {
    return this.eof && this.pending.length === 0;
  }
  get clientGone(): boolean {
    return this.gone;
  }

  /** At most `size` bytes (the rest of the body when omitted or negative); empty at the end. */
  read(size?: number): Uint8Array {
    if (size === undefined || size < 0) {
      const parts: Uint8Array[] = [];
      for (let c = this.some(Infinity); c.length > 0; c = this.some(Infinity)) parts.push(c);
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    }
    return size === 0 ? EMPTY : this.some(size);
  }

  readline(size = -1): Uint8Array {
    const limit = size < 0 ? Infinity : size;
    const parts: Uint8Array[] = [];
    let length = 0;
    while (length < limit) {
      const chunk = this.some(limit - length);
      if (chunk.length === 0) break;
      const nl = chunk.indexOf(10);
      if (nl >= 0 && nl + 1 < chunk.length) {
        this.pending = chunk.subarray(nl + 1); // keep what follows the line for the next read
        parts.push(chunk.subarray(0, nl + 1));
        break;
      }
      parts.push(chunk);
      length += chunk.length;
      if (nl >= 0) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  readlines(hint = -1): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let total = 0;
    for (let l = this.readline(); l.length > 0; l = this.readline()) {
      lines.push(l);
      total += l.length;
      if (hint > 0 && total >= hint) break;
    }
    return lines;
  }

  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (let l = this.readline(); l.length > 0; l = this.readline()) yield l;
  }

  private some(max: number): Uint8Array {
    if (this.pending.length > 0) {
      const out = this.pending.subarray(0, Math.min(max, this.pending.length));
      this.pending = this.pending.subarray(out.length);
      return out;
    }
    if (this.eof || this.gone) return EMPTY;
    let asked = false;
    try {
      const ring = (this.ring ??= this.getRing!());
      const chunk = ring.readBlocking(Math.min(max, ring.capacity), () => {
        if (!asked) this.askForMore(); // once per wait: the reactor side fills the ring on demand
        asked = true;
      });
      if (chunk.length === 0) this.eof = true;
      return chunk;
    } catch (err) {
      if (!(err instanceof RingAborted)) throw err;
      if (this.requestAborted()) throw new ThreadedAppAborted();
      this.gone = true; // G11: client gone, told apart from the end of the body
      return EMPTY;
    }
  }
}
