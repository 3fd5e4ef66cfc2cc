/**
 * `Response`: what `agent.request()` fires with once the head has come. The
 * body stays in the socket (reading paused) until `deliverBody(protocol)`;
 * then the protocol's transport is the flow control: pausing it stops reading
 * the connection, `stopProducing` abandons the body and closes the connection.
 *
 * A `101 Switching Protocols` (to a request that sent Upgrade) has no body:
 * `switchProtocols(protocol)` gives the connection itself to another protocol.
 */
import { Failure } from '../../../reactor/failure.js';
import type { IAddress, IProducer, IProtocol, ITransport } from '../../../reactor/interfaces.js';
import type { Headers } from '../headers.js';
import type { IHeaders } from '../interfaces.js';
import { ProtocolSwitchError, ResponseBodyConsumed } from './errors.js';
import { UNKNOWN_LENGTH, type IResponse } from './interfaces.js';
import { iterateBody } from './readbody.js';
import type { ResponseHead } from './responseparser.js';

/** What a response body needs from its connection. */
export interface BodySource {
  pauseReading(): void;
  resumeReading(): void;
  /** The reader gave up on the body: close the connection (it cannot be reused). */
  abandon(): void;
  getPeer(): IAddress;
  getHost(): IAddress;
  /** After a 101: give the connection's transport and the bytes read past the head to `protocol`. */
  switchProtocols?(protocol: IProtocol): void;
}

type BodyState = 'unread' | 'delivering' | 'done';

export class Response implements IResponse {
  readonly version: string;
  readonly code: number;
  readonly phrase: string;
  readonly headers: IHeaders;
  readonly length: number;
  readonly url: string;
  /** Set by RedirectAgent on the response it finally returns. */
  previousResponse: IResponse | null = null;
  trailers: IHeaders | null = null;
  private state: BodyState = 'unread';
  private protocol: IProtocol | null = null;
  /** How the body ended before anyone asked for it. */
  private endedWith: Failure | null = null;

  constructor(
    head: ResponseHead,
    url: string,
    private readonly source: BodySource,
  ) {
    this.version = head.version;
    this.code = head.code;
    this.phrase = head.phrase;
    this.headers = head.headers;
    this.length = head.framing === 'length' || head.framing === 'none' ? head.contentLength : UNKNOWN_LENGTH;
    this.url = url;
  }

  deliverBody(protocol: IProtocol): void {
    if (this.state !== 'unread') throw new ResponseBodyConsumed();
    this.state = 'delivering';
    this.protocol = protocol;
    const transport = this.bodyTransport();
    protocol.makeConnection(transport);
    // A 101's body is empty and its connection speaks another protocol now: nobody will, so close it.
    if (this.code === 101) this.source.abandon();
    if (this.endedWith !== null) return this.finish(this.endedWith);
    if (!transport.paused) this.source.resumeReading();
  }

  /**
   * Take over the connection after `101 Switching Protocols` (RFC 9110 §7.8, §15.2.2),
   * as `request.upgrade()` does on the server: `protocol.makeConnection(transport)`
   * with the raw transport (writes go to the server, `pauseProducing` stops reading),
   * then `dataReceived` with any bytes the server sent right after the 101, then
   * reads, the server's FIN (`readConnectionLost`, if the protocol has it) and
   * `connectionLost` as for any connection. The connection never returns to the pool.
   * Throws `ProtocolSwitchError` on any other status, and `ResponseBodyConsumed`
   * after `deliverBody` or a previous switch.
   */
  switchProtocols(protocol: IProtocol): void {
    if (this.code !== 101 || typeof this.source.switchProtocols !== 'function')
      throw new ProtocolSwitchError(
        `switchProtocols() on a ${this.code} response; only 101 Switching Protocols hands over the connection (send Upgrade and check response.code first)`,
      );
    if (this.state !== 'unread') throw new ResponseBodyConsumed();
    this.state = 'done';
    this.source.switchProtocols(protocol);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateBody(this);
  }

  /** Body bytes from the connection (only while delivering: the connection reads nothing before). */
  bodyData(data: Uint8Array): void {
    if (this.state === 'delivering') this.protocol!.dataReceived(data);
  }

  /** The body ended: `ResponseDone`, or a `ResponseFailed` when it broke off. */
  bodyEnd(reason: Failure, trailers: Headers | null = null): void {
    if (trailers !== null) this.trailers = trailers;
    if (this.state === 'unread') this.endedWith = reason;
    else if (this.state === 'delivering') this.finish(reason);
  }

  get bodyDone(): boolean {
    return this.state === 'done' || this.endedWith !== null;
  }

  private finish(reason: Failure): void {
    this.state = 'done';
    const p = this.protocol!;
    this.protocol = null;
    p.connectionLost(reason);
  }

  /** The transport a body protocol sees: flow control only; writing is refused. */
  private bodyTransport(): ITransport & { paused: boolean } {
    const source = this.source;
    const refuse = () => {
      throw new TypeError("a response body's transport is read-only: it only pauses, resumes or stops the body");
    };
    const t = {
      paused: false,
      disconnecting: false,
      pauseProducing: () => {
        if (t.paused || this.state !== 'delivering') return;
        t.paused = true;
        source.pauseReading();
      },
      resumeProducing: () => {
        if (!t.paused) return;
        t.paused = false;
        if (this.state === 'delivering') source.resumeReading();
      },
      // The protocol still gets connectionLost(ResponseFailed) once the connection is gone.
      stopProducing: () => {
        if (this.state === 'delivering') source.abandon();
      },
      write: refuse,
      writeSequence: refuse,
      registerProducer: (_p: IProducer, _s: boolean) => refuse(),
      unregisterProducer: () => {},
      loseConnection: () => t.stopProducing(),
      abortConnection: () => t.stopProducing(),
      loseWriteConnection: () => {},
      getPeer: () => source.getPeer(),
      getHost: () => source.getHost(),
    };
    return t;
  }
}
