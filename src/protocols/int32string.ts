/**
 * `Int32StringReceiver`: each frame is a 4-byte big-endian unsigned length
 * followed by that many bytes (Twisted's `basic.Int32StringReceiver`). A
 * length over `MAX_LENGTH` goes to `lengthLimitExceeded`, which by default
 * closes the connection with `FrameTooLongError` before buffering the payload.
 */
import type { IProtocolFactory } from '../reactor/interfaces.js';
import { FrameTooLongError } from './errors.js';
import { BufferingReceiver, toBytes } from './receiver.js';

/** The default longest Int32 frame payload, in bytes. */
export const INT32_MAX_LENGTH = 99999;

const PREFIX = 4;

export class Int32StringReceiver<F extends IProtocolFactory = IProtocolFactory> extends BufferingReceiver<F> {
  MAX_LENGTH = INT32_MAX_LENGTH;
  private expected = -1;

  /** A complete frame arrived; `data` is its payload. */
  stringReceived(_data: Uint8Array): void {}

  /** A frame announced `length` bytes, over `MAX_LENGTH`. Closes the connection by default. */
  lengthLimitExceeded(length: number): void {
    this.closeForBadFrame(new FrameTooLongError('Int32 frame', length, this.MAX_LENGTH));
  }

  sendString(data: string | Uint8Array): void {
    const body = toBytes(data);
    if (body.byteLength > 0xffffffff)
      throw new RangeError(
        `Int32StringReceiver.sendString: ${body.byteLength} bytes do not fit a 4-byte length prefix`,
      );
    const out = new Uint8Array(PREFIX + body.byteLength);
    new DataView(out.buffer).setUint32(0, body.byteLength, false);
    out.set(body, PREFIX);
    this.transport.write(out);
  }

  protected processOne(): boolean {
    if (this.expected < 0) {
      if (this.buffer.length < PREFIX) return false;
      const length =
        ((this.buffer.at(0) << 24) >>> 0) + (this.buffer.at(1) << 16) + (this.buffer.at(2) << 8) + this.buffer.at(3);
      this.buffer.skip(PREFIX);
      if (length > this.MAX_LENGTH) {
        this.lengthLimitExceeded(length);
        return false;
      }
      this.expected = length;
      // Fall through: a zero-length frame is complete with no more bytes.
    }
    if (this.buffer.length < this.expected) return false;
    const payload = this.buffer.take(this.expected);
    this.expected = -1;
    this.stringReceived(payload);
    return true;
  }
}
