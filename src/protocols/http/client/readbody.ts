/**
 * Reading a response body whole (`readBody`, bounded) or as an async iterable
 * (bounded: past `RESPONSE_ITERATOR_HIGH_WATER` bytes not yet taken, reading
 * the connection pauses until the iterator is advanced).
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../../../reactor/deferred.js';
import { ResponseDone } from '../../../reactor/errors.js';
import type { Failure } from '../../../reactor/failure.js';
import type { IProtocol, ITransport } from '../../../reactor/interfaces.js';
import { ResponseBodyTooLarge } from './errors.js';
import type { IResponse, ReadResponseBodyOptions } from './interfaces.js';

/** Default `readBody` limit: 16 MiB. Stream bigger bodies with `deliverBody()` or iteration. */
export const DEFAULT_MAX_RESPONSE_BODY_BYTES = 16 * 1024 * 1024;
/** Bytes an async iterator over a body holds before reading the connection pauses. */
export const RESPONSE_ITERATOR_HIGH_WATER = 64 * 1024;

/**
 * The whole body, up to `limit` bytes. Past the limit (or a Content-Length
 * above it) the Deferred errbacks with `ResponseBodyTooLarge` and the body is
 * abandoned, which closes its connection. A body that breaks off errbacks with
 * the `ResponseFailed` it ended with. Cancelling the Deferred abandons the body.
 */
export function readBody(response: IResponse, options: ReadResponseBodyOptions = {}): Deferred<Uint8Array> {
  const limit = options.limit ?? DEFAULT_MAX_RESPONSE_BODY_BYTES;
  let transport: ITransport | null = null;
  const d = new Deferred<Uint8Array>(() => transport?.stopProducing());
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const protocol: IProtocol = {
    makeConnection(t) {
      transport = t;
      if (response.length > limit) {
        done = true;
        t.stopProducing();
        d.errback(new ResponseBodyTooLarge(limit));
      }
    },
    dataReceived(data) {
      if (done) return;
      size += data.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        transport!.stopProducing();
        d.errback(new ResponseBodyTooLarge(limit));
        return;
      }
      chunks.push(Buffer.from(data));
    },
    connectionLost(reason: Failure) {
      if (done || d.called) return;
      done = true;
      if (reason.check(ResponseDone)) {
        const all = Buffer.concat(chunks, size);
        d.callback(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
      } else d.errback(reason);
    },
  };
  response.deliverBody(protocol);
  return d;
}

/** An async iterator over the body, pausing the connection while `RESPONSE_ITERATOR_HIGH_WATER` bytes wait. */
export function iterateBody(response: IResponse): AsyncIterator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let held = 0;
  let ended: Failure | null = null;
  let waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | null = null;
  let transport: ITransport | null = null;
  const settle = () => {
    if (waiter === null) return;
    const w = waiter;
    if (queue.length > 0) {
      waiter = null;
      w.resolve({ value: take(), done: false });
    } else if (ended !== null) {
      waiter = null;
      if (ended.check(ResponseDone)) w.resolve({ value: undefined, done: true });
      else w.reject(ended.value);
    }
  };
  const take = (): Uint8Array => {
    const chunk = queue.shift()!;
    held -= chunk.length;
    if (held < RESPONSE_ITERATOR_HIGH_WATER) transport?.resumeProducing();
    return chunk;
  };
  response.deliverBody({
    makeConnection(t) {
      transport = t;
    },
    dataReceived(data) {
      // Copy: the parser hands views of its input, and the consumer may hold this past the call.
      queue.push(Uint8Array.prototype.slice.call(data));
      held += data.length;
      if (held >= RESPONSE_ITERATOR_HIGH_WATER) transport!.pauseProducing();
      settle();
    },
    connectionLost(reason) {
      ended = reason;
      settle();
    },
  });
  return {
    next() {
      if (queue.length > 0) return Promise.resolve({ value: take(), done: false });
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      });
    },
    return() {
      if (ended === null) transport?.stopProducing();
      queue.length = 0;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}
