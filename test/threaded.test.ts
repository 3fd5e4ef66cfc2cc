import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResponseStarter } from '../src/bridge/startresponse.js';
import { threadedIterApp, THREAD_MAX_PENDING_MESSAGES } from '../src/bridge/threaded.js';
import { ThreadPool } from '../src/reactor/threadpool.js';
import type { NodeReactor } from '../src/reactor/nodereactor.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { LogEvent, LogPublisher } from '../src/reactor/log.js';
import {
  appsUrl,
  makeHost,
  newShared,
  patternSha256,
  sha256,
  turnsUntil,
  until,
  type Hosted,
} from './threaded-helpers.js';
import type { FakeRequestInit } from './gateway-fakerequest.js';
import type { Chunk, IterApp } from '../src/bridge/interfaces.js';

let reactor: NodeReactor;
let logs: LogEvent[];
let publisher: LogPublisher;
let serve: (app: IterApp, init?: FakeRequestInit) => Hosted;
let pool: ThreadPool;

beforeEach(() => {
  ({ reactor, logs, publisher, serve } = makeHost());
  pool = new ThreadPool(reactor, { size: 1 });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await reactor.stop();
});

const app = (name: string, opts = {}) => threadedIterApp(appsUrl, name, { pool, ...opts });
const header = (h: Hosted, name: string) => h.req.getResponseHeader(name);

