/**
 * `DummyRequest`: a CPS request you drive by hand (Twisted's
 * `twisted.web.test.requesthelper.DummyRequest`). It satisfies the same
 * `IRequest` the HTTP server hands an app (and `IWebRequest`, with
 * `prepath`/`postpath` as `site()` would start them), records everything the
 * app does to the response, and lets the test play the client: feed or end
 * the body, stall and drain the transport, make the client go away.
 *
 *     const request = new DummyRequest({ uri: '/hello?name=ada' });
 *     app(request);
 *     expect(request.code).toBe(200);
 *     expect(request.text()).toBe('hello ada');
 *     expect(request.finished).toBe(true);
 *
 * Unlike the server, it keeps the body of a HEAD response (so a test can see
 * what the app wrote) and frames nothing: `written` is exactly what the app
 * handed to `write()`, non-empty chunks only.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../reactor/deferred.js';
import { ConnectionLost } from '../reactor/errors.js';
import { Failure, responseDone } from '../reactor/failure.js';
import { MemoryReactor } from '../reactor/memoryreactor.js';
import type {
  IAddress,
  IProducer,
  IProtocol,
  IPullProducer,
  IPushProducer,
  IReactor,
  ITransport,
} from '../reactor/interfaces.js';
import { BodyAlreadyConsumedError, BodyTooLargeError, RequestFinishedError } from '../protocols/http/errors.js';
import { Headers } from '../protocols/http/headers.js';
import type { ReadBodyOptions } from '../protocols/http/interfaces.js';
import { bodyBytes, RequestCore } from '../protocols/http/requestcore.js';
import { splitPath } from '../protocols/web/path.js';
import type { IWebRequest } from '../protocols/web/interfaces.js';

export interface DummyRequestOptions {
  method?: string;
  /** The request target, with its query: '/a/b?x=1'. Default '/'. */
  uri?: string;
  /** Request headers; default `[['Host', 'example.test']]`. */
  headers?: [string, string][];
  /**
   * A body that has fully arrived. Left out, a GET or HEAD has an empty body and
   * other methods stream theirs through `feedBody`/`endBody`; `null` streams it
   * whatever the method.
   */
  body?: string | Uint8Array | null;
  version?: string;
  /** The reactor the request reports (`request.reactor`); default a fresh `MemoryReactor` (its `clock` moves time). */
  reactor?: IReactor;
  client?: IAddress;
  host?: IAddress;
}

const utf8 = new TextDecoder();

export class DummyRequest extends RequestCore implements IWebRequest {
  readonly method: string;
  readonly uri: string;
  readonly path: string;
  readonly query: string;
  readonly version: string;
  readonly headers: Headers;
  readonly client: IAddress;
  readonly host: IAddress;
  readonly reactor: IReactor;
  /** Set `secure` to play a request that came over TLS. */
  secure = false;
  isSecure(): boolean {
    return this.secure;
  }
  prepath: string[] = [];
  postpath: string[];

  // -- what the app did --
  /** Response headers in the order set, names as given (a copy). */
  get responseHeaders(): [string, string][] {
    return this.headerPairs();
  }
  /** Every non-empty chunk handed to `write()`, in order. */
  readonly written: Uint8Array[] = [];
  startedWriting = false;
  aborted = false;
  /** The registered producer and whether it is streaming (push) or not (pull). */
  declare producer: IProducer | null;
  declare streaming: boolean;
  /** True while the (pretend) transport has paused a push producer. */
  transportPaused = false;
  /** Upload backpressure: how often the body reader paused/resumed reading, and whether it is paused now. */
  bodyPauses = 0;
  bodyResumes = 0;
  bodyReadingPaused = false;
  /** True once `deliverBody` answered a client's `Expect: 100-continue`. */
  continueSent = false;

  private readonly bodyParts: Uint8Array[] = [];
  private bodyEnded = false;
  private bodyTaken = false;
  /** The protocol `deliverBody` is streaming the body into, once it was called. */
  bodyProtocol: IProtocol | null = null;
  private bodyRead: { d: Deferred<Uint8Array>; limit: number } | null = null;

  constructor(options: DummyRequestOptions = {}) {
    super();
    this.method = options.method ?? 'GET';
    this.uri = options.uri ?? '/';
    const q = this.uri.indexOf('?');
    this.path = q < 0 ? this.uri : this.uri.slice(0, q);
    this.query = q < 0 ? '' : this.uri.slice(q + 1);
    this.version = options.version ?? 'HTTP/1.1';
    this.headers = Headers.fromPairs(options.headers ?? [['Host', 'example.test']]);
    this.reactor = options.reactor ?? new MemoryReactor();
    this.client = options.client ?? { host: '192.0.2.10', port: 50000, family: 'IPv4' };
    this.host = options.host ?? { host: '127.0.0.1', port: 8080, family: 'IPv4' };
    this.postpath = splitPath(this.path);
    if (options.body !== undefined && options.body !== null) {
      this.bodyParts.push(bodyBytes(options.body));
      this.bodyEnded = true;
    } else if (options.body === undefined && (this.method === 'GET' || this.method === 'HEAD')) this.bodyEnded = true;
  }

