/**
 * `ContentDecoderAgent`: asks for compressed responses (Accept-Encoding) and
 * decodes gzip, deflate and br bodies as they stream, through node:zlib
 * (Twisted's `ContentDecoderAgent`, RFC 9110 §8.4).
 *
 * Backpressure passes through the decoder: a body protocol that pauses stops
 * the zlib stream's output, its input buffer fills, and then reading the
 * connection pauses. A body that does not decode fails with `ResponseFailed`.
 * The decoded response has no Content-Encoding and no Content-Length (its
 * length is unknown until the end).
 */
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Deferred } from '../../../reactor/deferred.js';
import { ResponseDone } from '../../../reactor/errors.js';
import { Failure, responseDone } from '../../../reactor/failure.js';
import type { IProducer, IProtocol, ITransport } from '../../../reactor/interfaces.js';
import { Headers } from '../headers.js';
import type { IHeaders } from '../interfaces.js';
import { ResponseBodyConsumed, ResponseFailed } from './errors.js';
import { UNKNOWN_LENGTH, type IAgent, type IResponse, type RequestBody, type RequestHeaders } from './interfaces.js';
import { iterateBody } from './readbody.js';
import { headerPairs } from './requesthead.js';

/** The codings `ContentDecoderAgent` decodes, and the zlib stream for each. */
const DECODERS: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

export const DEFAULT_ACCEPT_ENCODING = 'gzip, deflate, br';

/** A response whose body is decoded on the way to its protocol. */
export class DecodedResponse implements IResponse {
  readonly headers: IHeaders;
  readonly length = UNKNOWN_LENGTH;
  private consumed = false;

  constructor(
    readonly original: IResponse,
    private readonly decoder: () => Transform,
  ) {
    const pairs = original.headers.rawPairs().filter(([n]) => {
      const l = n.toLowerCase();
      return l !== 'content-encoding' && l !== 'content-length';
    });
    this.headers = Headers.fromPairs(pairs);
  }

  get version() {
    return this.original.version;
  }
  get code() {
    return this.original.code;
  }
  get phrase() {
    return this.original.phrase;
  }
  get url() {
    return this.original.url;
  }
  get previousResponse() {
    return this.original.previousResponse;
  }
  get trailers() {
    return this.original.trailers;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateBody(this);
  }

  deliverBody(protocol: IProtocol): void {
    if (this.consumed) throw new ResponseBodyConsumed();
    this.consumed = true;
    const z = this.decoder();
    let inner: ITransport | null = null;
    let done = false;
    let writeBlocked = false;
    const end = (reason: Failure) => {
      if (done) return;
      done = true;
      protocol.connectionLost(reason);
    };
    z.on('data', (chunk: Buffer) => {
      if (!done) protocol.dataReceived(chunk);
    });
    z.on('end', () => end(responseDone()));
    z.on('error', (err) => {
      inner?.stopProducing();
      end(new Failure(new ResponseFailed([err], `the response body did not decode: ${err.message}`)));
    });
    z.on('drain', () => {
      writeBlocked = false;
      inner?.resumeProducing();
    });
    const refuse = () => {
      throw new TypeError("a response body's transport is read-only");
    };
    protocol.makeConnection({
      disconnecting: false,
      pauseProducing: () => z.pause(),
      resumeProducing: () => z.resume(),
      stopProducing: () => {
        inner?.stopProducing();
        z.destroy();
      },
      write: refuse,
      writeSequence: refuse,
      registerProducer: (_p: IProducer, _s: boolean) => refuse(),
      unregisterProducer: () => {},
      loseConnection: () => inner?.stopProducing(),
      abortConnection: () => inner?.stopProducing(),
      loseWriteConnection: () => {},
      getPeer: () => inner!.getPeer(),
      getHost: () => inner!.getHost(),
    });
    this.original.deliverBody({
      makeConnection: (t) => void (inner = t),
      dataReceived: (d) => {
        if (!z.write(d) && !writeBlocked) {
          writeBlocked = true;
          inner!.pauseProducing();
        }
      },
      connectionLost: (reason) => {
        if (reason.check(ResponseDone)) z.end();
        else {
          z.destroy();
          end(reason);
        }
      },
    });
  }
}

export interface ContentDecoderAgentOptions {
  /** Codings to ask for and decode, from gzip, x-gzip, deflate, br. Default all but x-gzip. */
  codings?: readonly string[];
}

export class ContentDecoderAgent implements IAgent {
  private readonly codings: readonly string[];

  constructor(
    private readonly agent: IAgent,
    options: ContentDecoderAgentOptions = {},
  ) {
    this.codings = (options.codings ?? ['gzip', 'deflate', 'br'])
      .map((c) => c.toLowerCase())
      .filter((c) => c in DECODERS);
  }

  request(
    method: string,
    url: string,
    headers?: RequestHeaders | null,
    body?: RequestBody | null,
  ): Deferred<IResponse> {
    const pairs = headerPairs(headers);
    const asked = pairs.some(([n]) => n.toLowerCase() === 'accept-encoding');
    const out = asked ? pairs : [...pairs, ['Accept-Encoding', this.codings.join(', ')] as const];
    return this.agent.request(method, url, out, body).addCallback((response: IResponse) => {
      const coding = response.headers.get('content-encoding')?.toLowerCase();
      // No body to decode (HEAD, 204, 304, or empty): nothing to do.
      if (coding === undefined || !this.codings.includes(coding) || response.length === 0) return response;
      return new DecodedResponse(response, DECODERS[coding]!);
    });
  }
}
