/**
 * `NetstringReceiver`: frames are netstrings, `<length>:<bytes>,` with the
 * length in ASCII decimal and no leading zeros (D. J. Bernstein's netstrings
 * spec, http://cr.yp.to/proto/netstrings.txt). A malformed frame closes the
 * connection with `BadFrameError`; a length over `MAX_LENGTH` with
 * `FrameTooLongError` (through `lengthLimitExceeded`), before its bytes are
 * buffered.
 */
import type { IProtocolFactory } from '../reactor/interfaces.js';
import { BadFrameError, FrameTooLongError } from './errors.js';
import { BufferingReceiver, toBytes } from './receiver.js';

/** The default longest netstring payload, in bytes. */
export const NETSTRING_MAX_LENGTH = 99999;

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

export class NetstringReceiver<F extends IProtocolFactory = IProtocolFactory> extends BufferingReceiver<F> {
  MAX_LENGTH = NETSTRING_MAX_LENGTH;
  /** Payload length of the frame being received, once its header was read. */
  private expected = -1;

  /** A complete netstring arrived; `data` is its payload. */
  stringReceived(_data: Uint8Array): void {}

  /** A frame announced `length` bytes, over `MAX_LENGTH`. Closes the connection by default. */
  lengthLimitExceeded(length: number): void {
    this.closeForBadFrame(new FrameTooLongError('netstring', length, this.MAX_LENGTH));
  }

  sendString(data: string | Uint8Array): void {
    const body = toBytes(data);
    const head = toBytes(`${body.byteLength}:`);
    const out = new Uint8Array(head.byteLength + body.byteLength + 1);
    out.set(head, 0);
    out.set(body, head.byteLength);
    out[out.byteLength - 1] = COMMA;
    this.transport.write(out);
  }

  protected processOne(): boolean {
    if (this.expected < 0) return this.readHeader();
    if (this.buffer.length < this.expected + 1) return false;
    const payload = this.buffer.take(this.expected);
    const terminator = this.buffer.at(0);
    if (terminator !== COMMA) {
      this.closeForBadFrame(
        new BadFrameError(
          `netstring of ${this.expected} bytes must end with ',' but byte 0x${terminator.toString(16).padStart(2, '0')} followed it; the peer is not speaking netstrings`,
        ),
      );
      return false;
    }
    this.buffer.skip(1);
    this.expected = -1;
    this.stringReceived(payload);
    return true;
  }

  /** Parse `<digits>:`; false when more bytes are needed. */
  private readHeader(): boolean {
    const maxDigits = String(this.MAX_LENGTH).length;
    let length = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const b = this.buffer.at(i);
      if (b === COLON) {
        if (i === 0) return this.bad('netstring length is empty: expected ASCII digits before ":"');
        this.buffer.skip(i + 1);
        if (length > this.MAX_LENGTH) {
          this.lengthLimitExceeded(length);
          return false;
        }
        this.expected = length;
        return true;
      }
      if (b < ZERO || b > NINE)
        return this.bad(
          `netstring length must be ASCII digits followed by ":", got byte 0x${b.toString(16).padStart(2, '0')}`,
        );
      if (i === 1 && this.buffer.at(0) === ZERO)
        return this.bad('netstring length has a leading zero; lengths are written without them');
      if (i >= maxDigits) {
        // More digits than MAX_LENGTH has: too long whatever follows.
        this.lengthLimitExceeded(length * 10 + (b - ZERO));
        return false;
      }
      length = length * 10 + (b - ZERO);
    }
    return false;
  }

  private bad(message: string): boolean {
    this.closeForBadFrame(new BadFrameError(message));
    return false;
  }
}
