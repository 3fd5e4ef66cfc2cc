/**
 * Socket reads into spindle's own buffers, through Node's `onread` option: a
 * client connection's (`ConnectOptions.readBufferSize`, `largeReads`) and every
 * accepted one's (`ListenOptions.readBufferSize`, `acceptedReads`).
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
 * while reads fill it, and goes back to 64 KiB after a small read (one the
 * 64 KiB buffer would have copied too: under 16 KiB), so an idle connection
 * holds 64 KiB. (Going back after any read under the grown buffer's quarter
 * made a relay of 64 KiB writes, read as 64 KiB and then ~30 KiB, take fresh
 * 256 KiB and 64 KiB buffers every two reads.)
 *
 * Accepted connections (a server has many, mostly idle or reading requests of a
 * few hundred bytes) start on one buffer shared by all of them (`SHARED_READ_BYTES`):
 * every read into it is copied out at once, so it is free again before the next
 * read of any connection (reads run one at a time, each followed by its
 * callback). A read that fills a quarter of it means bulk data: the connection
 * gets buffers of its own as above, and goes back to the shared one after a small
 * read. So an idle or request-sized connection holds no read memory at all, and a
 * small read costs a copy instead of Node's 64 KiB allocation per read.
 *
 * Release after flush: fresh memory per read is garbage per read, and V8 frees
 * read buffers only when a young-generation GC runs, which under a bulk transfer
 * is once per 32 MiB of such buffers (V8 11's trigger: twice its default maximum
 * semi-space, whatever `--max-semi-space-size` says), so the process's memory
 * swings by that much. A read's memory is read into again once:
 *
 * - the consumer at the end of the chain vouched for it: `releaseRead(chunk)`
 *   says it accounts for every byte it was given (a proxy that wrote them on), and
 * - nobody holds bytes of it: each `keepRead(chunk)` (a parser's read-ahead, a
 *   write not yet flushed) is matched by an `unkeepRead(chunk)` when let go.
 *
 * If that happens during the `dataReceived` call, the same buffer takes the next
 * read; later, it becomes one of the connection's `SPARE_READ_BUFFERS`. Free
 * buffers a connection leaves (going back to the shared buffer or to 64 KiB, or
 * given back when it has spares enough) go to the thread's pool
 * (`POOLED_READ_BYTES`), where the next bulk read of any connection finds them.
 * So a transfer whose writes keep up allocates nothing per read. Without a release
 * nothing changes: a protocol that knows nothing of this keeps every byte it was
 * given, as with Node's own reads.
 */
import { Buffer } from 'node:buffer';

/** The first and the idle size of a connection's read buffer: Node's own read size. */
export const BASE_READ_BYTES = 64 * 1024;

/** The buffer every accepted connection reads into until a read fills a quarter of it. */
export const SHARED_READ_BYTES = BASE_READ_BYTES;

/**
 * The smallest delivered chunk that may be a lent view (a quarter of the smallest
 * buffer, 1 KiB): anything shorter was copied out, and holding it needs no `keepRead`.
 */
export const MIN_LENT_READ_BYTES = 256;

/** Released buffers a connection keeps for its next reads (more go to the thread's pool). */
export const SPARE_READ_BUFFERS = 2;

/**
 * Free read buffers a thread keeps for any connection's next bulk read, in bytes.
 * A connection that leaves its own buffers (an accepted one going back to the
 * shared buffer, a grown one going back to 64 KiB) puts them here, and the next
 * one to need a buffer of that size takes it: a proxy's connections switch often
 * (a read of a few KiB between full ones), and taking fresh memory each time left
 * 20-100 dead 64 KiB and 256 KiB buffers a GiB that the process's RSS kept.
 */
export const POOLED_READ_BYTES = 1024 * 1024;

/** A lent read: who vouched, who holds it. */
interface Lease {
  readonly reader: Reader;
  readonly buf: Buffer;
  vouched: boolean;
  holds: number;
  /** Still inside the delivering call: the reader decides when it returns. */
  delivering: boolean;
}

/**
 * A lent read's lease hangs on its memory as a property. (A WeakMap keyed by the
 * memory, whose value holds the memory, kept every lent read alive through V8's
 * young-generation collections: each was promoted and freed only by a full one.)
 */
const LEASE = Symbol('spindle.readLease');
type Leased = ArrayBufferLike & { [LEASE]?: Lease | null };

function leaseOf(chunk: Uint8Array): Lease | null | undefined {
  return (chunk.buffer as Leased)[LEASE];
}

/** The lent memory is free: back to its reader (after the delivering call). */
function settle(lease: Lease): void {
  if (lease.delivering || !lease.vouched || lease.holds > 0) return;
  (lease.buf.buffer as Leased)[LEASE] = null;
  lease.reader.giveBack(lease.buf);
}

/**
 * The consumer of `chunk` (delivered by a connection with `readBufferSize`)
 * accounts for its bytes: it wrote them on and holds (`keepRead`) whatever is not
 * flushed yet. Ignored for any other memory.
 */
export function releaseRead(chunk: Uint8Array): void {
  const lease = leaseOf(chunk);
  if (lease == null) return;
  lease.vouched = true;
  settle(lease);
}

/** Bytes of `chunk`'s read are held past the delivering call: its memory is not read into until `unkeepRead`. */
export function keepRead(chunk: Uint8Array): void {
  const lease = leaseOf(chunk);
  if (lease != null) lease.holds++;
}

