import { describe, expect, it } from 'vitest';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { Deferred } from '../src/reactor/deferred.js';
import { ConnectionLost, ResponseDone } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type { ITransport } from '../src/reactor/interfaces.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { BRIDGE_HIGH_WATER } from '../src/bridge/bridgequeue.js';
import { streamingApp, TestHost } from './toiterapp-helpers.js';

describe('toIterApp: a CPS app as an iterator app', () => {
  it('passes status, headers and chunks through, and fires notifyFinish at the end', () => {
    const reactor = new MemoryReactor();
    let finished = false;
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.notifyFinish().addCallback(() => {
          finished = true;
        });
        req.setResponseCode(201);
        req.setHeader('X-Kind', 'test');
        req.write('hello ');
        req.write(new TextEncoder().encode('world'));
        req.finish();
      }),
    );
    host.pull();
    expect(host.status).toBe('201 Created');
    expect(host.headers).toEqual([['X-Kind', 'test']]);
    expect(host.body()).toBe('hello world');
    expect(host.done).toBe(true);
    expect(finished).toBe(true);
  });

  it('a response finished during the app call goes to the host whole, as a plain array: notifyFinish has fired, nothing paused', () => {
    const reactor = new MemoryReactor();
    const events: string[] = [];
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.notifyFinish().addCallbacks(
          () => void events.push('finished'),
          () => void events.push('lost'),
        );
        req.setHeader('Content-Type', 'text/plain');
        req.write('hello ');
        req.write('world');
        req.finish();
      }),
    );
    expect(Array.isArray(host.iterable)).toBe(true);
    expect(events).toEqual(['finished']); // the whole response is in the host's hands
    expect(host.status).toBe('200 OK');
    host.pull();
    expect(host.body()).toBe('hello world');
    expect(host.pauses).toBe(0);
    host.close(); // the client leaving now cancels nothing: the response was complete
    expect(events).toEqual(['finished']);
  });

  it('a finished response with no body is an empty array; one that goes on, a producer, or an async-only host get an iterator', () => {
    const reactor = new MemoryReactor();
    const empty = new TestHost(reactor).start(toIterApp((req) => (req.setResponseCode(204), req.finish())));
    expect(empty.iterable).toEqual([]);
    expect(empty.status).toBe('204 No Content');
    const later = new TestHost(reactor).start(
      toIterApp((req) => {
        req.write('a');
        reactor.callLater(0, () => req.finish());
      }),
    );
    expect(Array.isArray(later.iterable)).toBe(false);
    const produced = new TestHost(reactor).start(
      toIterApp((req) => {
        req.registerProducer({ resumeProducing() {}, pauseProducing() {}, stopProducing() {} }, true);
        req.write('a');
        req.finish();
      }),
    );
    expect(Array.isArray(produced.iterable)).toBe(false);
    const asyncHost = new TestHost(reactor, { pauseOutput: false, asyncIterable: true }).start(
      toIterApp((req) => (req.write('a'), req.finish())),
    );
    expect(typeof (asyncHost.iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]).toBe('function');
    reactor.advance(0);
  });

  it('reads the request from the environ: method, uri, path, query, headers, addresses', () => {
    const reactor = new MemoryReactor();
    let seen: IRequest | null = null;
    new TestHost(reactor, {
      environ: {
        REQUEST_METHOD: 'POST',
        PATH_INFO: '/a b/c',
        QUERY_STRING: 'x=1',
        CONTENT_TYPE: 'text/plain',
        HTTP_X_TRACE_ID: 'abc',
      },
    }).start(
      toIterApp((req) => {
        seen = req;
        req.finish();
      }),
    );
    const req = seen as unknown as IRequest;
    expect([req.method, req.uri, req.path, req.query]).toEqual(['POST', '/a%20b/c?x=1', '/a%20b/c', 'x=1']);
    expect(req.headers.get('Content-Type')).toBe('text/plain');
    expect(req.headers.get('x-trace-id')).toBe('abc');
    expect(req.client).toEqual({ host: '192.0.2.7', port: 5555 });
    expect(req.host).toEqual({ host: 'example.test', port: 8080 });
    expect(req.reactor).toBe(reactor);
  });

  it('rebuilds the raw path from a decoded PATH_INFO (latin-1 bytes, a literal %), or takes spindle.raw_path as sent', () => {
    const reactor = new MemoryReactor();
    const uris: string[][] = [];
    const app = toIterApp((req) => {
      // path and query are read first: with spindle.raw_path the target is made from them when asked.
      uris.push([req.path, req.query, req.uri]);
      req.finish();
    });
    new TestHost(reactor, { environ: { PATH_INFO: '/caf\u00e9/100%', QUERY_STRING: '' } }).start(app);
    new TestHost(reactor, {
      environ: { PATH_INFO: '/ignored', 'spindle.raw_path': '/as%2Fsent', QUERY_STRING: 'q' },
    }).start(app);
    new TestHost(reactor, { environ: { 'spindle.raw_path': '/p', QUERY_STRING: '' } }).start(app);
    expect(uris).toEqual([
      ['/caf%E9/100%25', '', '/caf%E9/100%25'],
      ['/as%2Fsent', 'q', '/as%2Fsent?q'],
      ['/p', '', '/p'],
    ]);
  });

  it('sends nothing until the first write: the iterator pauses output and yields empty chunks (G3, G13)', () => {
    const reactor = new MemoryReactor();
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.setHeader('Content-Type', 'text/plain');
        reactor.callLater(1, () => {
          req.write('late');
          req.finish();
        });
      }),
    );
    host.pull();
    expect(host.startCalls).toBe(0);
    expect(host.paused).toBe(true);
    expect(host.chunks).toEqual([]);
    reactor.advance(1);
    expect(host.startCalls).toBe(1);
    expect(host.body()).toBe('late');
    expect(host.done).toBe(true);
    expect(host.pauses).toBe(1);
  });

  it('flushHeaders() calls startResponse and x-wsgiorg.flush with no body yet', () => {
    const reactor = new MemoryReactor();
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.setResponseCode(200);
        req.flushHeaders();
      }),
    );
    expect(host.status).toBe('200 OK');
    expect(host.flushes).toBe(1);
    host.pull();
    expect(host.chunks).toEqual([]);
    expect(host.done).toBe(false);
  });

  it('drops hop-by-hop headers the CPS app set: the gateway owns the connection (G9)', () => {
    const reactor = new MemoryReactor();
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.setHeader('Connection', 'close');
        // Transfer-Encoding is refused on every host now (issue 16: one IRequest core), not dropped.
        expect(() => req.setHeader('Transfer-Encoding', 'chunked')).toThrow(/Transfer-Encoding is set by the server/);
        req.setHeader('X-Ok', '1');
        req.finish();
      }),
    );
    expect(host.headers).toEqual([['X-Ok', '1']]);
  });

  it('drops every hop-by-hop name in any case, and keeps other names of the same lengths (G9)', () => {
    const reactor = new MemoryReactor();
    const hop = ['Connection', 'KEEP-ALIVE', 'proxy-Authenticate', 'Proxy-Authorization', 'TE', 'Trailers', 'UpGrade'];
    // Same lengths as the hop-by-hop names (10, 10, 18, 19, 2, 8, 7): only the names themselves are dropped.
    const kept = [
      'X-Custom-1',
      'X-Proxy-Authentic',
      'X-Proxy-Authorizati',
      'Tz',
      'X-Traile',
      'Upgrad3',
      'A-Very-Long-Header-Name-Past-31-Chars',
    ];
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        for (const name of [...hop, ...kept]) req.addHeader(name, 'v');
        req.finish();
      }),
    );
    expect(host.headers.map(([n]) => n)).toEqual(kept);
  });

  it('each request sees its own method, target, version and scheme, also one made while another app runs', () => {
    const reactor = new MemoryReactor();
    const seen: string[] = [];
    const see = (req: IRequest): void => {
      seen.push(`${req.method} ${req.uri} ${req.path} ${req.query} ${req.version} ${req.isSecure()}`);
    };
    const inner = toIterApp((req) => {
      see(req);
      req.finish();
    });
    const innerHost = new TestHost(reactor, {
      environ: { REQUEST_METHOD: 'DELETE', PATH_INFO: '/in', QUERY_STRING: '', SERVER_PROTOCOL: 'HTTP/1.0' },
    });
    const outer = new TestHost(reactor, {
      environ: { REQUEST_METHOD: 'PUT', PATH_INFO: '/out', QUERY_STRING: 'a=1', 'wsgi.url_scheme': 'https' },
    }).start(
      toIterApp((req) => {
        innerHost.start(inner); // a second bridged request made and run inside this app's call
        see(req);
        req.finish();
      }),
    );
    expect(outer.status).toBe('200 OK');
    expect(innerHost.status).toBe('200 OK');
    expect(seen).toEqual(['DELETE /in /in  HTTP/1.0 false', 'PUT /out?a=1 /out a=1 HTTP/1.1 true']);
  });

  it('a failure before the headers becomes a 500 through startResponse with excInfo', () => {
    const reactor = new MemoryReactor();
    const boom = new Error('boom');
    const host = new TestHost(reactor).start(
      toIterApp(() => {
        throw boom;
      }),
    );
    host.pull();
    expect(host.status).toBe('500 Internal Server Error');
    expect(host.excInfo).toBe(boom);
    expect(host.body()).toBe('Internal Server Error\n');
    expect(host.done).toBe(true);
    expect(host.error).toBeUndefined();
  });

  it('a failure after the headers makes the iterator throw once the queued data was read', () => {
    const reactor = new MemoryReactor();
    const boom = new Error('late boom');
    const d = new Deferred<void>();
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.write('part');
        reactor.callLater(1, () => d.errback(boom));
        return d;
      }),
    );
    host.pull();
    expect(host.body()).toBe('part');
    reactor.advance(1);
    expect(host.error).toBe(boom);
  });

  it('a rejected Promise counts as a failure too', async () => {
    const reactor = new MemoryReactor();
    const boom = new Error('async boom');
    const host = new TestHost(reactor).start(
      toIterApp(async () => {
        throw boom;
      }),
    );
    await Promise.resolve();
    host.pull();
    expect(host.excInfo).toBe(boom);
  });

  it('a stalled client pauses the producer before 1 MiB is queued, and resumes it when reading again (G16)', () => {
    const reactor = new MemoryReactor();
    const log: string[] = [];
    const host = new TestHost(reactor).start(toIterApp(streamingApp(4 * 1024 * 1024, 16 * 1024, log)));
    host.wanting = false;
    for (let i = 0; i < 500; i++) reactor.advance(0);
    expect(log).toEqual(['pause']);
    expect(host.chunks).toEqual([]);
    // What sits in the queue: at most one chunk past the high-water mark.
    expect(reactor.getDelayedCalls()).toHaveLength(0);
    host.wanting = true;
    host.pull();
    expect(log).toEqual(['pause', 'resume']);
    for (let i = 0; i < 2000 && !host.done; i++) {
      reactor.advance(0);
      host.pull();
    }
    expect(host.done).toBe(true);
    expect(host.bodyBytes()).toBe(4 * 1024 * 1024);
    expect(log.filter((e) => e === 'pause').length).toBe(log.filter((e) => e === 'resume').length);
  });

  it('the queue never holds much more than the high-water mark while the client stalls', () => {
    const reactor = new MemoryReactor();
    let queued = 0;
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        streamingApp(2 * 1024 * 1024, 8 * 1024)(req);
        const write = req.write.bind(req);
        req.write = (d) => {
          write(d);
          queued += typeof d === 'string' ? d.length : d.byteLength;
        };
      }),
    );
    host.wanting = false;
    for (let i = 0; i < 1000; i++) reactor.advance(0);
    expect(queued).toBeGreaterThan(BRIDGE_HIGH_WATER);
    expect(queued).toBeLessThanOrEqual(BRIDGE_HIGH_WATER + 8 * 1024);
  });

  it('writes made during the app call: in order whole when it finishes; past the high-water mark the producer is paused once, at the crossing', () => {
    const reactor = new MemoryReactor();
    const enc = (t: string) => new TextEncoder().encode(t);
    const whole = new TestHost(reactor).start(
      toIterApp((req) => {
        for (const t of ['a', 'bb', 'ccc']) req.write(enc(t));
        req.finish();
      }),
    );
    expect(Array.isArray(whole.iterable)).toBe(true);
    expect((whole.iterable as Uint8Array[]).map((c) => new TextDecoder().decode(c))).toEqual(['a', 'bb', 'ccc']);

    const log: string[] = [];
    const sizes = [40 * 1024, 20 * 1024, 4 * 1024, 1, 30 * 1024]; // the fourth write crosses 64 KiB
    const host = new TestHost(reactor).start(
      toIterApp(
        (req) => {
          req.registerProducer(
            {
              pauseProducing: () => log.push(`pause after ${log.length}`),
              resumeProducing: () => log.push('resume'),
              stopProducing: () => log.push('stop'),
            },
            true,
          );
          sizes.forEach((n, i) => {
            req.write(new Uint8Array(n).fill(97 + i));
            log.push(`write ${i}`);
          });
          req.finish();
        },
        { maxBuffered: 1024 * 1024 },
      ),
    );
    expect(log.slice(0, 5)).toEqual(['write 0', 'write 1', 'write 2', 'pause after 3', 'write 3']);
    for (let i = 0; i < 50 && !host.done; i++) {
      host.pull();
      reactor.advance(0);
    }
    expect(host.done).toBe(true);
    expect(host.chunks.map((c) => (c as Uint8Array).length)).toEqual(sizes);
    expect(host.chunks.map((c) => (c as Uint8Array)[0])).toEqual([97, 98, 99, 100, 101]);
    expect(log.filter((e) => e === 'resume')).toHaveLength(1);
  });

  it('a response finished during the app call with a producer still registered reaches its end through the iterator', () => {
    const reactor = new MemoryReactor();
    const log: string[] = [];
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.registerProducer(
          {
            pauseProducing: () => log.push('pause'),
            resumeProducing: () => log.push('resume'),
            stopProducing: () => log.push('stop'),
          },
          true,
        );
        req.write('a');
        req.write('b');
        req.finish();
      }),
    );
    expect(Array.isArray(host.iterable)).toBe(false);
    for (let i = 0; i < 5 && !host.done; i++) host.pull();
    expect(host.body()).toBe('ab');
    expect(host.done).toBe(true);
    expect(log).toEqual([]);
  });

  it('writes made during the app call come first when the response goes on later, and a later write wakes the paused iterator', () => {
    const reactor = new MemoryReactor();
    let later: IRequest | null = null;
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.write('one ');
        req.write('two ');
        later = req;
      }),
    );
    host.pull();
    expect(host.body()).toBe('one two ');
    expect(host.paused).toBe(true);
    later!.write('three');
    later!.finish();
    for (let i = 0; i < 5 && !host.done; i++) reactor.advance(0);
    expect(host.body()).toBe('one two three');
    expect(host.done).toBe(true);
  });

  it('a writer with no producer gets ERR_BRIDGE_QUEUE_OVERFLOW past maxBuffered, not silent growth', () => {
    const reactor = new MemoryReactor();
    let caught: unknown;
    new TestHost(reactor).start(
      toIterApp(
        (req) => {
          try {
            for (let i = 0; i < 100; i++) req.write(new Uint8Array(64 * 1024));
          } catch (err) {
            caught = err;
          }
        },
        { maxBuffered: 1024 * 1024 },
      ),
    );
    expect((caught as { code?: string }).code).toBe('ERR_BRIDGE_QUEUE_OVERFLOW');
    expect(String((caught as Error).message)).toMatch(/registerProducer/);
  });

  it('a client that dies while the producer is paused leaves nothing pending (G14, G16)', () => {
    const reactor = new MemoryReactor();
    const log: string[] = [];
    let lost: unknown = null;
    let request: IRequest | null = null;
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        request = req;
        req.notifyFinish().addErrback((f: Failure) => {
          lost = f.value;
        });
        streamingApp(4 * 1024 * 1024, 16 * 1024, log)(req);
      }),
    );
    host.wanting = false;
    for (let i = 0; i < 100; i++) reactor.advance(0);
    expect(log).toEqual(['pause']);
    host.close();
    expect(log).toEqual(['pause', 'stop']);
    expect(lost).toBeInstanceOf(ConnectionLost);
    expect(reactor.getDelayedCalls()).toHaveLength(0);
    const req = request as unknown as IRequest;
    expect(req.disconnected).toBe(true);
    // Writes after the disconnect are dropped silently (the IRequest policy); a later notifyFinish errbacks at once.
    expect(() => req.write('ignored')).not.toThrow();
    let late: unknown = null;
    req.notifyFinish().addErrback((f: Failure) => {
      late = f.value;
    });
    expect(late).toBeInstanceOf(ConnectionLost);
    host.close();
    expect(log).toEqual(['pause', 'stop']);
  });

  it('close() after a complete response is not a cancel: notifyFinish succeeds, no stopProducing', () => {
    const reactor = new MemoryReactor();
    let result = 'pending';
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.notifyFinish().addCallbacks(
          () => {
            result = 'done';
          },
          () => {
            result = 'lost';
          },
        );
        req.write('x');
        req.finish();
      }),
    );
    // The gateway reads the chunk, reaches Content-Length, closes without asking for the end.
    const it = (host.iterable as Iterable<string>)[Symbol.iterator]();
    expect(new TextDecoder().decode(it.next().value as unknown as Uint8Array)).toBe('x');
    host.close();
    expect(result).toBe('done');
  });

  it('a pull producer is asked for data each time the iterator finds the queue empty', () => {
    const reactor = new MemoryReactor();
    let n = 0;
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.registerProducer(
          {
            resumeProducing: () => {
              n++;
              if (n <= 3) req.write(`p${n};`);
              else {
                req.unregisterProducer();
                req.finish();
              }
            },
            stopProducing: () => {},
          },
          false,
        );
      }),
    );
    host.pull();
    expect(host.body()).toBe('p1;p2;p3;');
    expect(host.done).toBe(true);
  });
});

