/**
 * `LineReceiver`: a protocol that receives lines (Twisted's `basic.LineReceiver`).
 *
 * Lines are delivered as strings decoded from UTF-8 (bytes that are not valid
 * UTF-8 become U+FFFD); the delimiter is not included. For exact bytes, switch
 * to raw mode or use a length-prefixed receiver. A line longer than
 * `MAX_LENGTH` bytes goes to `lineLengthExceeded` (as bytes), which by default
 * closes the connection with a `FrameTooLongError`.
 */
import type { IProtocolFactory } from '../reactor/interfaces.js';
import { FrameTooLongError } from './errors.js';
import { BufferingReceiver, toBytes } from './receiver.js';

/** The default maximum line length in bytes, without the delimiter. */
export const LINE_MAX_LENGTH = 16384;

export class LineReceiver<F extends IProtocolFactory = IProtocolFactory> extends BufferingReceiver<F> {
  /** What ends a line, as a string (UTF-8) or bytes. CRLF by default. */
  delimiter: string | Uint8Array = '\r\n';
  /** The longest line accepted, in bytes without the delimiter. */
  MAX_LENGTH = LINE_MAX_LENGTH;
  /** False in raw mode. */
  lineMode = true;

  private delimCache: { key: string | Uint8Array; bytes: Uint8Array } | null = null;
  /** How many buffered bytes were already searched for the delimiter (saves rescans). */
  private scanned = 0;

  /** A complete line arrived. */
  lineReceived(_line: string): void {}

  /** Raw-mode data arrived (after `setRawMode()`). */
  rawDataReceived(_data: Uint8Array): void {}

  /**
   * A line longer than `MAX_LENGTH` arrived (or is arriving): `line` holds the
   * bytes buffered so far. By default the connection is closed with a
   * `FrameTooLongError`.
   */
  lineLengthExceeded(line: Uint8Array): void {
    this.closeForBadFrame(new FrameTooLongError('line', line.byteLength, this.MAX_LENGTH));
  }

  /** Write `line` followed by the delimiter. */
  sendLine(line: string | Uint8Array): void {
    const body = toBytes(line);
    const delim = this.delimiterBytes();
    const out = new Uint8Array(body.byteLength + delim.byteLength);
    out.set(body, 0);
    out.set(delim, body.byteLength);
    this.transport.write(out);
  }

  /** Deliver what follows to `rawDataReceived` until `setLineMode`. */
  setRawMode(): void {
    this.lineMode = false;
  }

  /** Back to lines; `extra` (bytes that followed the raw part) is parsed as lines first. */
  setLineMode(extra?: Uint8Array): void {
    this.lineMode = true;
    this.scanned = 0;
    if (extra && extra.byteLength > 0) this.dataReceived(extra);
  }

  protected processOne(): boolean {
    if (!this.lineMode) {
      this.rawDataReceived(this.buffer.takeAll());
      return true;
    }
    const delim = this.delimiterBytes();
    const found = this.buffer.indexOf(delim, Math.max(0, this.scanned - delim.byteLength + 1));
    if (found < 0) {
      this.scanned = this.buffer.length;
      if (this.buffer.length >= this.MAX_LENGTH + delim.byteLength) {
        this.scanned = 0;
        this.lineLengthExceeded(this.buffer.takeAll());
      }
      return false;
    }
    this.scanned = 0;
    if (found > this.MAX_LENGTH) {
      this.lineLengthExceeded(this.buffer.takeAll());
      return false;
    }
    const line = this.buffer.takeString(found);
    this.buffer.skip(delim.byteLength);
    this.lineReceived(line);
    return true;
  }

  private delimiterBytes(): Uint8Array {
    const key = this.delimiter;
    if (this.delimCache?.key !== key) {
      const bytes = toBytes(key);
      if (bytes.byteLength === 0) throw new RangeError('LineReceiver.delimiter must not be empty');
      this.delimCache = { key, bytes };
      this.scanned = 0;
    }
    return this.delimCache.bytes;
  }
}
