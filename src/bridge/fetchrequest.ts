/**
 * `FetchRequest`: the `IRequest` a CPS app (or, through the gateway, an
 * iterator app) sees when it runs inside a WHATWG Fetch handler. Input is the
 * Request's body stream, read only while the app wants it; output is a
 * Response whose body is a pull-based ReadableStream over a `BridgeQueue`:
 * each `pull` takes one queued chunk, so the app's producer runs only as fast
 * as the Response is read; `cancel` is the client going away (G14).
 */
import { ConnectionLost } from '../reactor/errors.js';
import type { IAddress, IDelayedCall, IReactor } from '../reactor/interfaces.js';
import { Headers } from '../protocols/http/headers.js';
import { responseHasNoBody } from '../protocols/http/rules.js';
import { BridgeQueue, type BridgeQueueListener, type BridgeQueueOptions } from './bridgequeue.js';
import { BridgeRequest } from './bridgerequest.js';
import type { BodyControl, BodySink } from './bridgebody.js';

export interface FetchRequestOptions extends Pick<BridgeQueueOptions, 'highWater' | 'lowWater' | 'maxBuffered'> {
  reactor: IReactor;
  /** What `request.client` reports (a Fetch Request does not carry the peer). Default 0.0.0.0:0. */
  client?: IAddress;
  readBodyLimit?: number;
}

export class FetchRequest extends BridgeRequest implements BridgeQueueListener {
  /** Settles with the Response once the head is known (or rejects if the app aborts first). */
  readonly response: Promise<Response>;
  private resolveResponse!: (r: Response) => void;
  private rejectResponse!: (e: unknown) => void;
  private readonly fetchRequest: Request;
  private readonly queue: BridgeQueue;
  private waiter: (() => void) | null = null;
  private nullBody = false;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;

