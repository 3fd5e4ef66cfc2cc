/**
 * The client connection fed raw server bytes on a StringTransport (MemoryReactor,
 * no real time): response bodies at every split point, 1xx, trailers, early
 * errors, cancel() at every stage leaving no timer and no open connection, the
 * timeout, and backpressure both ways.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readBody } from '../src/protocols/http/client/readbody.js';
import {
  InvalidRequestError,
  ResponseFailed,
  ResponseTimeout,
  SchemeNotSupported,
  WrongBodyLength,
} from '../src/protocols/http/client/errors.js';
import { UNKNOWN_LENGTH, type IBodyProducer, type IResponse } from '../src/protocols/http/client/interfaces.js';
import { CancelledError, ConnectionDone, ConnectionLost, ConnectError } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { Deferred } from '../src/reactor/deferred.js';
import type { ITransport } from '../src/reactor/interfaces.js';
import { latin1, outcome, pushProducer, rawWorld, text } from './http-client-helpers.js';
import { CLIENT_READ_AHEAD_BYTES } from '../src/protocols/http/client/connection.js';
import { largeReads, releaseRead } from '../src/reactor/readbuffer.js';

/** Request, connect, feed `raw` cut at `cuts`, then close; returns what the body reader saw. */
function fetchRaw(raw: string, cuts: number[], method = 'GET') {
  const w = rawWorld();
  const r = outcome(w.agent.request(method, 'http://example.test/'));
  const { client, transport } = w.connect();
  const bytes = latin1(raw);
  let prev = 0;
  let body: ReturnType<typeof outcome<Uint8Array>> | null = null;
  for (const c of [...cuts, bytes.length]) {
    if (c > prev) client.dataReceived(bytes.subarray(prev, c));
    prev = Math.max(prev, c);
    if (!r.pending && body === null && r.value) body = outcome(readBody(r.value));
  }
  if (!transport.disconnecting) client.connectionLost(new Failure(new ConnectionDone()));
  return {
    w,
    response: r.value as IResponse | undefined,
    error: r.error,
    body: body?.value ? text(body.value) : body?.error,
    transport,
  };
}

