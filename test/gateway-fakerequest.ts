/**
 * A small in-memory `IRequest` for unit-testing the gateway's state machine
 * without the HTTP server: it records what the gateway asks of the response,
 * lets the test pause/resume the "transport", feed or end the body, and make
 * the client go away.
 */
import { Deferred } from '../src/reactor/deferred.js';
import { ConnectionLost, ResponseDone } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { IAddress, IProducer, IProtocol, IPushProducer, ITransport } from '../src/reactor/interfaces.js';
import { Headers } from '../src/protocols/http/headers.js';
import type { IRequest, ReadBodyOptions } from '../src/protocols/http/interfaces.js';

const text = new TextDecoder('latin1');

export interface FakeRequestInit {
  method?: string;
  uri?: string;
  headers?: [string, string][];
  version?: string;
}

export class FakeRequest implements IRequest {
  readonly method: string;
  readonly uri: string;
  readonly path: string;
  readonly query: string;
  readonly version: string;
  readonly headers: Headers;
  readonly client: IAddress = { host: '10.0.0.2', port: 51234, family: 'IPv4' };
  readonly host: IAddress = { host: '127.0.0.1', port: 8080, family: 'IPv4' };
  readonly secure = false;

  code = 200;
  codeMessage = 'OK';
  readonly responseHeaders: [string, string][] = [];
  /** Body chunks exactly as written (empty writes are recorded too, so tests can catch them). */
  readonly writes: Uint8Array[] = [];
  startedWriting = false;
  finished = false;
  disconnected = false;
  aborted = false;
  producer: IProducer | null = null;
  streaming = false;
  /** Set by deliverBody: the body protocol and its transport's pause state. */
  bodyProtocol: IProtocol | null = null;
  bodyPauses = 0;
  bodyResumes = 0;
  bodyReadingPaused = false;
  continueSent = false;
  /** Simulated socket buffer: past `highWater` unflushed bytes the producer is paused (as a TCP transport does). */
  highWater = Infinity;
  unflushed = 0;
  transportPaused = false;
  private readonly finishWaiters: Deferred<void>[] = [];
  private body: Uint8Array[] = [];
  private bodyEnded = false;
  private readBodyD: { d: Deferred<Uint8Array>; limit: number } | null = null;

  constructor(readonly reactor: MemoryReactor, init: FakeRequestInit = {}) {
    this.method = init.method ?? 'GET';
    this.uri = init.uri ?? '/';
    const q = this.uri.indexOf('?');
    this.path = q < 0 ? this.uri : this.uri.slice(0, q);
    this.query = q < 0 ? '' : this.uri.slice(q + 1);
    this.version = init.version ?? 'HTTP/1.1';
    this.headers = Headers.fromPairs(init.headers ?? [['Host', 'example.test']]);
  }

  // -- helpers for tests --
  bodyText(): string {
    return this.writes.map((w) => text.decode(w)).join('');
  }
  /** The transport's buffer passed its high-water mark. */
  pauseTransport(): void {
    this.transportPaused = true;
    (this.producer as IPushProducer).pauseProducing();
  }
  resumeTransport(): void {
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
    if (this.finished || this.disconnected) return;
    this.disconnected = true;
    for (const d of this.finishWaiters.splice(0)) d.errback(new ConnectionLost());
    this.producer?.stopProducing();
    this.bodyProtocol?.connectionLost(new Failure(new ConnectionLost()));
  }
  feedBody(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (this.bodyProtocol) this.bodyProtocol.dataReceived(bytes);
    else this.body.push(bytes);
    this.checkReadBody();
  }
  endBody(): void {
    this.bodyEnded = true;
    this.bodyProtocol?.connectionLost(new Failure(new ResponseDone()));
    this.checkReadBody();
  }

  // -- IRequest --
  deliverBody(protocol: IProtocol): void {
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
    } as unknown as ITransport;
    protocol.makeConnection(transport);
    for (const b of this.body.splice(0)) protocol.dataReceived(b);
    if (this.bodyEnded) protocol.connectionLost(new Failure(new ResponseDone()));
  }
  readBody(options: ReadBodyOptions = {}): Deferred<Uint8Array> {
    const d = new Deferred<Uint8Array>();
    this.readBodyD = { d, limit: options.limit ?? Infinity };
    this.checkReadBody();
    return d;
  }
  private checkReadBody(): void {
    const rb = this.readBodyD;
    if (!rb) return;
    const total = this.body.reduce((n, b) => n + b.length, 0);
    if (total > rb.limit) {
      this.readBodyD = null;
      rb.d.errback(new Error('body too large'));
    } else if (this.bodyEnded) {
      this.readBodyD = null;
      rb.d.callback(Buffer.concat(this.body));
    }
  }

  setResponseCode(code: number, phrase?: string): void {
    this.code = code;
    this.codeMessage = phrase ?? '';
  }
  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.responseHeaders.push([name, value]);
  }
  addHeader(name: string, value: string): void {
    this.responseHeaders.push([name, value]);
  }
  removeHeader(name: string): void {
    for (let i = this.responseHeaders.length - 1; i >= 0; i--) {
      if (this.responseHeaders[i]![0].toLowerCase() === name.toLowerCase()) this.responseHeaders.splice(i, 1);
    }
  }
  getResponseHeader(name: string): string | undefined {
    return this.responseHeaders.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
  }
  write(data: Uint8Array | string): void {
    if (this.finished) throw new Error('write after finish');
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.writes.push(bytes);
    if (bytes.length > 0) this.startedWriting = true;
    this.unflushed += bytes.length;
    if (this.unflushed >= this.highWater && !this.transportPaused && this.producer) this.pauseTransport();
  }
  flushHeaders(): void {
    this.startedWriting = true;
  }
  /** Make `finish()` throw, as a server that already answered on its own would. */
  finishThrows = false;
  finish(): void {
    if (this.finishThrows) throw new Error('server refused finish()');
    if (this.finished) throw new Error('finish twice');
    this.finished = true;
    this.startedWriting = true;
    for (const d of this.finishWaiters.splice(0)) d.callback(undefined);
  }
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.producer) throw new Error('producer already registered');
    this.producer = producer;
    this.streaming = streaming;
  }
  unregisterProducer(): void {
    this.producer = null;
  }
  notifyFinish(): Deferred<void> {
    const d = new Deferred<void>();
    if (this.finished) d.callback(undefined);
    else if (this.disconnected) d.errback(new ConnectionLost());
    else this.finishWaiters.push(d);
    return d;
  }
  abort(): void {
    this.aborted = true;
    this.loseClient();
  }
}