  constructor(request: Request, options: FetchRequestOptions) {
    const url = new URL(request.url);
    const defaultPort = url.protocol === 'https:' ? 443 : 80;
    super({
      method: request.method,
      uri: `${url.pathname}${url.search}`,
      version: 'HTTP/1.1',
      headers: Headers.fromPairs(request.headers),
      client: options.client ?? { host: '0.0.0.0', port: 0 },
      host: { host: url.hostname, port: url.port ? Number(url.port) : defaultPort },
      reactor: options.reactor,
      secure: url.protocol === 'https:',
      readBodyLimit: options.readBodyLimit,
    });
    this.fetchRequest = request;
    this.response = new Promise((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    this.queue = new BridgeQueue(options, this);
    request.signal?.addEventListener('abort', () => this.gone('the Fetch request was aborted'), { once: true });
  }

  /** @internal BridgeQueueListener: past the high-water mark, pause the app's producer. */
  onHigh(): void {
    this.outputPaused();
  }

  /** @internal BridgeQueueListener: drained to the low-water mark, resume it. */
  onLow(): void {
    this.outputResumed();
  }

  /** @internal BridgeQueueListener: a pending pull may deliver now. */
  onReadable(): void {
    this.wake();
  }

  /** @internal BridgeQueueListener: a pull found the queue empty; a pull producer is asked for more. */
  onEmpty(): void {
    this.wantMore();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private gone(why: string): void {
    if (this.completed || this.disconnected) return;
    const err = new ConnectionLost(why);
    this.queue.close();
    this.connectionLost(err);
    this.rejectResponse(err);
    // A reader still waiting on the body learns why it ends (a no-op once cancelled).
    try {
      this.controller?.error(err);
    } catch {
      // the stream was already closed or errored
    }
    this.wake();
  }

  protected sendHead(code: number, phrase: string, names: readonly string[], values: readonly string[]): void {
    const h = new globalThis.Headers();
    for (let i = 0; i < names.length; i++) h.append(names[i]!, values[i]!);
    this.nullBody = responseHasNoBody(this.method, code);
    const body = this.nullBody
      ? null
      : new ReadableStream<Uint8Array>(
          {
            start: (c) => {
              this.controller = c;
            },
            pull: (c) => this.pull(c),
            cancel: () => {
              this.controller = null;
              this.gone('the Fetch consumer cancelled the response body');
            },
          },
          // highWaterMark 0: nothing is pulled until the consumer reads (on demand).
          { highWaterMark: 0 },
        );
    this.resolveResponse(new Response(body, { status: code, statusText: phrase, headers: h }));
  }

  /**
   * One `pull`: deliver one chunk, the end or the error. With nothing queued
   * it returns a Promise that delivers when the app writes (the stream does
   * not call `pull` again by itself once that Promise settles).
   */
  private pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    if (this.deliver(controller)) return;
    return new Promise<void>((resolve) => {
      const attempt = (): void => {
        if (this.deliver(controller)) resolve();
        else this.waiter = attempt;
      };
      this.waiter = attempt;
    });
  }

  /** True when it enqueued a chunk, closed or errored the stream (or the stream is gone). */
  private deliver(controller: ReadableStreamDefaultController<Uint8Array>): boolean {
    const chunk = this.queue.shift();
    if (chunk) {
      controller.enqueue(chunk);
      return true;
    }
    switch (this.queue.state) {
      case 'ended':
        controller.close();
        this.queue.close();
        this.responseCompleted();
        return true;
      case 'failed':
        controller.error(this.queue.error);
        return true;
      case 'closed':
        return true;
      default:
        return false;
    }
  }

  protected sendData(chunk: Uint8Array): void {
    if (!this.nullBody) this.queue.push(chunk);
    else this.askProducer();
  }

  protected sendFlush(): void {}

  protected sendEnd(): void {
    if (this.nullBody) this.responseCompleted();
    else this.queue.end();
  }

  protected sendAbort(): void {
    const err = new ConnectionLost('the app aborted the response');
    this.queue.fail(err);
    this.rejectResponse(err);
  }

  protected override producerRegistered(streaming: boolean): void {
    if (streaming) return;
    if (this.startedWriting && !this.nullBody) return this.wake();
    this.askProducer();
  }

  /**
   * Ask a pull producer for more on the next reactor turn (never inside the
   * app's own call) while no pull can: before the Response exists (its first
   * write starts the head), and for a body-less one (HEAD, 204, 304: its
   * writes are dropped, but it must still reach finish()). Pulls drive it otherwise.
   */
  private askProducer(): void {
    this.reactor.callLater(0, () => {
      if (!this.finished && !this.disconnected && (!this.startedWriting || this.nullBody)) this.wantMore();
    });
  }

  /** The Request body, read only while the app is not pausing it. */
  protected openBody(sink: BodySink): BodyControl {
    return openStreamBody(this.fetchRequest.body, this.reactor, sink);
  }
}

/** Feed a ReadableStream into a body sink, one read at a time, only while not paused. */
function openStreamBody(body: ReadableStream<Uint8Array> | null, reactor: IReactor, sink: BodySink): BodyControl {
  let paused = false;
  let stopped = false;
  let reading = false;
  let held: Uint8Array | null = null;
  let timer: IDelayedCall | null = null;
  const reader = body?.getReader() ?? null;
  const pump = async (): Promise<void> => {
    if (reading || !reader) return;
    reading = true;
    try {
      while (!paused && !stopped) {
        if (held) {
          const c = held;
          held = null;
          sink.data(c);
          continue;
        }
        const { done, value } = await reader.read();
        if (stopped) return;
        if (done) {
          stopped = true;
          sink.end();
          return;
        }
        // A chunk that arrives after a pause is held until resume: no dataReceived while paused.
        if (paused) held = value;
        else sink.data(value);
      }
    } catch (err) {
      if (!stopped) {
        stopped = true;
        sink.lost(err);
      }
    } finally {
      reading = false;
    }
  };
  // Start on a later turn: deliverBody() returns before the first dataReceived.
  timer = reactor.callLater(0, () => {
    timer = null;
    if (!reader) {
      if (!stopped) sink.end();
    } else void pump();
  });
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      if (paused && !stopped) {
        paused = false;
        void pump();
      }
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      if (timer?.active()) timer.cancel();
      reader?.cancel().catch(() => {});
    },
  };
}