/** A `keepRead` hold on `chunk`'s read is let go. */
export function unkeepRead(chunk: Uint8Array): void {
  const lease = leaseOf(chunk);
  if (lease == null || lease.holds === 0) return;
  lease.holds--;
  settle(lease);
}

/** Accepted connections' shared buffer (per thread: each worker has its own module). */
let sharedBuffer: Buffer | null = null;

/** The thread's free read buffers by size (`POOLED_READ_BYTES` in all), and their bytes. */
const pool = new Map<number, Buffer[]>();
let pooledBytes = 0;

/** A free buffer of `size` bytes from the pool, or fresh memory. */
function takeBuffer(size: number): Buffer {
  const free = pool.get(size)?.pop();
  if (free === undefined) return Buffer.allocUnsafeSlow(size);
  pooledBytes -= size;
  return free;
}

/** `buf` is free (no one holds its bytes): into the pool if there is room, else to the GC. */
function poolBuffer(buf: Buffer): void {
  if (pooledBytes + buf.length > POOLED_READ_BYTES) return;
  let list = pool.get(buf.length);
  if (list === undefined) pool.set(buf.length, (list = []));
  list.push(buf);
  pooledBytes += buf.length;
}

/** The bytes the thread's pool holds (for tests). */
export function pooledReadBytes(): number {
  return pooledBytes;
}

/** Empty the thread's pool (for tests: each starts from a known pool). */
export function emptyReadPool(): void {
  pool.clear();
  pooledBytes = 0;
}

/** One connection's read buffers. */
class Reader {
  buf: Buffer;
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly max: number,
    private readonly deliver: (chunk: Buffer) => void,
    /** Accepted connections: the shared buffer small reads go through. */
    private readonly shared: Buffer | null,
  ) {
    this.buf = shared ?? takeBuffer(Math.min(BASE_READ_BYTES, max));
  }

  /** Node read `n` bytes into `buf`: hand them over, choose the next read's buffer. */
  read(n: number): void {
    const buf = this.buf;
    if (n < buf.length >>> 2 || buf === this.shared) {
      const chunk = Buffer.allocUnsafe(n);
      buf.copy(chunk, 0, 0, n);
      if (buf === this.shared) {
        // A quarter of the shared buffer or more: bulk data, read on into memory of this connection's own.
        if (n >= buf.length >>> 2) this.buf = takeBuffer(n === buf.length ? this.grown(buf.length) : BASE_READ_BYTES);
      } else if (this.shared !== null && n < this.shared.length >>> 2) {
        // A read the shared buffer would have copied ends the bulk: back to it, holding nothing of its own.
        this.buf = this.shared;
        poolBuffer(buf);
        for (const s of this.spare) poolBuffer(s);
        this.spare.length = 0;
      } else if (buf.length > BASE_READ_BYTES && n < BASE_READ_BYTES >>> 2) {
        // Back to 64 KiB only for a read that buffer would have copied too (see the module comment).
        this.next(BASE_READ_BYTES);
        poolBuffer(buf);
      }
      this.deliver(chunk);
      return;
    }
    // A full read means more is waiting: read more at once next time.
    const size = n === buf.length ? this.grown(buf.length) : buf.length;
    const lease: Lease = { reader: this, buf, vouched: false, holds: 0, delivering: true };
    (buf.buffer as Leased)[LEASE] = lease;
    try {
      this.deliver(buf.subarray(0, n));
    } finally {
      // Also when deliver threw: a lent buffer nobody gave back is never read into again.
      lease.delivering = false;
      const free = lease.vouched && lease.holds === 0;
      if (free) (buf.buffer as Leased)[LEASE] = null;
      if (!free || size !== buf.length) this.next(size);
      if (free && size !== buf.length) poolBuffer(buf);
    }
  }

  /** The size after a read that filled `size` bytes. */
  private grown(size: number): number {
    return Math.min(size * 4, this.max);
  }

  /** The next read goes into a spare of `size` bytes, or one from the pool, or fresh memory. */
  private next(size: number): void {
    let spare = this.spare.pop();
    while (spare !== undefined && spare.length !== size) {
      poolBuffer(spare);
      spare = this.spare.pop();
    }
    this.buf = spare ?? takeBuffer(size);
  }

  /** A lent buffer is free again. */
  giveBack(buf: Buffer): void {
    if (buf.length === this.buf.length && this.buf !== this.shared && this.spare.length < SPARE_READ_BUFFERS)
      this.spare.push(buf);
    else poolBuffer(buf);
  }
}

/** Node's `onread` option: reads into `reader`'s buffers. */
function onread(reader: Reader): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  return {
    // Node asks for the buffer of the next read after each callback (and once at the start).
    buffer: () => reader.buf,
    callback: (n) => {
      reader.read(n);
      return true; // false would stop reading; pausing is the transport's (socket.pause())
    },
  };
}

/** Node's `onread` option for `net.connect`: reads into our buffers, hands each chunk to `deliver`. */
export function largeReads(
  max: number,
  deliver: (chunk: Buffer) => void,
): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  return onread(new Reader(max, deliver, null));
}

/**
 * `onread` for an accepted socket: reads start in the shared buffer (copied out),
 * and bulk reads go into buffers of the connection's own of up to `max` bytes.
 */
export function acceptedReads(
  max: number,
  deliver: (chunk: Buffer) => void,
): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  sharedBuffer ??= Buffer.allocUnsafeSlow(SHARED_READ_BYTES);
  return onread(new Reader(max, deliver, sharedBuffer));
}