describe('threadedIterApp: responses', () => {
  it('answers from a worker thread: status, headers and body through the gateway', async () => {
    const h = serve(app('hello'));
    await h.done;
    expect(h.req.code).toBe(200);
    expect(header(h, 'content-type')).toBe('text/plain');
    expect(h.req.bodyText()).toBe('hello world');
  });

  it("spindle's gateway takes the head the worker checked without a second check; a middleware that wraps startResponse, and excInfo, go through it", async () => {
    const start = vi.spyOn(ResponseStarter.prototype, 'start');
    const direct = serve(app('hello'));
    await direct.done;
    expect([direct.req.code, header(direct, 'content-type'), direct.req.bodyText()]).toEqual([
      200,
      'text/plain',
      'hello world',
    ]);
    expect(start).not.toHaveBeenCalled();
    const inner = app('hello');
    const wrapped = serve((environ, startResponse) =>
      inner(environ, (status, headers, excInfo) => startResponse(status, [...headers, ['X-Mw', 'yes']], excInfo)),
    );
    await wrapped.done;
    expect([header(wrapped, 'x-mw'), wrapped.req.bodyText()]).toEqual(['yes', 'hello world']);
    expect(start).toHaveBeenCalledTimes(1);
    const replaced = serve(app('excInfoBeforeBody'));
    await replaced.done;
    expect([replaced.req.code, replaced.req.bodyText()]).toEqual([500, 'replaced']);
    expect(start).toHaveBeenCalledTimes(2); // the first head the gateway took as checked, the second (excInfo) through startResponse
  });

  it('the worker app sees a real environ: CGI variables, wsgi.multithread true, a blocking input; wsgi.errors reaches the host log', async () => {
    const h = serve(app('environEcho'), {
      method: 'POST',
      uri: '/p/q?x=1',
      headers: [
        ['Host', 'h'],
        ['X-Test', 'yes'],
      ],
    });
    await h.done;
    expect(JSON.parse(h.req.bodyText())).toEqual({
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/p/q',
      QUERY_STRING: 'x=1',
      HTTP_X_TEST: 'yes',
      'wsgi.multithread': true,
      'wsgi.version': [1, 0],
      'wsgi.url_scheme': 'http',
      hasInput: true,
      hasReactor: false,
    });
    expect(logs.map((e) => e.message).join('\n')).toContain('environEcho ran');
  });

  it("G12: write() output goes before the iterable's items; '' is never a wire chunk (async generator app)", async () => {
    const h = serve(app('writeThenYield'));
    await h.done;
    expect(h.req.bodyText()).toBe('abcd');
    expect(h.req.writes.every((w) => w.length > 0)).toBe(true);
  });

  it('G6: a 10-byte event reaches the client while the worker app is still blocked before its next one', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('events'));
    await until(shared, 3, (v) => v === 1);
    await turnsUntil(() => h.req.bodyText() === 'data: 1\n\n'); // no waiting for more bytes to fill a buffer
    expect(Atomics.load(shared, 2)).toBe(0);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await h.done;
    expect(h.req.bodyText()).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('streams 8 MiB of 64 KiB writes through a 64 KiB ring byte-exact', async () => {
    const total = 8 << 20;
    const h = serve(app('writeLoop', { ringSize: 64 * 1024 }), { uri: `/?${total},65536` });
    await h.done;
    expect(h.req.finished).toBe(true);
    expect(sha256(h.req.writes)).toBe(patternSha256(total));
  });

  it('a returned list much larger than the ring streams through it byte-exact (its chunks wake the reactor thread only when the ring is full, and at the end)', async () => {
    const total = 4 << 20;
    const h = serve(app('patternList', { ringSize: 64 * 1024 }), { uri: `/?${total},16384` });
    await h.done;
    expect(h.req.finished).toBe(true);
    expect(sha256(h.req.writes)).toBe(patternSha256(total));
  });

  it('a returned list with a close() of its own sends its chunks while close() runs (G6, G7)', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('listWithGatedClose'));
    await until(shared, 3, (v) => v === 1); // close() has begun and blocks its worker
    await turnsUntil(() => h.req.bodyText() === 'before close');
    expect([h.req.code, h.req.finished]).toEqual([200, false]);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await h.done;
    expect([Atomics.load(shared, 1), h.req.finished]).toEqual([1, true]);
  });

  it('app errors: a 500 before the headers went out, an aborted response after', async () => {
    const early = serve(app('throwsEarly'));
    await early.done;
    expect(early.req.code).toBe(500);
    const late = serve(app('throwsLate'));
    await late.done;
    expect(late.req.aborted).toBe(true);
    expect(late.req.bodyText()).toBe('partial');
    const failures = logs.filter((e) => e.failure).map((e) => String((e.failure as { value: Error }).value.message));
    expect(failures).toEqual(
      expect.arrayContaining(['app failed before startResponse', 'app failed after the headers']),
    );
  });

  it("G9: a hop-by-hop header throws inside the worker app, from startResponse, typed as the gateway's error", async () => {
    const h = serve(app('hopByHop'));
    await h.done;
    expect(h.req.bodyText()).toBe('HopByHopHeaderError ERR_GATEWAY_HOP_BY_HOP');
  });

  it('G2: excInfo before any body replaces the status; after write() it is rethrown into the app (the same error)', async () => {
    const before = serve(app('excInfoBeforeBody'));
    await before.done;
    expect(before.req.code).toBe(500);
    expect(before.req.bodyText()).toBe('replaced');
    const after = serve(app('excInfoAfterBody'));
    await after.done;
    expect(after.req.code).toBe(200);
    expect(after.req.bodyText()).toBe('partial rethrown-same');
  });

  it('a worker that exits gets its request a 500, and a new worker serves the next request', async () => {
    const h = serve(app('exits'));
    await h.done;
    expect(h.req.code).toBe(500);
    expect(
      logs.some((e) => (e.failure as { value?: { code?: string } } | undefined)?.value?.code === 'ERR_WORKER_CRASHED'),
    ).toBe(true);
    const next = serve(app('hello'));
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
  });

  it('a worker that dies after the headers went out aborts the response', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('exitsLate'));
    await until(shared, 1, (v) => v === 1);
    await turnsUntil(() => h.req.bodyText() === 'partial'); // the headers and 'partial' are out
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await h.done;
    expect(h.req.code).toBe(200);
    expect(h.req.aborted).toBe(true);
    expect(h.req.finished).toBe(false);
  });

  it('wsgi.errors: every line reaches the host log in order, with at most THREAD_MAX_PENDING_MESSAGES in flight', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer); // warm: the worker and the app module are loaded
    const h = serve(app('chatty'));
    // The bound, checked at every line the host handles: the worker's count of returned
    // writes (shared[0]) never runs more than THREAD_MAX_PENDING_MESSAGES ahead of the
    // lines handled so far (this one included). No clock: a worker that outran the bound
    // would already have bumped the count when the line arrives.
    const excess: number[] = [];
    let handled = 0;
    publisher.addObserver((e) => {
      if (!String(e.message).startsWith('chatty line')) return;
      handled++;
      const ahead = Atomics.load(shared, 0) - handled;
      if (ahead > THREAD_MAX_PENDING_MESSAGES) excess.push(ahead);
    });
    // Block this thread (the reactor's) synchronously: no message is handled meanwhile,
    // yet the worker gets THREAD_MAX_PENDING_MESSAGES writes through without waiting for us.
    for (let v = Atomics.load(shared, 0); v < THREAD_MAX_PENDING_MESSAGES; v = Atomics.load(shared, 0))
      Atomics.wait(shared, 0, v);
    await h.done;
    expect(excess).toEqual([]);
    expect(handled).toBe(1000);
    expect(h.req.bodyText()).toBe('done');
    const lines = logs.map((e) => String(e.message)).filter((m) => m.startsWith('chatty line'));
    expect(lines).toEqual(Array.from({ length: 1000 }, (_, i) => `chatty line ${i}`));
  });

  it('a write() from a stray callback after the response ended throws ResponseEndedError on the worker', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('lateWrite'));
    await h.done;
    expect(h.req.bodyText()).toBe('ok');
    expect(await until(shared, 0, (v) => v !== 0)).toBe(2);
    const next = serve(app('hello')); // the worker is fine
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
  });

  it('past the pool queue bound a request gets 503 at once', async () => {
    const shared = newShared();
    const small = new ThreadPool(reactor, { size: 1, maxQueue: 0 });
    await small.deferToThread(appsUrl, 'share', shared.buffer);
    const busy = serve(threadedIterApp(appsUrl, 'gated', { pool: small }));
    await until(shared, 3, (v) => v === 1);
    const shed = serve(threadedIterApp(appsUrl, 'hello', { pool: small }));
    await shed.done;
    expect(shed.req.code).toBe(503);
    expect(header(shed, 'retry-after')).toBe('1');
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await busy.done;
    expect(busy.req.bodyText()).toBe('released');
  });

  it('makes its own pool of `threads` workers, stopped with the reactor', async () => {
    const own = threadedIterApp(appsUrl, 'hello', { threads: 2 });
    expect(own.pool).toBeNull();
    const h = serve(own);
    await h.done;
    expect(h.req.bodyText()).toBe('hello world');
    expect(own.pool?.size).toBe(2);
  });
});

