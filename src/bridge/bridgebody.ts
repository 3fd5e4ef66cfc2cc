/**
 * Request-body plumbing shared by the bridged requests: `deliverBody` (stream
 * into a protocol, with upload backpressure through the protocol's transport)
 * and `readBody({ limit })` (buffer it whole, bounded). A host supplies the
 * feed: it calls the sink's `data` / `end` / `lost`, and obeys the control's
 * `pause` / `resume` / `stop`.
 */
import { Deferred } from '../reactor/deferred.js';
import { ConnectionLost } from '../reactor/errors.js';
import { Failure, responseDone } from '../reactor/failure.js';
import type { IAddress, IProducer, IProtocol, ITransport } from '../reactor/interfaces.js';
import { BodyTooLargeError } from '../protocols/http/errors.js';
import { parseContentLength } from '../protocols/http/rules.js';

/** What a host feeds the body into. Calls after `end` or `lost` are ignored. */
export interface BodySink {
  data(chunk: Uint8Array): void;
  end(): void;
  lost(reason?: unknown): void;
}

/** How the body's consumer steers the host's feed. All three are idempotent. */
export interface BodyControl {
  pause(): void;
  resume(): void;
  /** The consumer is gone (or over its limit): stop feeding for good. */
  stop(): void;
}

type OpenBody = (sink: BodySink) => BodyControl;

/** `reason` as the `ConnectionLost` a body consumer or `notifyFinish()` is told: kept if it is one, else wrapped (as `cause`). */
export function asConnectionLost(
  reason: unknown,
  message = 'the client went away before the request body ended',
): ConnectionLost {
  return reason instanceof ConnectionLost ? reason : new ConnectionLost(message, { cause: reason });
}

/** A sink that forwards at most one ending, and nothing after it. */
function onceSink(sink: BodySink): BodySink {
  let done = false;
  return {
    data: (c) => {
      if (!done && c.byteLength > 0) sink.data(c);
    },
    end: () => {
      if (!done) {
        done = true;
        sink.end();
      }
    },
    lost: (r) => {
      if (!done) {
        done = true;
        sink.lost(r);
      }
    },
  };
}

/**
 * The transport a body protocol sees: its producer half steers the feed
 * (pause = stop reading the upload); its writing half has nowhere to go.
 */
class BodyTransport implements ITransport {
  disconnecting = false;
  control: BodyControl | null = null;
  private pausedEarly = false;
  constructor(
    private readonly peer: IAddress,
    private readonly local: IAddress,
  ) {}
  pauseProducing(): void {
    if (this.control) this.control.pause();
    else this.pausedEarly = true;
  }
  resumeProducing(): void {
    if (this.control) this.control.resume();
    else this.pausedEarly = false;
  }
  stopProducing(): void {
    this.disconnecting = true;
    this.control?.stop();
  }
  attach(control: BodyControl): void {
    this.control = control;
    if (this.pausedEarly) control.pause();
    if (this.disconnecting) control.stop();
  }
  write(_data: Uint8Array): void {}
  writeSequence(_data: Iterable<Uint8Array>): void {}
  loseConnection(): void {
    this.stopProducing();
  }
  abortConnection(): void {
    this.stopProducing();
  }
  loseWriteConnection(): void {}
  getPeer(): IAddress {
    return this.peer;
  }
  getHost(): IAddress {
    return this.local;
  }
  registerProducer(_p: IProducer, _streaming: boolean): void {}
  unregisterProducer(): void {}
}

/** `IRequest.deliverBody`: data as `dataReceived`, the end as `connectionLost(Failure(ResponseDone))`. */
export function deliverBodyTo(req: { client: IAddress; host: IAddress }, protocol: IProtocol, open: OpenBody): void {
  const transport = new BodyTransport(req.client, req.host);
  protocol.makeConnection(transport);
  const sink = onceSink({
    data: (c) => protocol.dataReceived(c),
    end: () => protocol.connectionLost(responseDone()),
    lost: (r) => protocol.connectionLost(new Failure(asConnectionLost(r))),
  });
  transport.attach(open(sink));
}

/**
 * `IRequest.readBody`: the whole body, or `BodyTooLargeError` as soon as it
 * passes `limit` (the feed is stopped then, so a large upload is not read on;
 * `onTooLarge` answers the client).
 */
export function readBodyFrom(
  req: { headers: { get(n: string): string | undefined } },
  limit: number,
  open: OpenBody,
  onTooLarge: () => void,
): Deferred<Uint8Array> {
  const d = new Deferred<Uint8Array>(undefined, 'request body');
  const cl = req.headers.get('content-length');
  const declared = cl === undefined ? null : parseContentLength(cl);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let control: BodyControl | null = null;
  let over = false;
  const tooLarge = (got: number, soFar: boolean): void => {
    over = true;
    control?.stop();
    // Answer 413 first: the app's errback may end the response itself (or fail it with a 500).
    onTooLarge();
    d.errback(new BodyTooLargeError(limit, got, soFar));
  };
  if (declared !== null && declared > limit) {
    tooLarge(declared, false);
    return d;
  }
  control = open(
    onceSink({
      data: (c) => {
        if (over) return;
        size += c.byteLength;
        if (size > limit) return tooLarge(size, true);
        chunks.push(c.slice());
      },
      end: () => {
        if (over) return;
        const all = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          all.set(c, at);
          at += c.byteLength;
        }
        d.callback(all);
      },
      lost: (r) => {
        if (!over) d.errback(asConnectionLost(r));
      },
    }),
  );
  if (over) control.stop();
  return d;
}
