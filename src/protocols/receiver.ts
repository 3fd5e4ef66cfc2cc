/**
 * The base of the framing receivers: buffering, re-entry safety, pausing, and
 * closing on a bad frame.
 *
 * Re-entry: a handler (`lineReceived`, `stringReceived`) may call
 * `dataReceived` again (directly or by `setLineMode(extra)`); the bytes are
 * appended and the outer loop delivers them, so frames stay in order.
 *
 * Pausing (Twisted's `paused`): a receiver is itself a push producer of frames.
 * `this.pauseProducing()` pauses the transport's reading and also stops
 * delivering frames that are already buffered; `resumeProducing()` delivers
 * them (synchronously, in that call) and resumes reading.
 */
import type { IProtocolFactory, IPushProducer } from '../reactor/interfaces.js';
import { ByteBuffer } from './bytebuffer.js';
import { Protocol } from './protocol.js';

const EMPTY = new Uint8Array(0);

export abstract class BufferingReceiver<F extends IProtocolFactory = IProtocolFactory>
  extends Protocol<F>
  implements IPushProducer
{
  /** True while frames are held back by `pauseProducing` (or for good after `stopProducing`). */
  paused = false;
  /** True once the peer sent a bad or over-long frame; later bytes are ignored. */
  brokenPeer = false;
  protected readonly buffer = new ByteBuffer();
  private busy = false;

  override dataReceived(data: Uint8Array): void {
    if (this.brokenPeer) return;
    this.buffer.append(data);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.buffer.length > 0 && !this.paused && !this.brokenPeer && !this.transport?.disconnecting) {
        if (!this.processOne()) break;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Deliver at most one frame from `this.buffer`; false when it needs more bytes. */
  protected abstract processOne(): boolean;

  /**
   * The peer broke the framing: drop what is buffered, ignore what comes, and
   * close the connection with `reason` (after what we already wrote is sent).
   */
  protected closeForBadFrame(reason: Error): void {
    this.brokenPeer = true;
    this.buffer.clear();
    this.transport.loseConnection(reason);
  }

  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.dataReceived(EMPTY);
  }

  stopProducing(): void {
    this.paused = true;
    this.transport.stopProducing();
  }
}

const encoder = new TextEncoder();

/** `data` as bytes: strings are encoded as UTF-8. */
export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}