describe('threadedIterApp: flow control and endings', () => {
  it('a stalled client blocks the write() loop at the ring size, and loses nothing when it resumes', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const ringSize = 128 * 1024;
    const chunk = 16 * 1024;
    const total = 4 << 20;
    const h = serve(app('writeLoop', { ringSize }), { uri: `/?${total},${chunk}` });
    h.req.pauseTransport(); // the client stops reading before any byte went out
    // The worker fills the ring and blocks in its next write(): exactly ringSize bytes written.
    expect(await until(shared, 0, (v) => v >= ringSize)).toBe(ringSize);
    // Whatever else happens on the reactor meanwhile, the worker stays blocked: a second round
    // trip through another pool completes and the counter has not moved.
    const other = new ThreadPool(null, { size: 1 });
    await other.deferToThread(appsUrl, 'share', newShared().buffer);
    await other.stop();
    expect(Atomics.load(shared, 0)).toBe(ringSize);
    expect(h.req.writes.reduce((n, w) => n + w.length, 0)).toBe(0); // nothing pulled while paused (G5)
    h.req.resumeTransport();
    await h.done;
    await until(shared, 1, (v) => v === 1); // the write loop ended (its last count lands after its last write)
    expect(Atomics.load(shared, 0)).toBe(total);
    expect(sha256(h.req.writes)).toBe(patternSha256(total));
  });

  it('G14/G16: a client that goes away wakes the worker blocked in write(); its finally runs and the worker serves the next request', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('writeLoop', { ringSize: 64 * 1024 }), { uri: `/?${64 << 20},65536` });
    h.req.pauseTransport();
    await until(shared, 0, (v) => v >= 64 * 1024);
    h.req.loseClient();
    await until(shared, 1, (v) => v === 1); // the app's finally ran on the worker
    const next = serve(app('hello'));
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
    expect(Atomics.load(shared, 0)).toBeLessThan(64 << 20);
  });

  it("G7: the host's close() runs a worker generator's finally (close() on the worker) when the client leaves", async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('slowGenerator', { ringSize: 64 * 1024 }));
    h.req.pauseTransport();
    await until(shared, 0, (v) => v >= 64 * 1024); // the generator filled the ring
    h.req.loseClient();
    expect(await until(shared, 1, (v) => v === 1)).toBe(1);
  });

  it('an abandoned app that ignores the abort (a deaf loop) has its worker terminated after abortTimeout and replaced', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const clock = new MemoryReactor();
    const h = serve(app('ignoresAbort', { reactor: clock, abortTimeout: 5 }));
    await until(shared, 3, (v) => v === 1);
    h.req.loseClient();
    expect(clock.getDelayedCalls().map((c) => c.getTime())).toEqual([5]);
    clock.advance(5);
    const next = serve(app('hello'));
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
    expect(logs.map((e) => String(e.message)).join('\n')).toMatch(
      /ignoresAbort .* did not end within 5 s of being abandoned/,
    );
  });

  it('an abandoned app that does end cancels its abort timer', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const clock = new MemoryReactor();
    const h = serve(app('writeLoop', { ringSize: 64 * 1024, reactor: clock }), { uri: `/?${64 << 20},65536` });
    h.req.pauseTransport();
    await until(shared, 0, (v) => v >= 64 * 1024);
    h.req.loseClient();
    expect(clock.getDelayedCalls()).toHaveLength(1);
    await until(shared, 1, (v) => v === 1);
    await turnsUntil(() => clock.getDelayedCalls().length === 0);
  });

  it('a client that goes away while the worker blocks in wsgi.input.read() frees the worker', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('readForever'), {
      method: 'POST',
      headers: [
        ['Host', 'h'],
        ['Content-Length', '10'],
      ],
    });
    await until(shared, 3, (v) => v === 1); // the app is about to block in read()
    h.req.loseClient();
    await until(shared, 1, (v) => v === 1);
    const next = serve(app('hello'));
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
  });

  it('a pool stopped under a running request wakes its worker (finally runs) and fails the response with ThreadPoolStopped', async () => {
    const shared = newShared();
    const clock = new MemoryReactor(); // the grace timer never fires: the aborted worker ends first
    const own = new ThreadPool(clock, { size: 1 });
    await own.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(threadedIterApp(appsUrl, 'writeLoop', { pool: own, ringSize: 64 * 1024 }), {
      uri: `/?${64 << 20},65536`,
    });
    h.req.pauseTransport();
    await until(shared, 0, (v) => v >= 64 * 1024);
    const stopped = own.stop();
    await until(shared, 1, (v) => v === 1);
    await stopped;
    h.req.resumeTransport();
    await h.done;
    expect(h.req.code).toBe(500); // nothing had gone out yet: the host answers 500
    expect(
      logs.some(
        (e) => (e.failure as { value?: { code?: string } } | undefined)?.value?.code === 'ERR_THREAD_POOL_STOPPED',
      ),
    ).toBe(true);
  });

  it('reactor shutdown stops the pool: a worker blocked on a stalled client is woken, its finally runs, the response is cut', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const h = serve(app('writeLoop', { ringSize: 64 * 1024 }), { uri: `/?${64 << 20},65536` });
    h.req.pauseTransport();
    await until(shared, 0, (v) => v >= 64 * 1024);
    await reactor.stop();
    expect(Atomics.load(shared, 1)).toBe(1); // the app's finally ran on the worker before it was terminated
    await h.done;
    expect(h.req.aborted).toBe(true);
    expect(h.req.finished).toBe(false);
    expect(pool.stats.workers).toBe(0);
  });
});