  // ------------------------------------------------------------------ reading what the app did

  /** The body written so far, as bytes. */
  body(): Buffer {
    return Buffer.concat(this.written);
  }
  /** The body written so far, as UTF-8 text. */
  text(): string {
    return utf8.decode(this.body());
  }

  // ------------------------------------------------------------------ playing the client

  /** Body bytes arrive (to `deliverBody`'s protocol, or held for `readBody`). */
  feedBody(data: string | Uint8Array): void {
    const bytes = bodyBytes(data);
    if (this.bodyProtocol !== null) this.bodyProtocol.dataReceived(bytes);
    else this.bodyParts.push(bytes);
    this.checkRead();
  }
  /** The body ended. */
  endBody(): void {
    this.bodyEnded = true;
    this.bodyProtocol?.connectionLost(responseDone());
    this.checkRead();
  }
  /** The socket's buffer filled up: a push producer is paused. */
  pauseTransport(): void {
    this.transportPaused = true;
    if (this.producer !== null && this.streaming) (this.producer as IPushProducer).pauseProducing();
  }
  /** The socket drained: a paused push producer is resumed. */
  resumeTransport(): void {
    if (!this.transportPaused) return;
    this.transportPaused = false;
    if (this.producer !== null && this.streaming) (this.producer as IPushProducer).resumeProducing();
  }
  /**
   * Ask a pull producer for data `times` times (each call is one
   * `resumeProducing()`, as a transport does after each drained write); stops
   * early when the producer unregisters. Returns how many times it asked.
   */
  pull(times = 1): number {
    let asked = 0;
    while (asked < times && this.producer !== null && !this.streaming) {
      (this.producer as IPullProducer).resumeProducing();
      asked++;
    }
    return asked;
  }
  /** The client goes away: `notifyFinish()` errbacks with `ConnectionLost`, the producer is stopped, body readers are told. */
  loseConnection(): void {
    if (this.finished || this.disconnected) return;
    this.disconnected = true;
    this.stopProducer();
    this.settleLost(new ConnectionLost('the client went away before the response finished'));
    this.bodyProtocol?.connectionLost(new Failure(new ConnectionLost()));
    const read = this.bodyRead;
    this.bodyRead = null;
    read?.d.errback(new ConnectionLost('the client went away before the body ended'));
  }

  // ------------------------------------------------------------------ IRequest: input

  deliverBody(protocol: IProtocol): void {
    this.takeBody();
    if (this.headers.get('expect')?.toLowerCase() === '100-continue') this.continueSent = true;
    this.bodyProtocol = protocol;
    const transport = {
      pauseProducing: () => {
        this.bodyPauses++;
        this.bodyReadingPaused = true;
      },
      resumeProducing: () => {
        this.bodyResumes++;
        this.bodyReadingPaused = false;
      },
      stopProducing: () => {},
    } as unknown as ITransport;
    protocol.makeConnection(transport);
    for (const b of this.bodyParts.splice(0)) protocol.dataReceived(b);
    if (this.bodyEnded) protocol.connectionLost(responseDone());
  }

  readBody(options: ReadBodyOptions = {}): Deferred<Uint8Array> {
    this.takeBody();
    const d = new Deferred<Uint8Array>();
    this.bodyRead = { d, limit: options.limit ?? Infinity };
    this.checkRead();
    return d;
  }

  /** The body is read once, as on every host (`BodyAlreadyConsumedError`). */
  private takeBody(): void {
    if (this.bodyTaken) throw new BodyAlreadyConsumedError();
    this.bodyTaken = true;
  }

  private checkRead(): void {
    const read = this.bodyRead;
    if (read === null) return;
    const total = this.bodyParts.reduce((n, b) => n + b.length, 0);
    if (total > read.limit) {
      this.bodyRead = null;
      read.d.errback(new BodyTooLargeError(read.limit, total));
    } else if (this.bodyEnded) {
      this.bodyRead = null;
      read.d.callback(Buffer.concat(this.bodyParts));
    }
  }

  // ------------------------------------------------------------------ IRequest: output

  write(data: Uint8Array | string): void {
    if (this.finished) throw new RequestFinishedError('write()');
    if (this.disconnected) return;
    const bytes = bodyBytes(data);
    if (bytes.length === 0) return;
    this.startedWriting = true;
    this.locked = true;
    this.written.push(bytes);
  }
  flushHeaders(): void {
    this.startedWriting = true;
    this.locked = true;
  }
  finish(): void {
    if (this.finished) throw new RequestFinishedError('finish()');
    this.finished = true;
    this.startedWriting = true;
    this.locked = true;
    if (this.disconnected) return;
    if (this.producer !== null) this.unregisterProducer();
    this.settleFinished();
  }
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (!this.claimProducer(producer, streaming, this.disconnected)) return;
    if (streaming && this.transportPaused) (producer as IPushProducer).pauseProducing();
  }
  unregisterProducer(): void {
    this.producer = null;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.loseConnection();
  }
}
