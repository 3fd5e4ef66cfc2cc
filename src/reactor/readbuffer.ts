/**
 * Larger socket reads for a client connection (`ConnectOptions.readBufferSize`).
 *
 * Node reads a socket 64 KiB at a time into fresh memory. A bulk download (a
 * proxy's upstream, a large body) then costs one `read(2)`, one reactor turn and
 * one `dataReceived` per 64 KiB. With Node's `onread` option the transport reads
 * into a buffer of its own choosing, up to `readBufferSize` bytes at a time.
 *
 * No delivered byte is ever overwritten: a read that filled at least a quarter of
 * the buffer is handed over as a view and the next read gets fresh memory (so a
 * protocol may keep or write the bytes it was given, as with Node's own reads); a
 * smaller read is copied out and the buffer is read into again. The buffer starts
 * at Node's 64 KiB, grows (x4, up to `readBufferSize`) while reads fill it, and
 * goes back to 64 KiB after a small read, so an idle connection holds 64 KiB.
 */
import { Buffer } from 'node:buffer';

/** The first and the idle size of a connection's read buffer: Node's own read size. */
export const BASE_READ_BYTES = 64 * 1024;

/** Node's `onread` option for `net.connect`: reads into our buffers, hands each chunk to `deliver`. */
export function largeReads(
  max: number,
  deliver: (chunk: Buffer) => void,
): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  let buf = Buffer.allocUnsafeSlow(Math.min(BASE_READ_BYTES, max));
  return {
    // Node asks for the buffer of the next read after each callback (and once at the start).
    buffer: () => buf,
    callback: (n) => {
      let chunk: Buffer;
      if (n >= buf.length >>> 2) {
        chunk = buf.subarray(0, n);
        // A full read means more is waiting: read more at once next time.
        buf = Buffer.allocUnsafeSlow(n === buf.length ? Math.min(buf.length * 4, max) : buf.length);
      } else {
        chunk = Buffer.allocUnsafe(n);
        buf.copy(chunk, 0, 0, n);
        if (buf.length > BASE_READ_BYTES) buf = Buffer.allocUnsafeSlow(BASE_READ_BYTES);
      }
      deliver(chunk);
      return true; // false would stop reading; pausing is the transport's (socket.pause())
    },
  };
}
