import { describe, expect, it } from 'vitest';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { Failure } from '../src/reactor/failure.js';
import { ConnectionLost } from '../src/reactor/errors.js';
import { captureLogs } from '../src/reactor/log.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { fromFetchHandler, toFetchHandler } from '../src/bridge/fetch.js';

/** Let microtasks (stream reads) and the reactor's due calls run until both are quiet. */
async function settle(reactor: MemoryReactor, rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    reactor.advance(0);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** Read a Response body concurrently with the reactor. */
async function text(reactor: MemoryReactor, response: Response): Promise<string> {
  let done = false;
  const p = response.text().finally(() => {
    done = true;
  });
  for (let i = 0; i < 1000 && !done; i++) await settle(reactor, 1);
  return p;
}

async function respond(
  reactor: MemoryReactor,
  handler: (r: Request) => Promise<Response>,
  request: Request,
): Promise<Response> {
  const p = handler(request);
  await settle(reactor);
  return p;
}

const countingApp =
  (counter: { pulls: number; closed: number }, chunks = 1000): IterApp =>
  (_environ, start) => {
    start('200 OK', [['Content-Type', 'application/octet-stream']]);
    let i = 0;
    return {
      [Symbol.iterator]() {
        return this;
      },
      next: () => {
        counter.pulls++;
        return i++ < chunks
          ? { value: new Uint8Array(1024).fill(i % 256), done: false }
          : { value: undefined, done: true };
      },
      close: () => {
        counter.closed++;
      },
    } as Iterable<Uint8Array> & Iterator<Uint8Array> & { close(): void };
  };

describe('toFetchHandler: an app as a WHATWG (Request) => Promise<Response>', () => {
  it('serves an iterator app: status, headers, body, and the request line reaches the environ', async () => {
    const reactor = new MemoryReactor();
    let seen: Record<string, unknown> = {};
    const handler = toFetchHandler(
      ((environ, start) => {
        seen = {
          method: environ.REQUEST_METHOD,
          path: environ.PATH_INFO,
          query: environ.QUERY_STRING,
          x: environ.HTTP_X_TEST,
        };
        start('201 Created', [
          ['Content-Type', 'text/plain'],
          ['X-App', 'iter'],
        ]);
        return ['hello ', '', 'world'];
      }) as IterApp,
      { reactor },
    );
    const res = await respond(
      reactor,
      handler,
      new Request('http://example.test/p/q?x=1', { headers: { 'X-Test': 'yes' } }),
    );
    expect(res.status).toBe(201);
    expect(res.statusText).toBe('Created');
    expect(res.headers.get('x-app')).toBe('iter');
    expect(await text(reactor, res)).toBe('hello world');
    expect(seen).toEqual({ method: 'GET', path: '/p/q', query: 'x=1', x: 'yes' });
  });

  it('pulls the iterator only as the body is read, and cancel() closes it once (G5, G14)', async () => {
    const reactor = new MemoryReactor();
    const counter = { pulls: 0, closed: 0 };
    const res = await respond(
      reactor,
      toFetchHandler(countingApp(counter), { reactor }),
      new Request('http://example.test/'),
    );
    await settle(reactor);
    const before = counter.pulls;
    // Nothing read yet: the gateway stopped at the bridge's high-water mark (64 chunks of 1 KiB at most).
    expect(before).toBeLessThan(100);
    const reader = res.body!.getReader();
    for (let i = 0; i < 10; i++) await reader.read();
    await settle(reactor);
    expect(counter.pulls).toBeLessThan(before + 100);
    await reader.cancel();
    await settle(reactor);
    expect(counter.closed).toBe(1);
    const after = counter.pulls;
    await settle(reactor);
    expect(counter.pulls).toBe(after);
  });

  it('hosts a CPS app that echoes an uploaded body', async () => {
    const reactor = new MemoryReactor();
    const echo: CpsApp = (req) => {
      req.readBody({ limit: 1000 }).addCallback((body) => {
        req.setHeader('Content-Type', 'text/plain');
        req.write(`${req.method} ${req.uri} `);
        req.write(body);
        req.finish();
      });
    };
    const handler = toFetchHandler(echo, { reactor, style: 'cps' });
    const res = await respond(
      reactor,
      handler,
      new Request('http://example.test/up?a=b', { method: 'POST', body: 'payload' }),
    );
    expect(await text(reactor, res)).toBe('POST /up?a=b payload');
  });

  it('a CPS failure before the headers is a 500; 204 and HEAD have no body', async () => {
    const reactor = new MemoryReactor();
    const failing = toFetchHandler(
      (() => {
        throw new Error('nope');
      }) as CpsApp,
      { reactor, style: 'cps' },
    );
    const logs = captureLogs();
    const res = await respond(reactor, failing, new Request('http://example.test/')).finally(() => logs.restore());
    expect(res.status).toBe(500);
    expect(
      logs.events.some(
        (e) => e.namespace === 'spindle.bridge' && String((e.failure as { value?: Error })?.value?.message) === 'nope',
      ),
    ).toBe(true);
    expect(await text(reactor, res)).toBe('Internal Server Error\n');

    const empty = toFetchHandler(
      ((req) => {
        req.setResponseCode(204);
        req.finish();
      }) as CpsApp,
      { reactor, style: 'cps' },
    );
    expect((await respond(reactor, empty, new Request('http://example.test/'))).body).toBeNull();
    const head = toFetchHandler(
      ((req) => {
        req.write('ignored');
        req.finish();
      }) as CpsApp,
      { reactor, style: 'cps' },
    );
    expect((await respond(reactor, head, new Request('http://example.test/', { method: 'HEAD' }))).body).toBeNull();
  });

  it("the consumer cancelling the body errbacks the CPS app's notifyFinish and stops its producer", async () => {
    const reactor = new MemoryReactor();
    let lost: unknown = null;
    let stopped = 0;
    const app: CpsApp = (req) => {
      req.notifyFinish().addErrback((f: Failure) => {
        lost = f.value;
      });
      req.registerProducer(
        {
          pauseProducing() {},
          resumeProducing() {},
          stopProducing() {
            stopped++;
          },
        },
        true,
      );
      req.write('first');
    };
    const res = await respond(
      reactor,
      toFetchHandler(app, { reactor, style: 'cps' }),
      new Request('http://example.test/'),
    );
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(lost).toBeInstanceOf(ConnectionLost);
    expect(stopped).toBe(1);
  });

  it('a CPS app whose only output is a pull producer gets a Response (the producer is asked for the first write)', async () => {
    const reactor = new MemoryReactor();
    const app: CpsApp = (req) => {
      let n = 0;
      req.registerProducer(
        {
          resumeProducing: () => {
            n++;
            if (n <= 3) req.write(`part${n};`);
            else {
              req.unregisterProducer();
              req.finish();
            }
          },
          stopProducing: () => {},
        },
        false,
      );
    };
    const response = await respond(
      reactor,
      toFetchHandler(app, { style: 'cps', reactor }),
      new Request('http://example.test/'),
    );
    expect(response.status).toBe(200);
    expect(await text(reactor, response)).toBe('part1;part2;part3;');
  });

  it('on a HEAD request (no body to pull) a pull producer is still asked until it finishes: notifyFinish fires', async () => {
    const reactor = new MemoryReactor();
    let asked = 0;
    let finished = false;
    const app: CpsApp = (req) => {
      req.notifyFinish().addCallback(() => {
        finished = true;
      });
      req.registerProducer(
        {
          resumeProducing: () => {
            asked++;
            if (asked <= 3) req.write('part;');
            else {
              req.unregisterProducer();
              req.finish();
            }
          },
          stopProducing: () => {},
        },
        false,
      );
    };
    const response = await respond(
      reactor,
      toFetchHandler(app, { style: 'cps', reactor }),
      new Request('http://example.test/', { method: 'HEAD' }),
    );
    expect(response.body).toBeNull();
    await settle(reactor);
    expect(asked).toBe(4);
    expect(finished).toBe(true);
  });

  it('an unknown style is refused at once, naming the styles a host takes (not served as an iterator app)', () => {
    const reactor = new MemoryReactor();
    const handler = async (): Promise<Response> => new Response('x');
    expect(() => toFetchHandler(handler as unknown as CpsApp, { style: 'fetch' as 'cps', reactor })).toThrow(
      expect.objectContaining({
        code: 'ERR_BRIDGE_SERVE_STYLE',
        message: expect.stringMatching(
          /^toFetchHandler\(app, \{ style \}\) needs style 'iter'.*or 'cps'.*got "fetch"$/,
        ),
      }),
    );
  });

  it('a Response nobody reads cannot make the queue grow: a writer without a producer gets ERR_BRIDGE_QUEUE_OVERFLOW', async () => {
    const reactor = new MemoryReactor();
    let caught: unknown = null;
    let written = 0;
    const app: CpsApp = (req) => {
      try {
        for (;;) {
          req.write(new Uint8Array(16 * 1024));
          written += 16 * 1024;
        }
      } catch (err) {
        caught = err;
      }
    };
    const res = await respond(
      reactor,
      toFetchHandler(app, { reactor, style: 'cps', maxBuffered: 256 * 1024 }),
      new Request('http://example.test/'),
    );
    expect(res.status).toBe(200);
    expect((caught as { code?: string }).code).toBe('ERR_BRIDGE_QUEUE_OVERFLOW');
    expect(written).toBe(256 * 1024);
  });

  it("a stalled Response reader pauses the CPS app's producer at the high-water mark", async () => {
    const reactor = new MemoryReactor();
    const log: string[] = [];
    let written = 0;
    const app: CpsApp = (req) => {
      let paused = false;
      const produce = (): void => {
        while (!paused && written < 8 * 1024 * 1024) {
          written += 8192;
          req.write(new Uint8Array(8192));
        }
      };
      req.registerProducer(
        {
          pauseProducing: () => {
            log.push('pause');
            paused = true;
          },
          resumeProducing: () => {
            log.push('resume');
            paused = false;
            produce();
          },
          stopProducing: () => {
            log.push('stop');
            paused = true;
          },
        },
        true,
      );
      produce();
    };
    const res = await respond(
      reactor,
      toFetchHandler(app, { reactor, style: 'cps' }),
      new Request('http://example.test/'),
    );
    await settle(reactor);
    expect(log).toEqual(['pause']);
    expect(written).toBeLessThanOrEqual(64 * 1024 + 8192);
    const reader = res.body!.getReader();
    for (let i = 0; i < 8; i++) await reader.read();
    expect(log).toEqual(['pause', 'resume', 'pause']);
    await reader.cancel();
    expect(log.at(-1)).toBe('stop');
  });

  it('an aborted Request signal ends a body still being read with ConnectionLost', async () => {
    const reactor = new MemoryReactor();
    let lost: unknown = null;
    const app: CpsApp = (req) => {
      req.notifyFinish().addErrback((f: Failure) => {
        lost = f.value;
      });
      req.write('part one');
    };
    const abort = new AbortController();
    const res = await respond(
      reactor,
      toFetchHandler(app, { reactor, style: 'cps' }),
      new Request('http://example.test/', { signal: abort.signal }),
    );
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('part one');
    const pending = reader.read();
    abort.abort();
    await expect(pending).rejects.toBeInstanceOf(ConnectionLost);
    expect(lost).toBeInstanceOf(ConnectionLost);
  });

  it('works with no options: an iterator app on a NodeReactor of its own', async () => {
    const handler = toFetchHandler(((_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['plain call'];
    }) as IterApp);
    expect(await (await handler(new Request('http://example.test/'))).text()).toBe('plain call');
  });
});

describe('fromFetchHandler: a WHATWG handler as a CPS app', () => {
  it('round-trips through toFetchHandler: method, url, headers, body both ways', async () => {
    const reactor = new MemoryReactor();
    const inner = async (request: Request): Promise<Response> => {
      const body = await request.text();
      return new Response(`${request.method} ${new URL(request.url).pathname} ${request.headers.get('x-a')} ${body}`, {
        status: 202,
        headers: { 'X-From': 'fetch' },
      });
    };
    const outer = toFetchHandler(fromFetchHandler(inner), { reactor, style: 'cps' });
    const res = await respond(
      reactor,
      outer,
      new Request('http://example.test/x', { method: 'PUT', headers: { 'X-A': '1' }, body: 'data' }),
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('x-from')).toBe('fetch');
    expect(await text(reactor, res)).toBe('PUT /x 1 data');
  });

  it("reads the handler's Response body only as fast as the client reads (backpressure)", async () => {
    const reactor = new MemoryReactor();
    let pulled = 0;
    let cancelled = false;
    const inner = async (): Promise<Response> =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(c) {
              pulled++;
              c.enqueue(new Uint8Array(8 * 1024));
            },
            cancel() {
              cancelled = true;
            },
          },
          { highWaterMark: 0 },
        ),
      );
    const res = await respond(
      reactor,
      toFetchHandler(fromFetchHandler(inner), { reactor, style: 'cps' }),
      new Request('http://example.test/'),
    );
    await settle(reactor, 50);
    // 64 KiB high-water mark / 8 KiB chunks: the handler's stream is paused after a handful of pulls.
    expect(pulled).toBeGreaterThan(0);
    expect(pulled).toBeLessThan(20);
    const reader = res.body!.getReader();
    for (let i = 0; i < 30; i++) await reader.read();
    await settle(reactor, 10);
    expect(pulled).toBeGreaterThanOrEqual(30);
    expect(pulled).toBeLessThan(60);
    await reader.cancel();
    await settle(reactor);
    expect(cancelled).toBe(true);
  });

  it("the client going away aborts the handler's Request signal and cancels its Response body", async () => {
    const reactor = new MemoryReactor();
    let signal: AbortSignal | null = null;
    let cancelled = false;
    const inner = async (request: Request): Promise<Response> => {
      signal = request.signal;
      return new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(c) {
              c.enqueue(new Uint8Array(1024));
            },
            cancel() {
              cancelled = true;
            },
          },
          { highWaterMark: 0 },
        ),
      );
    };
    const res = await respond(
      reactor,
      toFetchHandler(fromFetchHandler(inner), { reactor, style: 'cps' }),
      new Request('http://example.test/'),
    );
    const reader = res.body!.getReader();
    await reader.read();
    expect((signal as AbortSignal | null)?.aborted).toBe(false);
    await reader.cancel();
    await settle(reactor);
    expect((signal as unknown as AbortSignal).aborted).toBe(true);
    expect((signal as unknown as AbortSignal).reason).toBeInstanceOf(ConnectionLost);
    expect(cancelled).toBe(true);
  });

  it('does not read an upload the handler leaves unread past the high-water mark', async () => {
    const reactor = new MemoryReactor();
    let uploadPulls = 0;
    const upload = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          uploadPulls++;
          c.enqueue(new Uint8Array(16 * 1024));
        },
      },
      { highWaterMark: 0 },
    );
    const inner = async (): Promise<Response> => new Response('ignored the body');
    const outer = toFetchHandler(fromFetchHandler(inner), { reactor, style: 'cps' });
    const res = await respond(
      reactor,
      outer,
      new Request('http://example.test/', { method: 'POST', body: upload, duplex: 'half' } as RequestInit),
    );
    expect(await text(reactor, res)).toBe('ignored the body');
    await settle(reactor, 30);
    expect(uploadPulls).toBeLessThan(20);
  });
});
