/**
 * `FileProducer`: a pull producer (IPullProducer) that sends pieces of a
 * response: literal bytes (multipart headers) and byte ranges of an open file,
 * read with `fs.read` one chunk at a time, never the whole file.
 *
 * Memory: one read is in flight at most, and a new one starts only when the
 * consumer asks (`resumeProducing`, which a transport calls once what was
 * written before has been flushed). A stalled client is never asked, so no
 * more than one chunk per response is read ahead of the socket.
 *
 * Every chunk is a fresh buffer: the transport keeps a reference to what it is
 * given until it is flushed.
 */
import fs from 'node:fs';
import type { IPullProducer } from '../../../reactor/interfaces.js';
import type { ByteRange } from './ranges.js';

/** Bytes read from disk per `resumeProducing()`. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

export type Piece = Uint8Array | ByteRange;

export interface FileProducerSink {
  write(data: Uint8Array): void;
  /** Every piece was written. */
  done(): void;
  /** A read failed (or the file shrank): the promised length cannot be sent. */
  failed(error: unknown): void;
}

export class FileProducer implements IPullProducer {
  /** Bytes read from the file so far (what the memory bound is about). */
  bytesRead = 0;
  private index = 0;
  private offset = -1;
  private reading = false;
  private stopped = false;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly pieces: Piece[],
    private readonly sink: FileProducerSink,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {}

  /** True while a read is in flight (one at most). */
  get inFlight(): boolean {
    return this.reading;
  }

  /** True once the descriptor was closed (done, failed or stopped). */
  get fdClosed(): boolean {
    return this.closed;
  }

  resumeProducing(): void {
    if (this.stopped || this.reading) return;
    const piece = this.pieces[this.index];
    if (piece === undefined) return this.finish();
    if (piece instanceof Uint8Array) {
      this.index++;
      this.sink.write(piece);
      return;
    }
    if (this.offset < 0) this.offset = piece.start;
    const want = Math.min(this.chunkSize, piece.end + 1 - this.offset);
    const buffer = Buffer.allocUnsafe(want);
    this.reading = true;
    fs.read(this.fd, buffer, 0, want, this.offset, (err, n) => {
      this.reading = false;
      if (this.stopped) return this.close();
      if (err !== null || n === 0)
        return this.fail(
          err ??
            new Error(
              `the file ended at byte ${this.offset}, before the ${piece.end + 1} bytes its stat promised; it changed while being sent`,
            ),
        );
      this.bytesRead += n;
      this.offset += n;
      if (this.offset > piece.end) {
        this.index++;
        this.offset = -1;
      }
      const last = this.index >= this.pieces.length;
      this.sink.write(n === want ? buffer : buffer.subarray(0, n));
      if (last && !this.stopped) this.finish();
    });
  }

  stopProducing(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.reading) this.close();
  }

  private finish(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.close();
    this.sink.done();
  }

  private fail(error: unknown): void {
    this.stopped = true;
    this.close();
    this.sink.failed(error);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.close(this.fd, () => {});
  }
}
