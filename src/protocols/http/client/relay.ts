/**
 * `Relay`: the reverse proxy's flow control for one direction, in a file of
 * its own so that every relay of the proxy (the bodies in proxy.ts, a
 * protocol-switch tunnel) shares it. It is the push producer registered on
 * the writing side.
 */
import type { ITransport } from '../../../reactor/interfaces.js';

/**
 * One direction's flow control: pausing passes to the reading side's transport,
 * and bytes that still arrive while paused are counted against `maxBuffered`.
 */
export abstract class Relay {
  protected transport: ITransport | null = null;
  protected paused = false;
  private overrun = 0;

  constructor(protected readonly maxBuffered: number) {}

  /** False when a byte count arriving now would pass `maxBuffered` while paused. */
  protected admit(n: number): boolean {
    return !this.paused || (this.overrun += n) <= this.maxBuffered;
  }

  pauseProducing(): void {
    if (this.paused) return;
    this.paused = true;
    this.overrun = 0;
    this.transport?.pauseProducing();
  }

  resumeProducing(): void {
    if (!this.paused) return;
    this.paused = false;
    this.transport?.resumeProducing();
  }

  stopProducing(): void {
    this.transport?.stopProducing();
  }
}