describe('threadedIterApp: request bodies', () => {
  it('G11: read(n), readline() and read() block until the body arrives; 1 MiB through a 64 KiB input ring', async () => {
    const total = 1 << 20;
    const body = new Uint8Array(total);
    for (let i = 0; i < total; i++) body[i] = i % 251;
    body.set(new TextEncoder().encode('first line\nHELLO'), 0);
    const h = serve(app('upload'), {
      method: 'POST',
      headers: [
        ['Host', 'h'],
        ['Content-Length', String(total)],
      ],
    });
    for (let at = 0; at < total; at += 10_000) h.req.feedBody(body.subarray(at, at + 10_000));
    h.req.endBody();
    await h.done;
    const got = JSON.parse(h.req.bodyText());
    expect(got).toMatchObject({ length: total, firstLine: 'first line\n', five: 'HELLO', atEOF: true, again: 0 });
    expect(got.sum).toBe(body.reduce((a, b) => (a + b) % 65521, 0));
    expect(got.reads).toBeGreaterThan(total / 40_000 - 1);
  });

  it('G15: a worker that stops reading stops the upload: the host pauses the socket, nothing is lost', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const total = 1 << 20;
    const body = new Uint8Array(total).map((_, i) => (i * 13) % 256);
    const h = serve(app('gatedReader'), {
      method: 'POST',
      headers: [
        ['Host', 'h'],
        ['Content-Length', String(total)],
      ],
    });
    for (let at = 0; at < total; at += 16_384) h.req.feedBody(body.subarray(at, at + 16_384));
    h.req.endBody();
    await until(shared, 3, (v) => v === 1); // the app read one byte and now reads nothing
    // The reactor side took at most its input ring from the host; the host, holding the
    // rest past its high-water mark, has stopped reading the client.
    expect(h.req.bodyReadingPaused).toBe(true);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await h.done;
    expect(JSON.parse(h.req.bodyText())).toEqual({ length: total, sum: body.reduce((a, b) => (a + b) % 65521, 0) });
  });

  it('G11: 100 Continue goes out only when the worker app reads', async () => {
    const init = {
      method: 'POST',
      headers: [
        ['Host', 'h'],
        ['Content-Length', '3'],
        ['Expect', '100-continue'],
      ] as [string, string][],
    };
    const ignoring = serve(app('ignoresBody'), init);
    await ignoring.done;
    expect(ignoring.req.continueSent).toBe(false);
    const reading = serve(app('upload'), init);
    await turnsUntil(() => reading.req.continueSent); // the worker's first read() asked for the body
    expect(reading.req.bodyProtocol).not.toBeNull();
    reading.req.feedBody('a\nb');
    reading.req.endBody();
    await reading.done;
    expect(JSON.parse(reading.req.bodyText()).length).toBe(3);
  });
});