describe('toIterApp: hosts without pause_output', () => {
  it('fails at once with a typed error naming the ways out', () => {
    const reactor = new MemoryReactor();
    const host = new TestHost(reactor, { pauseOutput: false });
    let caught: unknown;
    try {
      host.start(toIterApp((req) => req.finish()));
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe('ERR_BRIDGE_HOST_UNSUPPORTED');
    expect(String((caught as Error).message)).toMatch(/asyncIterable: true/);
    expect(String((caught as Error).message)).toMatch(/threadedIterApp/);
  });

  it('returns an AsyncIterable when the host says it takes one', async () => {
    const reactor = new MemoryReactor();
    const host = new TestHost(reactor, { pauseOutput: false, asyncIterable: true }).start(
      toIterApp((req) => {
        req.write('a');
        reactor.callLater(1, () => {
          req.write('b');
          req.finish();
        });
      }),
    );
    const it = (host.iterable as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    expect(new TextDecoder().decode((await it.next()).value)).toBe('a');
    const second = it.next();
    reactor.advance(1);
    expect(new TextDecoder().decode((await second).value)).toBe('b');
    expect((await it.next()).done).toBe(true);
  });

  it('an AsyncIterable whose return() is called cancels the CPS app', async () => {
    const reactor = new MemoryReactor();
    let lost = false;
    const host = new TestHost(reactor, { pauseOutput: false }).start(
      toIterApp(
        (req) => {
          req.notifyFinish().addErrback(() => {
            lost = true;
          });
        },
        { asyncIterable: true },
      ),
    );
    const it = (host.iterable as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return!();
    expect(lost).toBe(true);
    expect((await pending).done).toBe(true);
  });

  it('fails with ERR_BRIDGE_NO_REACTOR when neither options nor environ give a reactor', () => {
    const host = new TestHost(new MemoryReactor(), { environ: { 'spindle.reactor': undefined } });
    expect(() => host.start(toIterApp((req) => req.finish()))).toThrow(
      expect.objectContaining({ code: 'ERR_BRIDGE_NO_REACTOR' }),
    );
  });
});

describe('toIterApp: request bodies from wsgi.input', () => {
  it('deliverBody streams the upload as it arrives, with pause and resume, and ends with ResponseDone', () => {
    const reactor = new MemoryReactor();
    const got: string[] = [];
    let ended: unknown = null;
    let transport: ITransport | null = null;
    const host = new TestHost(reactor, { environ: { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '9' } });
    host.start(
      toIterApp((req) => {
        req.deliverBody({
          makeConnection: (t) => {
            transport = t;
          },
          dataReceived: (d) => {
            got.push(new TextDecoder().decode(d));
          },
          connectionLost: (f) => {
            ended = f.value;
            req.finish();
          },
        });
      }),
    );
    host.input.feed('abc');
    expect(got).toEqual(['abc']);
    (transport as unknown as ITransport).pauseProducing();
    const readsBefore = host.input.reads;
    host.input.feed('def');
    reactor.advance(0);
    expect(got).toEqual(['abc']);
    expect(host.input.reads).toBe(readsBefore);
    (transport as unknown as ITransport).resumeProducing();
    expect(got).toEqual(['abc']); // resume never re-enters the caller's stack
    reactor.advance(0);
    expect(got).toEqual(['abc', 'def']);
    host.input.feed('ghi');
    host.input.end();
    expect(got.join('')).toBe('abcdefghi');
    expect(ended).toBeInstanceOf(ResponseDone);
  });

  it('readBody({ limit }) buffers the body; past the limit it errbacks and the client gets 413', () => {
    const reactor = new MemoryReactor();
    let body = '';
    const ok = new TestHost(reactor).start(
      toIterApp((req) => {
        req.readBody({ limit: 10 }).addCallback((b) => {
          body = new TextDecoder().decode(b);
          req.finish();
        });
      }),
    );
    ok.input.feed('12345');
    ok.input.feed('678');
    ok.input.end();
    expect(body).toBe('12345678');

    let code = '';
    const big = new TestHost(reactor).start(
      toIterApp((req) => {
        req.readBody({ limit: 4 }).addErrback((f: Failure) => {
          code = (f.value as { code: string }).code;
        });
      }),
    );
    big.input.feed('123456');
    big.pull();
    expect(code).toBe('ERR_HTTP_BODY_TOO_LARGE');
    expect(big.status).toBe('413 Content Too Large');
    expect(big.done).toBe(true);
  });

  it('without wsgi.input_handler a PEP 3333 input is read until empty, from the next reactor turn', () => {
    const reactor = new MemoryReactor();
    let body: string | null = null;
    const host = new TestHost(reactor, { environ: { 'wsgi.input_handler': undefined } });
    host.input.feed('all of ');
    host.input.feed('it');
    host.input.end();
    host.start(
      toIterApp((req) => {
        req.readBody().addCallback((b) => {
          body = new TextDecoder().decode(b);
          req.finish();
        });
      }),
    );
    expect(body).toBeNull();
    reactor.advance(0);
    expect(body).toBe('all of it');
  });

  it('without wsgi.input_handler a non-blocking input that is not at its end yet is polled on the reactor', () => {
    const reactor = new MemoryReactor();
    let body: string | null = null;
    const host = new TestHost(reactor, { environ: { 'wsgi.input_handler': undefined } });
    host.start(
      toIterApp((req) => {
        req.readBody().addCallback((b) => {
          body = new TextDecoder().decode(b);
          req.finish();
        });
      }),
    );
    reactor.advance(0);
    expect(reactor.getDelayedCalls()).toHaveLength(1);
    host.input.feed('late');
    host.input.end();
    reactor.advance(0.01);
    expect(body).toBe('late');
    expect(reactor.getDelayedCalls()).toHaveLength(0);
  });

  it('a client that leaves mid-upload reaches deliverBody as ConnectionLost', () => {
    const reactor = new MemoryReactor();
    let reason: unknown = null;
    const host = new TestHost(reactor).start(
      toIterApp((req) => {
        req.deliverBody({
          makeConnection() {},
          dataReceived() {},
          connectionLost: (f) => {
            reason = f.value;
          },
        });
      }),
    );
    host.input.feed('ab');
    host.input.lose();
    expect(reason).toBeInstanceOf(ConnectionLost);
  });
});
