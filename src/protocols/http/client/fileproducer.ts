/**
 * `FileBodyProducer`: a request body read from a file (path or fd) or any
 * Node `Readable` (Twisted's `FileBodyProducer`). It is a push producer over
 * the stream: `pauseProducing` pauses the stream (no more reads from the file),
 * `resumeProducing` resumes it, `stopProducing` destroys it. The client
 * registers it on the connection, so a server that stops reading pauses it
 * and at most one high-water mark of body is buffered.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { Deferred } from '../../../reactor/deferred.js';
import type { IConsumer } from '../../../reactor/interfaces.js';
import { UNKNOWN_LENGTH, type IBodyProducer } from './interfaces.js';

/** Bytes read from a file per chunk by default. */
export const FILE_BODY_CHUNK_SIZE = 64 * 1024;

export interface FileBodyProducerOptions {
  /** Body length in bytes: read from the file's size for a path or fd; `UNKNOWN_LENGTH` (chunked) for a stream unless given. */
  length?: number;
  /** Bytes per read from a file. Default `FILE_BODY_CHUNK_SIZE`. */
  chunkSize?: number;
}

export type FileBodyProducerState = 'initial' | 'producing' | 'paused' | 'done' | 'stopped';

export class FileBodyProducer implements IBodyProducer {
  readonly length: number;
  state: FileBodyProducerState = 'initial';
  /** Bytes handed to the consumer so far. */
  produced = 0;
  private stream: Readable | null = null;
  private readonly open: () => Readable;

  constructor(source: string | number | Readable, options: FileBodyProducerOptions = {}) {
    const highWaterMark = options.chunkSize ?? FILE_BODY_CHUNK_SIZE;
    if (typeof source === 'string' || typeof source === 'number') {
      this.length =
        options.length ?? (typeof source === 'string' ? fs.statSync(source).size : fs.fstatSync(source).size);
      this.open = () =>
        typeof source === 'string'
          ? fs.createReadStream(source, { highWaterMark })
          : fs.createReadStream('', { fd: source, highWaterMark, autoClose: false });
    } else {
      this.length = options.length ?? UNKNOWN_LENGTH;
      this.open = () => source;
    }
  }

  startProducing(consumer: IConsumer): Deferred<void> {
    const d = new Deferred<void>();
    const stream = this.open();
    this.stream = stream;
    const wasPaused = this.state === 'paused';
    this.state = 'producing';
    stream.on('data', (chunk: Buffer | string) => {
      if (this.state === 'stopped') return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.produced += bytes.length;
      consumer.write(bytes);
    });
    stream.once('end', () => {
      if (this.state === 'stopped') return;
      this.state = 'done';
      d.callback(undefined);
    });
    stream.once('error', (err) => {
      if (this.state === 'stopped' || d.called) return;
      this.state = 'done';
      d.errback(err);
    });
    if (wasPaused) this.pauseProducing();
    else stream.resume();
    return d;
  }

  pauseProducing(): void {
    if (this.state === 'producing' || this.state === 'initial') this.state = 'paused';
    this.stream?.pause();
  }

  resumeProducing(): void {
    if (this.state !== 'paused') return;
    this.state = 'producing';
    this.stream?.resume();
  }

  stopProducing(): void {
    if (this.state === 'done' || this.state === 'stopped') return;
    this.state = 'stopped';
    this.stream?.destroy();
  }
}