describe('threadedIterApp: the reactor stays responsive', () => {
  it('while a worker app busy-blocks, a callLater(0.05) fires and another request is answered', async () => {
    const two = new ThreadPool(reactor, { size: 2 });
    const shared = newShared();
    await Promise.all([
      two.deferToThread(appsUrl, 'share', shared.buffer),
      two.deferToThread(appsUrl, 'share', shared.buffer),
    ]);
    const blocked = serve(threadedIterApp(appsUrl, 'gated', { pool: two }));
    await until(shared, 3, (v) => v === 1); // the worker is inside the app, blocked on the gate
    const timer = new Promise<void>((resolve) => void reactor.callLater(0.05, resolve));
    const other = serve(threadedIterApp(appsUrl, 'hello', { pool: two }));
    await Promise.all([timer, other.done]);
    expect(other.req.bodyText()).toBe('hello world');
    expect(blocked.req.finished).toBe(false); // causal order: both happened while the worker was still blocked
    expect(Atomics.load(shared, 2)).toBe(0);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await blocked.done;
    expect(blocked.req.bodyText()).toBe('released');
  });
});

function plainEnviron(overrides: Record<string, unknown> = {}) {
  return {
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: '/',
    QUERY_STRING: '',
    CONTENT_TYPE: '',
    CONTENT_LENGTH: '',
    SERVER_NAME: 'x',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REMOTE_ADDR: '1.2.3.4',
    'wsgi.version': [1, 0] as [number, number],
    'wsgi.url_scheme': 'http' as const,
    'wsgi.input': {
      read: () => new Uint8Array(0),
      readline: () => new Uint8Array(0),
      readlines: () => [],
      atEOF: true,
      clientGone: false,
      [Symbol.iterator]: function* () {},
    },
    'wsgi.errors': { write() {}, writelines() {}, flush() {} },
    'wsgi.multithread': false,
    'wsgi.multiprocess': false,
    'wsgi.run_once': false,
    ...overrides,
  };
}

