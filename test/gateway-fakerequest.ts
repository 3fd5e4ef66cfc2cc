/**
 * The gateway tests' request: spindle/testing's `DummyRequest` plus what the
 * gateway's state machine tests need on top: every write recorded (empty ones
 * too, so a test can catch a G4 violation), a simulated socket buffer that
 * pauses the producer past `highWater`, and a `finish()` that can be made to
 * throw as a server that already answered would.
 */
import type { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { IPushProducer } from '../src/reactor/interfaces.js';
import { DummyRequest } from '../src/testing/index.js';

const text = new TextDecoder('latin1');

export interface FakeRequestInit {
  method?: string;
  uri?: string;
  headers?: [string, string][];
  version?: string;
}

export class FakeRequest extends DummyRequest {
  /** Body chunks exactly as written (empty writes are recorded too, so tests can catch them). */
  readonly writes: Uint8Array[] = [];
  /** Simulated socket buffer: past `highWater` unflushed bytes the producer is paused (as a TCP transport does). */
  highWater = Infinity;
  unflushed = 0;
  /** Make `finish()` throw, as a server that already answered on its own would. */
  finishThrows = false;

  constructor(reactor: MemoryReactor, init: FakeRequestInit = {}) {
    super({
      ...init,
      reactor,
      body: null,
      client: { host: '10.0.0.2', port: 51234, family: 'IPv4' },
      host: { host: '127.0.0.1', port: 8080, family: 'IPv4' },
    });
  }

  bodyText(): string {
    return this.writes.map((w) => text.decode(w)).join('');
  }
  /** The transport's buffer passed its high-water mark. */
  override pauseTransport(): void {
    this.transportPaused = true;
    (this.producer as IPushProducer).pauseProducing();
  }
  override resumeTransport(): void {
    this.transportPaused = false;
    (this.producer as IPushProducer).resumeProducing();
  }
  /** The client read everything: the buffer drains and a paused producer resumes. */
  drain(): void {
    this.unflushed = 0;
    if (this.transportPaused && this.producer) this.resumeTransport();
  }
  /** The client goes away: notifyFinish errbacks, the producer is stopped. */
  loseClient(): void {
    this.loseConnection();
  }
  override write(data: Uint8Array | string): void {
    if (this.finished) throw new Error('write after finish');
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.writes.push(bytes);
    super.write(bytes);
    this.unflushed += bytes.length;
    if (this.unflushed >= this.highWater && !this.transportPaused && this.producer) this.pauseTransport();
  }
  override finish(): void {
    if (this.finishThrows) throw new Error('server refused finish()');
    super.finish();
  }
}
