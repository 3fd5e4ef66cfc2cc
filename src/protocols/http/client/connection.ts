/**
 * `HTTP11ClientProtocol`: one client connection, one request at a time
 * (Twisted's `HTTP11ClientProtocol`). It writes the request head and streams
 * the body from its producer (registered on the transport as a push producer,
 * so a server that stops reading pauses it), reads the response through a
 * `ResponseParser`, and fires the request's Deferred with a `Response` at the
 * head. After the body has ended it tells its owner (the pool) whether the
 * connection may carry another request.
 *
 * Phases: 'connecting' → 'idle' ⇄ 'busy' → 'closed'. Bytes that come while
 * idle (nothing asked) end the connection; so does any parse error.
 *
 * Protocol switch (RFC 9110 §7.8, §15.2.2): a request that asked for Upgrade
 * and got `101 Switching Protocols` moves the connection to 'upgrading': the
 * bytes after the 101 wait in the parser (reading pauses past
 * `CLIENT_READ_AHEAD_BYTES`) until `response.switchProtocols(protocol)` hands
 * the transport and those bytes to `protocol` ('switched'); from then on the
 * connection only forwards reads, FIN and the close. It never goes back to the
 * pool. A 101 to a request without Upgrade fails it with `ResponseFailed`.
 */
import { Buffer } from 'node:buffer';
import { Deferred } from '../../../reactor/deferred.js';
import { ConnectionDone } from '../../../reactor/errors.js';
import { Failure, responseDone } from '../../../reactor/failure.js';
import { keepRead, unkeepRead } from '../../../reactor/readbuffer.js';
import type { IAddress, IConsumer, IProducer, IProtocol, ITransport } from '../../../reactor/interfaces.js';
import type { HTTPParseError } from '../errors.js';
import { chunkSizeLine, LAST_CHUNK } from '../framing.js';
import type { Headers } from '../headers.js';
import {
  ProtocolSwitchError,
  ResponseFailed,
  ResponseNeverReceived,
  RequestTransmissionFailed,
  WrongBodyLength,
} from './errors.js';
import { UNKNOWN_LENGTH, type IBodyProducer } from './interfaces.js';
import { Response, type BodySource } from './response.js';
import { ResponseParser, type ResponseHead, type ResponseParserLimits } from './responseparser.js';

/**
 * Bytes a connection holds unread (in its parser) while its body reader is paused,
 * before it stops reading the socket. One socket read may come on top.
 */
export const CLIENT_READ_AHEAD_BYTES = 64 * 1024;

export type ConnectionPhase = 'connecting' | 'idle' | 'busy' | 'upgrading' | 'switched' | 'closed';

/** One request as the connection sends it. */
export interface OutgoingRequest {
  method: string;
  /** The URL, for the Response and error messages. */
  url: string;
  /** The serialized head (requesthead.ts). */
  head: string;
  body: Uint8Array | IBodyProducer | null;
  /** The head asks for a protocol switch (Upgrade): a 101 may answer it. */
  upgrade?: boolean;
}

const CRLF = Buffer.from('\r\n');

const LAST_CHUNK_BYTES = Buffer.from(LAST_CHUNK, 'latin1');

/** Per-request state: what was sent, what came back. */
interface Exchange {
  request: OutgoingRequest;
  deferred: Deferred<Response>;
  response: Response | null;
  /** The head and the whole body are written. */
  sent: boolean;
  /** Some byte of the response came. */
  receivedAny: boolean;
  producer: IBodyProducer | null;
  keepAlive: boolean;
  /** The caller cancelled: its Deferred errbacks with CancelledError, nothing else fires it. */
  cancelled: boolean;
}

export class HTTP11ClientProtocol implements IProtocol, BodySource {
  transport: ITransport | null = null;
  phase: ConnectionPhase = 'connecting';
  /** Fires with this protocol when the connection is made. */
  readonly connected = new Deferred<HTTP11ClientProtocol>();
  /** Set by the owner: the exchange ended and the connection can take another request. */
  onIdle: ((conn: HTTP11ClientProtocol) => void) | null = null;
  /** Set by the owner: the connection closed. */
  onClosed: ((conn: HTTP11ClientProtocol) => void) | null = null;
  /** Set by the pool that counts it (maxConnectionsPerHost): the connection closed, its slot is free. */
  onGone: ((conn: HTTP11ClientProtocol) => void) | null = null;
  /** Requests this connection has carried. */
  requestCount = 0;
  private readonly parser: ResponseParser;
  private exchange: Exchange | null = null;
  private readPaused = false;
  /** The socket's reading is paused (read-ahead full while the body reader is paused). */
  private socketPaused = false;
  /** Reads whose memory the parser may still hold (keepRead); let go once it holds nothing. */
  private heldReads: Uint8Array[] = [];
  /** The connection closed while read bytes waited behind a pause; handled once they are parsed. */
  private pendingLoss: Failure | null = null;
  /** The protocol the connection was switched to (101); it gets every read from now on. */
  private switchedTo: IProtocol | null = null;
  /** The connection closed after a 101 but before `switchProtocols()`: the new protocol hears it then. */
  private lostBeforeSwitch: Failure | null = null;