const cases: Array<[string, string, string]> = [
  ['Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world', 'hello world'],
  [
    'chunked with trailers',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n',
    'hello world',
  ],
  ['close-delimited', 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world', 'hello world'],
  [
    '1xx first',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world',
    'hello world',
  ],
];

describe('downloads at every split point', () => {
  for (const [name, raw, want] of cases) {
    it(`${name}: one byte at a time and random splits give the body`, () => {
      expect(
        fetchRaw(
          raw,
          Array.from({ length: raw.length }, (_, i) => i),
        ).body,
      ).toBe(want);
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: 1, max: raw.length - 1 }), { maxLength: 8 }), (cuts) => {
          expect(
            fetchRaw(
              raw,
              cuts.sort((a, b) => a - b),
            ).body,
          ).toBe(want);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('reports trailers on the response once the body ended', () => {
    const r = fetchRaw(cases[1]![1], []);
    expect(r.response!.trailers!.get('x-sum')).toBe('1');
  });

  it('a body cut short fails with ResponseFailed, not a short success', () => {
    const r = fetchRaw('HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nhello', []);
    expect(r.body).toBeInstanceOf(ResponseFailed);
  });

  it('a malformed response (CL.TE) fails the request with ResponseFailed and aborts the connection', () => {
    const r = fetchRaw('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', []);
    expect(r.error).toBeInstanceOf(ResponseFailed);
    expect((r.error as ResponseFailed).reasons[0]).toMatchObject({
      code: 'ERR_HTTP_CONTENT_LENGTH_AND_TRANSFER_ENCODING',
    });
    expect(r.transport.aborted).toBe(true);
  });

  it('bytes from the server on an idle connection end it', () => {
    const w = rawWorld({ persistent: true });
    const r = outcome(w.agent.request('GET', 'http://example.test/'));
    const { client, transport } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(r.value!.code).toBe(200);
    expect(w.pool.cachedCount()).toBe(1);
    client.dataReceived(latin1('HTTP/1.1 408 Request Timeout\r\n\r\n'));
    expect(transport.aborted).toBe(true);
  });
});

describe('request errors before any I/O', () => {
  it('refuses a header value with CR/LF, a bad method and a bad scheme without connecting', () => {
    const w = rawWorld();
    expect(outcome(w.agent.request('GET', 'http://e.test/', { 'X-A': 'a\r\nInjected: 1' })).error).toBeInstanceOf(
      InvalidRequestError,
    );
    expect(outcome(w.agent.request('GE T', 'http://e.test/')).error).toBeInstanceOf(InvalidRequestError);
    expect(outcome(w.agent.request('GET', 'ftp://e.test/')).error).toBeInstanceOf(SchemeNotSupported);
    expect(outcome(w.agent.request('GET', '/relative')).error).toMatchObject({ code: 'ERR_HTTP_SCHEME_NOT_SUPPORTED' });
    expect(w.reactor.tcpClients).toHaveLength(0);
  });

  it("a failed connection attempt errbacks with the reactor's ConnectError", () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test:81/'));
    const c = w.reactor.tcpClients[0]!;
    expect([c.host, c.port]).toEqual(['e.test', 81]);
    c.factory.clientConnectionFailed(c.connector, new Failure(new ConnectError('refused')));
    expect(r.error).toBeInstanceOf(ConnectError);
  });
});

describe('cancel() at every stage leaves no timer and no connection', () => {
  it('while connecting: stops the attempt', () => {
    const w = rawWorld({}, { timeout: 30 });
    const d = w.agent.request('GET', 'http://e.test/');
    const r = outcome(d);
    d.cancel();
    expect(r.error).toBeInstanceOf(CancelledError);
    expect(w.reactor.tcpClients[0]!.connector.state).toBe('disconnected');
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('after the request was sent, before the head: aborts the connection', () => {
    const w = rawWorld({ persistent: true }, { timeout: 30 });
    const d = w.agent.request('GET', 'http://e.test/');
    const r = outcome(d);
    const { client, transport } = w.connect();
    expect(text(transport.value())).toMatch(/^GET \/ HTTP\/1.1\r\nHost: e.test\r\n/);
    client.dataReceived(latin1('HTTP/1.1 200 OK\r\nContent-Le'));
    d.cancel();
    expect(r.error).toBeInstanceOf(CancelledError);
    expect(transport.aborted).toBe(true);
    client.connectionLost(new Failure(new ConnectionLost()));
    expect(w.pool.cachedCount()).toBe(0);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('while the body uploads: stops the producer and aborts', () => {
    const w = rawWorld();
    let stopped = false;
    const endless: IBodyProducer = {
      length: UNKNOWN_LENGTH,
      startProducing: (c) => {
        c.write(latin1('first part'));
        return new Deferred<void>();
      },
      pauseProducing() {},
      resumeProducing() {},
      stopProducing: () => void (stopped = true),
    };
    const d = w.agent.request('POST', 'http://e.test/', null, endless);
    const r = outcome(d);
    const { transport } = w.connect();
    d.cancel();
    expect(r.error).toBeInstanceOf(CancelledError);
    expect(text(transport.value())).toContain('a\r\nfirst part\r\n');
    expect(stopped).toBe(true);
    expect(transport.aborted).toBe(true);
  });

  it('while the body downloads: stopProducing on the body transport aborts; the body protocol hears ResponseFailed', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/'));
    const { client, transport } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc'));
    let bodyTransport: ITransport | null = null;
    const got: string[] = [];
    let end: Failure | null = null;
    r.value!.deliverBody({
      makeConnection: (t) => void (bodyTransport = t),
      dataReceived: (d) => void got.push(text(d)),
      connectionLost: (f) => void (end = f),
    });
    expect(got).toEqual(['abc']);
    bodyTransport!.stopProducing();
    expect(transport.aborted).toBe(true);
    client.connectionLost(new Failure(new ConnectionLost()));
    expect(end!.check(ResponseFailed)).toBe(ResponseFailed);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('after the response fired, cancel() is a no-op and the connection stays usable', () => {
    const w = rawWorld({ persistent: true });
    const d = w.agent.request('GET', 'http://e.test/');
    const r = outcome(d);
    const { client, transport } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    d.cancel();
    expect(r.value!.code).toBe(200);
    expect(text(outcome(readBody(r.value!)).value!)).toBe('ok');
    expect(transport.disconnecting).toBe(false);
  });

  it('the timeout fails with ResponseTimeout on the injected clock and aborts the connection', () => {
    const w = rawWorld({}, { timeout: 5 });
    const r = outcome(w.agent.request('GET', 'http://e.test/'));
    const { transport } = w.connect();
    w.reactor.advance(4.9);
    expect(r.pending).toBe(true);
    w.reactor.advance(0.2);
    expect(r.error).toBeInstanceOf(ResponseTimeout);
    expect((r.error as ResponseTimeout).code).toBe('ERR_HTTP_RESPONSE_TIMEOUT');
    expect(transport.aborted).toBe(true);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('a head that comes in time cancels the timeout timer', () => {
    const w = rawWorld({ persistent: false }, { timeout: 5 });
    const r = outcome(w.agent.request('GET', 'http://e.test/'));
    const { client } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 204 No Content\r\n\r\n'));
    expect(r.value!.code).toBe(204);
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });
});

describe('backpressure', () => {
  it('download: a paused reader stops the socket once CLIENT_READ_AHEAD_BYTES wait; resume reads on', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/'));
    const { client, transport } = w.connect();
    const chunk = (n: number, c: string) => latin1(`${n.toString(16)}\r\n${c.repeat(n)}\r\n`);
    client.dataReceived(latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    // Before deliverBody nothing is parsed; past the read-ahead the socket stops too.
    client.dataReceived(chunk(1, 'a'));
    expect(transport.producerState).toBe('producing');
    client.dataReceived(chunk(CLIENT_READ_AHEAD_BYTES, 'b'));
    expect(transport.producerState).toBe('paused');
    let bt: ITransport | null = null;
    const got: string[] = [];
    r.value!.deliverBody({
      makeConnection: (t) => void (bt = t),
      dataReceived: (d) => {
        got.push(text(d).slice(0, 1));
        bt!.pauseProducing();
      },
      connectionLost: () => void got.push('end'),
    });
    // The reader took one piece and paused again; the held bytes still pass the read-ahead.
    expect(got).toEqual(['a']);
    expect(transport.producerState).toBe('paused');
    bt!.resumeProducing();
    expect(got).toEqual(['a', 'b']);
    expect(transport.producerState).toBe('producing');
    client.dataReceived(latin1('0\r\n\r\n'));
    expect(got).toEqual(['a', 'b']);
    bt!.resumeProducing();
    expect(got).toEqual(['a', 'b', 'end']);
  });

  it('upload: a server that stops reading pauses the body producer; draining resumes it', () => {
    const w = rawWorld();
    const parts = Array.from({ length: 50 }, () => 'x'.repeat(1000));
    const producer = pushProducer(parts, 50_000);
    const r = outcome(w.agent.request('PUT', 'http://e.test/', null, producer));
    const { transport, client } = w.connect(8 * 1024);
    expect(producer.paused).toBe(true);
    // The bytes written stay near the high-water mark: the producer stopped there.
    expect(transport.value().length).toBeLessThan(8 * 1024 + 1000 + 200);
    let rounds = 0;
    let total = transport.value().length;
    while (producer.paused && rounds++ < 100) {
      transport.clear();
      total += transport.value().length;
    }
    expect(producer.paused).toBe(false);
    client.dataReceived(latin1('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n'));
    expect(r.value!.code).toBe(201);
  });

  it('a producer that writes more than its length fails the request with WrongBodyLength', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('PUT', 'http://e.test/', null, pushProducer(['abc', 'def'], 4)));
    const { transport } = w.connect();
    expect((r.error as { reasons: unknown[] }).reasons[0]).toBeInstanceOf(WrongBodyLength);
    expect(transport.aborted).toBe(true);
  });

  it('readBody over the limit fails with ResponseBodyTooLarge and closes the connection', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/'));
    const { client, transport } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
    expect(outcome(readBody(r.value!, { limit: 5 })).error).toMatchObject({ code: 'ERR_HTTP_RESPONSE_BODY_TOO_LARGE' });
    expect(transport.aborted).toBe(true);
    const r2 = rawWorld();
    const o2 = outcome(r2.agent.request('GET', 'http://e.test/'));
    const c2 = r2.connect();
    c2.client.dataReceived(latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    const b2 = outcome(readBody(o2.value!, { limit: 5 }));
    c2.client.dataReceived(latin1('4\r\nabcd\r\n4\r\nefgh\r\n'));
    expect(b2.error).toMatchObject({ code: 'ERR_HTTP_RESPONSE_BODY_TOO_LARGE' });
    expect(c2.transport.aborted).toBe(true);
  });

  it('deliverBody twice throws ResponseBodyConsumed', () => {
    const r = fetchRaw('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', []);
    expect(() => r.response!.deliverBody({ makeConnection() {}, dataReceived() {}, connectionLost() {} })).toThrow(
      expect.objectContaining({ code: 'ERR_HTTP_RESPONSE_BODY_CONSUMED' }),
    );
  });
});

describe('lent reads (release after flush, reactor/readbuffer.ts)', () => {
  it('bytes the parser holds behind a pause are kept: a late release of the read does not let a later read overwrite them', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://example.test/'));
    const { client } = w.connect();
    // The connection reads through largeReads as connectTCP's readBufferSize would have it.
    const reader = largeReads(64 * 1024, (chunk) => client.dataReceived(chunk));
    const read = (bytes: Uint8Array) => {
      const buf = reader.buffer();
      buf.set(bytes);
      reader.callback(bytes.length, buf);
      return buf;
    };
    read(latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')); // small: copied
    // 1000-byte chunks, their bytes counting on mod 251, in reads of about 40 KiB (lent).
    let next = 0;
    const expected: number[] = [];
    const chunks = (count: number) => {
      const parts: Buffer[] = [];
      for (let c = 0; c < count; c++) {
        const data = Buffer.alloc(1000);
        for (let i = 0; i < 1000; i++) expected.push((data[i] = next++ % 251));
        parts.push(Buffer.from('3e8\r\n', 'latin1'), data, Buffer.from('\r\n', 'latin1'));
      }
      return Buffer.concat(parts);
    };
    const got: Buffer[] = [];
    let first: Uint8Array | null = null;
    let transport!: ITransport;
    (r.value as IResponse).deliverBody({
      makeConnection: (t) => (transport = t),
      dataReceived: (d) => {
        got.push(Buffer.from(d));
        if (first === null) {
          // A relay whose write did not flush: it pauses and remembers the chunk to release later.
          first = d;
          transport.pauseProducing();
        }
      },
      connectionLost: () => {},
    });
    const lent = read(chunks(40)); // the parser holds 39 of its chunks behind the pause
    releaseRead(first!); // the write flushed: the relay releases its chunk
    read(chunks(40)); // more arrive while paused (held too)
    const third = read(chunks(40));
    // The parser still holds bytes of the first lent read: its memory must not have been read into.
    expect(third.buffer === lent.buffer).toBe(false);
    transport.resumeProducing();
    read(latin1('0\r\n\r\n'));
    expect(Buffer.concat(got).equals(Buffer.from(expected))).toBe(true);
  });
});
