/**
 * The server's part in release after flush (reactor/readbuffer.ts): a read
 * an app vouched for (`releaseRead`: reverseProxy's upload, once the upstream's
 * socket took the body bytes it was given) is read into again only if nothing
 * else holds bytes of it. In the channel two things may:
 *
 * - the parser, whose held input (read-ahead behind a pause, an unfinished
 *   line) is views of the reads that brought it: those reads are held
 *   (`keepRead`) until the parser holds nothing;
 * - another request. A read that brought nothing but body bytes of one request
 *   gave them all to that request's body reader, which is the one that vouches.
 *   Once a head was parsed from a read (or from held reads), that read may have
 *   served two requests, or an upgraded connection, whose readers do not
 *   vouch: such reads stay held for good (their memory goes to the GC, as
 *   Node's own reads do). That is one read per request, the one with its head.
 *
 * Only reads of at least `MIN_LENT_READ_BYTES` can be lent memory; shorter
 * ones were copied out and are not looked at (a hello's read costs a compare).
 */
import { keepRead, MIN_LENT_READ_BYTES, unkeepRead } from '../../reactor/readbuffer.js';

const NONE: Uint8Array[] = [];

export class ReadHolds {
  /** Reads the parser holds bytes of (each kept once). */
  private held: Uint8Array[] = NONE;

  /** Whether a pass over `data` needs `afterPass` (a lent read, or reads held from before). */
  wants(data: Uint8Array): boolean {
    return data.length >= MIN_LENT_READ_BYTES || this.held.length > 0;
  }

  /** Reads are held from earlier passes. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /**
   * A parser pass ended: over `data` (null: over held input only). `parserHolds`:
   * the parser holds input now; `headParsed`: the pass completed a head.
   */
  afterPass(data: Uint8Array | null, parserHolds: boolean, headParsed: boolean): void {
    if (headParsed) {
      if (data !== null && data.length >= MIN_LENT_READ_BYTES) keepRead(data);
      this.keepForGood();
      return;
    }
    if (parserHolds) {
      if (data === null || data.length < MIN_LENT_READ_BYTES) return;
      keepRead(data);
      if (this.held === NONE) this.held = [data];
      else this.held.push(data);
      return;
    }
    const held = this.held;
    if (held.length === 0) return;
    this.held = NONE;
    for (const chunk of held) unkeepRead(chunk);
  }

  /** The held reads' bytes went somewhere that does not vouch (a head, an upgraded protocol): their holds stay. */
  keepForGood(): void {
    this.held = NONE;
  }
}