  constructor(limits?: ResponseParserLimits) {
    this.parser = new ResponseParser(
      {
        onHead: (h) => this.onHead(h),
        onBody: (d) => this.exchange?.response?.bodyData(d),
        onComplete: (t) => this.onComplete(t),
        onError: (e) => this.onParseError(e),
      },
      limits,
    );
  }

  makeConnection(transport: ITransport): void {
    this.transport = transport;
    this.phase = 'idle';
    this.connected.callback(this);
  }

  /** Send `request`; the Deferred fires with the Response at its head. Only when idle. */
  request(request: OutgoingRequest): Deferred<Response> {
    const d = new Deferred<Response>(() => this.cancel(ex));
    const ex: Exchange = {
      request,
      deferred: d,
      response: null,
      sent: false,
      receivedAny: false,
      producer: null,
      keepAlive: true,
      cancelled: false,
    };
    if (this.phase !== 'idle') {
      d.errback(new RequestTransmissionFailed([new ConnectionDone(`the connection is ${this.phase}, not idle`)]));
      return d;
    }
    this.phase = 'busy';
    this.exchange = ex;
    this.requestCount++;
    this.parser.expectResponseTo(request.method);
    const t = this.transport!;
    const body = request.body;
    if (body === null || body instanceof Uint8Array) {
      t.write(
        body === null || body.length === 0
          ? Buffer.from(request.head, 'latin1')
          : Buffer.concat([Buffer.from(request.head, 'latin1'), body]),
      );
      ex.sent = true;
    } else {
      t.write(Buffer.from(request.head, 'latin1'));
      this.startBody(ex, body);
    }
    return d;
  }

  /** Stream the producer's body: chunked when its length is unknown, else checked against its length. */
  private startBody(ex: Exchange, producer: IBodyProducer): void {
    const t = this.transport!;
    const chunked = producer.length === UNKNOWN_LENGTH;
    let written = 0;
    ex.producer = producer;
    const consumer: IConsumer = {
      write: (data: Uint8Array) => {
        if (this.exchange !== ex || data.length === 0) return;
        written += data.length;
        if (!chunked && written > producer.length)
          return this.bodyFailed(ex, new WrongBodyLength(producer.length, written));
        if (chunked) t.writeSequence([chunkSizeLine(data.length), data, CRLF]);
        else t.write(data);
      },
      get unsentBytes(): number | undefined {
        return (t as { bufferSize?: number }).bufferSize;
      },
      // The client registers the producer on the transport itself (below); a producer need not.
      registerProducer: (_p: IProducer, _s: boolean) => {},
      unregisterProducer: () => {},
    };
    t.registerProducer(producer, true);
    producer.startProducing(consumer).addCallbacks(
      () => {
        if (this.exchange !== ex) return;
        t.unregisterProducer();
        ex.producer = null;
        if (!chunked && written !== producer.length)
          return this.bodyFailed(ex, new WrongBodyLength(producer.length, written));
        if (chunked) t.write(LAST_CHUNK_BYTES);
        ex.sent = true;
        if (ex.response?.bodyDone) this.endExchange(ex);
      },
      (f) => {
        if (this.exchange === ex) this.bodyFailed(ex, f.value);
        return null;
      },
    );
  }

  private bodyFailed(ex: Exchange, err: unknown): void {
    if (ex.producer) {
      const p = ex.producer;
      ex.producer = null;
      this.transport?.unregisterProducer();
      p.stopProducing();
    }
    const failure = new RequestTransmissionFailed([err]);
    if (!ex.deferred.called && !ex.cancelled) ex.deferred.errback(failure);
    else ex.response?.bodyEnd(new Failure(new ResponseFailed([err])));
    this.exchange = null;
    this.abort();
  }

