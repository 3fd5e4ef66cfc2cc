import { describe, expect, it } from 'vitest';
import { GET, makeServer } from './http-channel-helpers.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { Protocol } from '../src/protocols/protocol.js';
import { ConnectionLost, ResponseDone } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type { IPushProducer, IPullProducer } from '../src/reactor/interfaces.js';
import { captureLogs } from '../src/reactor/log.js';
import { Deferred } from '../src/reactor/deferred.js';

class Collect extends Protocol {
  data = '';
  ended: Failure | null = null;
  override dataReceived(d: Uint8Array) {
    this.data += Buffer.from(d).toString('latin1');
  }
  override connectionLost(reason: Failure) {
    this.ended = reason;
  }
}

const post = (body: string, extra = '') =>
  `POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
const chunked = (parts: string[]) =>
  `POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('')}0\r\n\r\n`;

/** A server whose app only keeps its request, sent `text`: the request to drive from the test. */
function received(
  text: string,
  options?: Parameters<typeof makeServer>[1],
  transportOptions?: Parameters<typeof makeServer>[2],
) {
  let req: IRequest | null = null;
  const s = makeServer((r) => void (req = r), options, transportOptions);
  s.send(text);
  return { s, req: req! as IRequest };
}

/** A server whose app reads each body whole, then answers `got N`; `body()` is the last body read (null before one is). */
function bodyReader() {
  let got: string | null = null;
  const s = makeServer((req) => {
    req.readBody().addCallback((b) => {
      got = Buffer.from(b).toString();
      req.write(`got ${b.length}`);
      req.finish();
    });
  });
  return { s, body: () => got };
}

function quiet<T>(fn: () => T): T {
  const logs = captureLogs();
  try {
    return fn();
  } finally {
    logs.restore();
  }
}

describe('Request: request properties', () => {
  it('path has no query, uri has it, headers are case-insensitive', () => {
    const { req } = received('GET /a/b%20c?x=1&y HTTP/1.1\r\nHost: example.com\r\nX-Two: 1\r\nx-two: 2\r\n\r\n');
    expect(req.method).toBe('GET');
    expect(req.uri).toBe('/a/b%20c?x=1&y');
    expect(req.path).toBe('/a/b%20c');
    expect(req.query).toBe('x=1&y');
    expect(req.version).toBe('HTTP/1.1');
    expect(req.headers.get('X-TWO')).toBe('1, 2');
    expect(req.headers.getAll('x-two')).toEqual(['1', '2']);
    expect(req.client).toEqual({ host: '192.0.2.1', port: 54321, family: 'IPv4' });
    expect(req.host.port).toBe(8080);
    expect(req.secure).toBe(false);
  });

  it('an absolute-form target gives the path without scheme and authority', () => {
    const { req } = received('GET http://example.com:81/p/q?z HTTP/1.1\r\nHost: example.com:81\r\n\r\n');
    expect(req.path).toBe('/p/q');
    expect(req.query).toBe('z');
  });
});

describe('Request: reading the body', () => {
  it('readBody buffers a Content-Length body', async () => {
    const { s, body } = bodyReader();
    s.send(post('hello'));
    expect(body()).toBe('hello');
    expect(s.responses()[0]!.body).toBe('got 5');
  });

  it('readBody decodes a chunked body split at every byte', () => {
    const { s, body } = bodyReader();
    for (const ch of chunked(['abc', 'defg', 'h'])) s.send(ch);
    s.reactor.advance(0);
    expect(body()).toBe('abcdefgh');
    expect(s.responses()[0]!.status).toBe(200);
    expect(s.responses()[0]!.body).toBe('got 8');
  });

  it('readBody past its limit errbacks with BodyTooLargeError and the client gets 413 and a close', () => {
    let err: unknown;
    const s = makeServer((req) => {
      req.readBody({ limit: 4 }).addErrback((f) => void (err = f.value));
    });
    s.send(post('hello'));
    expect(err).toMatchObject({ code: 'ERR_HTTP_BODY_TOO_LARGE' });
    expect(s.responses()[0]!.status).toBe(413);
    expect(s.transport.disconnecting).toBe(true);
  });

  it('a chunked body past the limit is refused while it streams', () => {
    let err: unknown;
    const s = makeServer((req) => void req.readBody({ limit: 5 }).addErrback((f) => void (err = f.value)));
    s.send(chunked(['abc', 'def']));
    expect(err).toMatchObject({ code: 'ERR_HTTP_BODY_TOO_LARGE' });
    expect(s.responses()[0]!.status).toBe(413);
  });

  it('reading the body twice throws BodyAlreadyConsumedError', () => {
    let err: unknown;
    const s = makeServer((req) => {
      req.readBody();
      try {
        req.deliverBody(new Collect());
      } catch (e) {
        err = e;
      }
      req.finish();
    });
    s.send(post('x'));
    expect(err).toMatchObject({ code: 'ERR_HTTP_BODY_CONSUMED' });
  });

  it('deliverBody streams the body and ends with ResponseDone', () => {
    const p = new Collect();
    const s = makeServer((req) => void req.deliverBody(p));
    s.send(chunked(['ab', 'cd']));
    expect(p.data).toBe('abcd');
    expect(p.ended?.check(ResponseDone)).toBe(ResponseDone);
    expect(s.transport.producerState).toBe('producing');
  });

  it('deliverBody on a body-less request ends at once with ResponseDone', () => {
    const p = new Collect();
    const s = makeServer((req) => {
      req.deliverBody(p);
      req.finish();
    });
    s.send(GET());
    expect(p.ended?.check(ResponseDone)).toBe(ResponseDone);
  });

  it('upload backpressure: the body protocol pausing its transport stops reading the socket', () => {
    const p = new Collect();
    let req!: IRequest;
    const s = makeServer((r) => {
      req = r;
      r.deliverBody(p);
    });
    s.send('POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc');
    expect(p.data).toBe('abc');
    p.transport.pauseProducing();
    expect(s.transport.producerState).toBe('paused');
    s.send('def');
    expect(p.data).toBe('abc');
    p.transport.resumeProducing();
    expect(s.transport.producerState).toBe('producing');
    s.reactor.advance(0);
    expect(p.data).toBe('abcdef');
    s.send('ghij');
    expect(p.ended?.check(ResponseDone)).toBe(ResponseDone);
    req.finish();
    expect(s.responses()[0]!.status).toBe(200);
  });

  it('body bytes that arrive before the app asks are held only up to the bound, then reading pauses', () => {
    const { s, req } = received('POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n', {
      maxHeldInputBytes: 100,
    });
    let fed = 0;
    while (s.transport.producerState === 'producing' && fed < 100_000) {
      s.send('x'.repeat(10));
      fed += 10;
    }
    expect(fed).toBeLessThanOrEqual(110);
    const p = new Collect();
    req.deliverBody(p);
    s.reactor.advance(0);
    expect(p.data.length).toBe(fed);
    expect(s.transport.producerState).toBe('producing');
  });

  it('the client leaving mid-body ends deliverBody with ConnectionLost', () => {
    const p = new Collect();
    const s = makeServer((req) => void req.deliverBody(p));
    s.send('POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc');
    s.close();
    expect(p.ended?.check(ConnectionLost)).toBe(ConnectionLost);
  });
});

describe('Request: Expect: 100-continue', () => {
  const expectReq = 'PUT /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n';

  it('100 Continue is sent when the app first reads the body', () => {
    const { s, req } = received(expectReq);
    expect(s.output()).toBe('');
    const d = req.readBody();
    s.reactor.advance(0);
    expect(s.output()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    s.send('abc');
    let body = '';
    d.addCallback((b) => void (body = Buffer.from(b).toString()));
    expect(body).toBe('abc');
    req.finish();
    expect(s.responses().map((r) => r.status)).toEqual([100, 200]);
    expect(s.transport.disconnecting).toBe(false);
  });

  it('an app that answers without reading sends no 100 and closes the connection', () => {
    const s = makeServer((req) => {
      req.setResponseCode(403);
      req.finish();
    });
    s.send(expectReq);
    const rs = s.responses();
    expect(rs.map((r) => r.status)).toEqual([403]);
    expect(rs[0]!.headers['connection']).toBe('close');
    expect(s.transport.disconnecting).toBe(true);
  });
  it('an empty body with Expect: 100-continue is all there: reading it sends no 100 (RFC 9110 §10.1.1) and keeps the connection', () => {
    const { s, body } = bodyReader();
    s.send('PUT /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n');
    s.reactor.advance(0);
    expect(body()).toBe('');
    expect(s.responses().map((r) => r.status)).toEqual([200]);
    expect(s.transport.disconnecting).toBe(false);
  });
});

describe('Request: unread bodies', () => {
  it('an unread small body is drained and the connection reused', () => {
    const s = makeServer((req) => {
      req.write(req.path);
      req.finish();
    });
    s.send(post('0123456789') + GET('/next'));
    s.reactor.advance(0);
    expect(s.responses().map((r) => r.body)).toEqual(['/up', '/next']);
    expect(s.transport.disconnecting).toBe(false);
  });

  it('an unread body larger than maxDrainBytes closes the connection instead', () => {
    const s = makeServer((req) => req.finish(), { maxDrainBytes: 4 });
    s.send(post('0123456789'));
    expect(s.responses()[0]!.headers['connection']).toBe('close');
    expect(s.transport.disconnecting).toBe(true);
  });
});

describe('Request: disconnects and failures', () => {
  it('a client disconnect errbacks notifyFinish with ConnectionLost; later writes are dropped', () => {
    let req!: IRequest;
    let failure: Failure | null = null;
    const s = makeServer((r) => {
      req = r;
      r.notifyFinish().addErrback((f) => void (failure = f));
    });
    s.send(GET());
    s.close();
    expect(failure!.check(ConnectionLost)).toBe(ConnectionLost);
    expect(req.disconnected).toBe(true);
    req.write('late');
    req.finish();
    expect(s.output()).toBe('');
    let again: Failure | null = null;
    req.notifyFinish().addErrback((f) => void (again = f));
    expect(again!.check(ConnectionLost)).toBe(ConnectionLost);
  });

  it('notifyFinish fires when the response is handed to the transport', () => {
    let fired = false;
    let req!: IRequest;
    const s = makeServer((r) => {
      req = r;
      r.notifyFinish().addCallback(() => void (fired = true));
    });
    s.send(GET());
    expect(fired).toBe(false);
    req.finish();
    expect(fired).toBe(true);
  });

  it('a producer registered after the disconnect is stopped at once', () => {
    const { s, req } = received(GET());
    s.close();
    let stopped = 0;
    req.registerProducer({ pauseProducing() {}, resumeProducing() {}, stopProducing: () => void stopped++ }, true);
    expect(stopped).toBe(1);
  });

  it('a registered producer is stopped when the client goes away', () => {
    let stopped = 0;
    const s = makeServer((r) =>
      r.registerProducer({ pauseProducing() {}, resumeProducing() {}, stopProducing: () => void stopped++ }, true),
    );
    s.send(GET());
    s.close();
    expect(stopped).toBe(1);
  });

  it('an app that throws before writing gets a 500 and the error is logged', () => {
    const logs = captureLogs();
    try {
      const s = makeServer(() => {
        throw new Error('boom');
      });
      s.send(GET());
      expect(s.responses()[0]!.status).toBe(500);
      expect(
        logs.events.some(
          (e) => e.level === 'error' && (e.failure as Failure | undefined)?.getErrorMessage().includes('boom'),
        ),
      ).toBe(true);
      expect(s.factory.stats.appErrors).toBe(1);
    } finally {
      logs.restore();
    }
  });

  it('a rejected Promise and a failed Deferred before headers both give 500', async () => {
    const logs = captureLogs();
    try {
      const s = makeServer(async () => {
        throw new Error('async boom');
      });
      s.send(GET());
      await new Promise((r) => setImmediate(r));
      expect(s.responses()[0]!.status).toBe(500);
      const d = new Deferred<void>();
      const t = makeServer(() => d);
      t.send(GET());
      d.errback(new Error('deferred boom'));
      expect(t.responses()[0]!.status).toBe(500);
      expect(logs.events.filter((e) => e.level === 'error')).toHaveLength(2);
    } finally {
      logs.restore();
    }
  });

  it('a failure after the headers went out aborts the connection', () => {
    quiet(() => {
      const d = new Deferred<void>();
      let req!: IRequest;
      const s = makeServer((r) => {
        req = r;
        return d;
      });
      s.send(GET());
      req.write('partial');
      d.errback(new Error('late'));
      expect(s.transport.aborted).toBe(true);
      expect(s.factory.stats.aborted).toBe(1);
    });
  });

  it('an app that never finishes holds the connection, but a disconnect still errbacks notifyFinish', () => {
    let failure: Failure | null = null;
    const s = makeServer((r) => void r.notifyFinish().addErrback((f) => void (failure = f)));
    s.send(GET());
    s.reactor.advance(3600);
    expect(s.transport.disconnecting).toBe(false);
    s.close();
    expect(failure).not.toBeNull();
  });
});

describe('Request: producers', () => {
  it('a push producer on the request is paused when the transport passes its high-water mark', () => {
    const events: string[] = [];
    const { s, req } = received(GET(), {}, { highWater: 100 });
    const producer: IPushProducer = {
      pauseProducing: () => void events.push('pause'),
      resumeProducing: () => void events.push('resume'),
      stopProducing: () => void events.push('stop'),
    };
    req.registerProducer(producer, true);
    req.write('x'.repeat(200));
    expect(events).toEqual(['pause']);
    s.transport.clear();
    expect(events).toEqual(['pause', 'resume']);
    req.unregisterProducer();
    req.finish();
    expect(s.transport.producer).toBe(s.channel);
  });

  it('a pull producer is pulled by the transport (through the channel) until it finishes', () => {
    let n = 0;
    const { s, req } = received(GET());
    const producer: IPullProducer = {
      resumeProducing: () => {
        if (++n <= 3) req.write(`part${n};`);
        else {
          req.unregisterProducer();
          req.finish();
        }
      },
      stopProducing() {},
    };
    req.registerProducer(producer, false);
    for (let i = 0; i < 4; i++) s.transport.resumeRegisteredProducer();
    expect(s.responses()[0]!.body).toBe('part1;part2;part3;');
  });

  it('registering a second producer throws', () => {
    const { req } = received(GET());
    const p = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
    req.registerProducer(p, true);
    expect(() => req.registerProducer(p, true)).toThrow(expect.objectContaining({ code: 'ERR_PRODUCER_REGISTERED' }));
  });
});

describe('Request: bodies that stop coming', () => {
  it('a body the app waits for times out after idleTimeout of silence with 408', () => {
    let err: unknown;
    const s = makeServer((req) => void req.readBody().addErrback((f) => void (err = f.value)), { idleTimeout: 5 });
    s.send('POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc');
    s.reactor.advance(4);
    s.send('de');
    s.reactor.advance(4);
    expect(s.output()).toBe('');
    s.reactor.advance(1.1);
    expect(err).toMatchObject({ code: 'ERR_CONNECTION_LOST' });
    expect(s.responses()[0]!.status).toBe(408);
    expect(s.transport.disconnecting).toBe(true);
  });

  it('an unread body being drained after the response also times out, closing the connection', () => {
    const s = makeServer((req) => req.finish(), { idleTimeout: 5 });
    s.send('POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(s.responses()[0]!.status).toBe(200);
    s.reactor.advance(5.1);
    expect(s.transport.disconnecting).toBe(true);
    expect(s.responses()).toHaveLength(1);
  });
});