describe('threadedIterApp without wsgi.pause_output', () => {
  it("a host callback that throws (here its wsgi.errors) fails that request, never the reactor's process", async () => {
    const environ = plainEnviron({
      'wsgi.errors': {
        write() {
          throw new Error('sink broken');
        },
        writelines() {},
        flush() {},
      },
    });
    const result = app('environEcho')(environ, () => () => {}) as AsyncIterable<Chunk>;
    await expect(
      (async () => {
        for await (const _ of result) void _;
      })(),
    ).rejects.toThrow('sink broken');
    const next = serve(app('hello')); // the worker was freed
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
  });

  it("a host whose startResponse refuses what the worker accepted fails the request with the host's error", async () => {
    const result = app('hello')(plainEnviron(), () => {
      throw new Error('host says no');
    }) as AsyncIterable<Chunk>;
    await expect(
      (async () => {
        for await (const _ of result) void _;
      })(),
    ).rejects.toThrow('host says no');
  });

  it('is an async iterable that waits for the worker, fed by a synchronous wsgi.input', async () => {
    const body = new TextEncoder().encode('line one\nHELLO and the rest');
    let offset = 0;
    const environ = {
      REQUEST_METHOD: 'POST',
      SCRIPT_NAME: '',
      PATH_INFO: '/',
      QUERY_STRING: '',
      CONTENT_TYPE: '',
      CONTENT_LENGTH: String(body.length),
      SERVER_NAME: 'x',
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '1.2.3.4',
      'wsgi.version': [1, 0] as [number, number],
      'wsgi.url_scheme': 'http' as const,
      'wsgi.input': {
        read: (n = Infinity) => {
          const c = body.subarray(offset, offset + n);
          offset += c.length;
          return c;
        },
        readline: () => new Uint8Array(0),
        readlines: () => [],
        atEOF: false,
        clientGone: false,
        [Symbol.iterator]: function* () {},
      },
      'wsgi.errors': { write() {}, writelines() {}, flush() {} },
      'wsgi.multithread': false,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
    };
    let status = '';
    const result = app('upload')(environ, (s) => {
      status = s;
      return () => {};
    }) as AsyncIterable<Uint8Array | string>;
    expect(typeof result[Symbol.asyncIterator]).toBe('function');
    let text = '';
    for await (const c of result) text += typeof c === 'string' ? c : Buffer.from(c).toString();
    expect(status).toBe('200 OK');
    expect(JSON.parse(text)).toMatchObject({ length: body.length, firstLine: 'line one\n', five: 'HELLO' });
  });
});

describe('threadedIterApp: a host callback that throws as a finished response leaves the ring', () => {
  it('fails that request only: the reactor side stays armed and the next request on the worker completes', async () => {
    const shared = newShared();
    await pool.deferToThread(appsUrl, 'share', shared.buffer);
    const chunks: string[] = [];
    let throws = 0;
    let result: Iterator<Chunk> | null = null;
    const pull = () => {
      for (let r = result!.next(); !r.done && r.value !== ''; r = result!.next()) chunks.push(String(r.value));
    };
    const environ = plainEnviron({
      // Resumes pull until 'data: 1' is in; the one after it (the rest and the end are there, moved out of
      // the ring whole, or announced) throws.
      'wsgi.pause_output': () => () => {
        if (chunks.length > 0) {
          throws++;
          throw new Error('resume broke');
        }
        pull();
      },
    });
    // Loops linger (the first app on the pool sets it): only the reactor side's own wake-up can finish the next one.
    const iterable = app('events', { idleLinger: 3600 })(environ, () => () => {}) as Iterable<Chunk>;
    result = iterable[Symbol.iterator]();
    pull();
    await until(shared, 3, (v) => v === 1); // the worker app is past 'data: 1', blocked at its gate
    await turnsUntil(() => chunks.length === 1);
    const next = serve(app('hello')); // queued behind it on the pool's one worker
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await next.done;
    expect(next.req.bodyText()).toBe('hello world');
    expect(throws).toBe(1);
    expect(chunks).toEqual(['data: 1\n\n']);
    expect(() => result!.next()).toThrow('resume broke'); // the request that threw is failed, not cut silently
  });
});