  dataReceived(data: Uint8Array): void {
    const ex = this.exchange;
    if (ex === null) {
      if (this.switchedTo !== null) return this.switchedTo.dataReceived(data);
      if (this.phase === 'upgrading') {
        // After the 101, before switchProtocols(): held (switched parsers store), bounded by the read-ahead.
        this.parser.feed(data);
        this.holdParsed(data);
        return this.checkReadAhead();
      }
      // RFC 9112 §9.3: nothing was asked; a server that talks now (e.g. a 408 before closing) ends the connection.
      this.abort();
      return;
    }
    ex.receivedAny = true;
    this.parser.feed(data);
    this.holdParsed(data);
    if (this.readPaused) {
      // A switch made from the response's callback, inside that parser pass: the rest is held now.
      if (this.switchedTo !== null) return this.handOver(null);
      this.checkReadAhead();
    }
  }

  /**
   * Bytes the parser holds (read-ahead, an unfinished line) may be views of the
   * reads that brought them: those reads' memory is held (reactor/readbuffer.ts)
   * until the parser holds nothing.
   */
  private holdParsed(data: Uint8Array | null): void {
    if (this.parser.bufferedBytes > 0) {
      if (data !== null) {
        keepRead(data);
        this.heldReads.push(data);
      }
      return;
    }
    if (this.heldReads.length === 0) return;
    const held = this.heldReads;
    this.heldReads = [];
    for (const chunk of held) unkeepRead(chunk);
  }

  /** While paused, stop reading the socket once the parser holds `CLIENT_READ_AHEAD_BYTES`. */
  private checkReadAhead(): void {
    if (this.socketPaused || this.phase === 'closed' || this.parser.bufferedBytes < CLIENT_READ_AHEAD_BYTES) return;
    this.socketPaused = true;
    this.transport?.pauseProducing();
  }

  private onHead(head: ResponseHead): void {
    const ex = this.exchange!;
    if (head.code === 101) return this.onSwitch(ex, head);
    ex.keepAlive = head.keepAlive;
    const response = new Response(head, ex.request.url, this);
    ex.response = response;
    // Nothing more is read until the caller asks for the body (deliverBody resumes).
    this.pauseReading();
    if (!ex.cancelled) ex.deferred.callback(response);
  }

  /**
   * `101 Switching Protocols` (RFC 9110 §15.2.2). A server sends it only to a request
   * that asked for Upgrade, and switches after the whole request; anything else is a
   * broken or hostile server. The exchange ends here: the Response's body is empty
   * and the connection waits, paused, for `switchProtocols()`.
   */
  private onSwitch(ex: Exchange, head: ResponseHead): void {
    this.exchange = null;
    if (ex.request.upgrade !== true || !ex.sent) {
      const why =
        ex.request.upgrade !== true
          ? `the server answered 101 Switching Protocols to ${ex.request.method} ${ex.request.url}, which did not ask for Upgrade (RFC 9110 §15.2.2)`
          : `the server answered 101 Switching Protocols before the request body was sent (RFC 9110 §7.8 switches after the request)`;
      this.failExchange(ex, new ResponseFailed([new ProtocolSwitchError(why)]));
      this.abort();
      return;
    }
    this.phase = 'upgrading';
    const response = new Response(head, ex.request.url, this);
    this.pauseReading();
    response.bodyEnd(responseDone());
    if (ex.cancelled) return this.abort();
    ex.deferred.callback(response);
  }

  /**
   * Hand the connection to `protocol` after a 101: it gets the transport, then the
   * bytes that came after the 101's head, then (if the server already closed) the
   * close. Called through `Response.switchProtocols`.
   */
  switchProtocols(protocol: IProtocol): void {
    if (this.phase !== 'upgrading' && this.lostBeforeSwitch === null)
      throw new ProtocolSwitchError(`switchProtocols() on a connection that is ${this.phase}, not after a 101`);
    this.switchedTo = protocol;
    const lost = this.lostBeforeSwitch;
    this.lostBeforeSwitch = null;
    if (lost === null) this.phase = 'switched';
    protocol.makeConnection(this.transport!);
    // Called from the response's callback, the parser is still in the pass that read the 101:
    // what follows the head is stored once that pass ends, and dataReceived hands it over then.
    if (!this.parser.busy) this.handOver(lost);
  }

  /** Give the switched protocol the bytes held past the 101 (then the close, if it came first); reads flow again. */
  private handOver(lost: Failure | null): void {
    const protocol = this.switchedTo!;
    const rest = this.parser.takeBuffered();
    this.readPaused = false;
    if (this.socketPaused && lost === null) {
      this.socketPaused = false;
      this.transport!.resumeProducing();
    }
    if (rest.length > 0) protocol.dataReceived(rest);
    if (lost !== null) protocol.connectionLost(lost);
  }

  /** The server sent FIN: a switched protocol hears it (half-close); HTTP closes, as the transport would. */
  readConnectionLost(): void {
    const p = this.switchedTo;
    if (p !== null && typeof p.readConnectionLost === 'function') p.readConnectionLost();
    else this.transport?.loseConnection();
  }

  private onComplete(trailers: Headers | null): void {
    const ex = this.exchange;
    if (ex === null || ex.response === null) return;
    // The connection goes back first, so a body protocol that asks for the next request at the end can reuse it.
    if (ex.sent) this.endExchange(ex);
    ex.response.bodyEnd(responseDone(), trailers);
  }

  /** The response ended (and the request was all sent): reuse the connection or close it. */
  private endExchange(ex: Exchange): void {
    if (this.exchange !== ex) return;
    this.exchange = null;
    if (this.phase === 'closed') return;
    if (!ex.keepAlive || this.phase !== 'busy') {
      this.transport?.loseConnection();
      return;
    }
    this.phase = 'idle';
    this.resumeReading();
    this.onIdle?.(this);
  }

  private onParseError(err: HTTPParseError): void {
    const ex = this.exchange;
    this.exchange = null;
    if (ex !== null) this.failExchange(ex, new ResponseFailed([err]));
    this.abort();
  }

  private failExchange(ex: Exchange, err: ResponseFailed): void {
    if (ex.producer) {
      const p = ex.producer;
      ex.producer = null;
      p.stopProducing();
    }
    if (ex.cancelled) return;
    if (ex.response === null) {
      if (!ex.deferred.called) ex.deferred.errback(err);
    } else ex.response.bodyEnd(new Failure(err));
  }

  private cancel(ex: Exchange): void {
    ex.cancelled = true;
    if (this.exchange === ex) {
      this.exchange = null;
      if (ex.producer) {
        const p = ex.producer;
        ex.producer = null;
        p.stopProducing();
      }
      this.abort();
    }
  }

  connectionLost(reason: Failure): void {
    const switched = this.phase === 'switched' || this.phase === 'upgrading';
    const upgrading = this.phase === 'upgrading';
    this.phase = 'closed';
    if (switched) {
      if (upgrading) this.lostBeforeSwitch = reason;
      else this.switchedTo!.connectionLost(reason);
      this.onClosed?.(this);
      this.onGone?.(this);
      return;
    }
    // Bytes that came before the close but wait behind a paused reader are still the response's.
    if (this.readPaused && this.parser.bufferedBytes > 0) {
      this.pendingLoss = reason;
      return;
    }
    this.lost(reason);
  }

  private lost(reason: Failure): void {
    // A body delimited by the close ends here (RFC 9112 §6.3 (8)); anything else cut short is an error.
    this.parser.finish();
    const ex = this.exchange;
    this.exchange = null;
    if (ex !== null) {
      const err =
        ex.response === null && !ex.receivedAny
          ? new ResponseNeverReceived([reason.value])
          : new ResponseFailed([reason.value]);
      this.failExchange(ex, err);
    }
    this.onClosed?.(this);
    this.onGone?.(this);
  }

  /** Close now, dropping anything buffered. */
  abort(): void {
    if (this.pendingLoss !== null) {
      const reason = this.pendingLoss;
      this.pendingLoss = null;
      this.parser.pause();
      this.lost(reason);
      return;
    }
    if (this.phase === 'closed') return;
    this.transport?.abortConnection();
  }

  /** Close once what was written has gone (an idle connection the pool lets go). */
  close(): void {
    if (this.phase !== 'closed') this.transport?.loseConnection();
  }

  // BodySource: the Response's body transport drives these. Pausing holds the parser at
  // once but stops reading the socket only once CLIENT_READ_AHEAD_BYTES wait in it: a
  // small body that already came costs no socket pause/resume (two syscalls per response).
  pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.parser.pause();
    this.checkReadAhead();
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    if (this.socketPaused) {
      this.socketPaused = false;
      if (this.phase !== 'closed') this.transport?.resumeProducing();
    }
    this.parser.resume();
    this.holdParsed(null);
    // The reader may have paused again during the resume: what is left is held now.
    if (this.readPaused) this.checkReadAhead();
    if (this.pendingLoss !== null && !this.readPaused) {
      const reason = this.pendingLoss;
      this.pendingLoss = null;
      this.lost(reason);
    }
  }

  abandon(): void {
    this.abort();
  }

  getPeer(): IAddress {
    return this.transport!.getPeer();
  }

  getHost(): IAddress {
    return this.transport!.getHost();
  }
}
