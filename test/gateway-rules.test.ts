/**
 * The gateway's state machine against a fake IRequest, rule by rule (shared
 * GATEWAY-RULES.md G1-G15). Deterministic: MemoryReactor's clock, no sockets.
 */
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { Logger, LogPublisher, type LogEvent } from '../src/reactor/log.js';
import { toCpsApp, PULLS_PER_TURN, SECONDS_PER_TURN, type GatewayOptions } from '../src/bridge/gateway.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import {
  BodyBeforeStartResponseError,
  ClientGoneError,
  ContentLengthMismatchError,
  HopByHopHeaderError,
  InvalidAppResultError,
  WriteBufferOverflowError,
} from '../src/bridge/errors.js';
import { FakeRequest, type FakeRequestInit } from './gateway-fakerequest.js';

function host(
  app: IterApp,
  init: FakeRequestInit = {},
  options: GatewayOptions = {},
  bind: { req?: FakeRequest } = {},
) {
  const reactor = new MemoryReactor();
  const publisher = new LogPublisher();
  const logs: LogEvent[] = [];
  publisher.addObserver((e) => void logs.push(e));
  const cps = toCpsApp(app, { reactor, logger: new Logger('test.gateway', publisher), ...options });
  const req = new FakeRequest(reactor, init);
  bind.req = req;
  void cps(req);
  return { req, reactor, stats: cps.gatewayStats, logs };
}

/** An iterable that records every next() and close(), yielding `chunks` (functions run at that step). */
function spy(chunks: Array<Chunk | (() => Chunk)>, opts: { withClose?: boolean } = {}) {
  const log = { pulls: 0, closes: 0, returns: 0 };
  let i = 0;
  const iterator: Iterator<Chunk> = {
    next() {
      log.pulls++;
      if (i >= chunks.length) return { done: true, value: undefined };
      const c = chunks[i++]!;
      return { done: false, value: typeof c === 'function' ? c() : c };
    },
    return() {
      log.returns++;
      return { done: true, value: undefined };
    },
  };
  const iterable: AppIterable = { [Symbol.iterator]: () => iterator };
  if (opts.withClose !== false) iterable.close = () => void log.closes++;
  return { iterable, log };
}

const ok = (sr: StartResponse, extra: [string, string][] = []) =>
  sr('200 OK', [['Content-Type', 'text/plain'], ...extra]);

describe('gateway rules (fake request)', () => {
  it('G1: a generator may call startResponse lazily in its first next()', () => {
    const { req } = host(function* (_e, sr) {
      ok(sr);
      yield 'hi';
    });
    expect(req.code).toBe(200);
    expect(req.bodyText()).toBe('hi');
    expect(req.finished).toBe(true);
  });

  it('G1: a body chunk before any startResponse gets a 500 and the iterable is closed', () => {
    const s = spy(['body']);
    const { req, logs } = host(() => s.iterable);
    expect(req.code).toBe(500);
    expect(req.finished).toBe(true);
    expect(s.log.closes).toBe(1);
    expect(logs.some((e) => e.failure?.value instanceof BodyBeforeStartResponseError)).toBe(true);
  });

  it('G2: excInfo before the headers went out replaces status and headers', () => {
    const { req } = host(function* (_e, sr) {
      ok(sr, [['X-First', '1']]);
      try {
        throw new Error('boom');
      } catch (err) {
        sr('503 Service Unavailable', [['Content-Type', 'text/plain']], err);
      }
      yield 'sorry';
    });
    expect(req.code).toBe(503);
    expect(req.responseHeaders.find(([n]) => n === 'X-First')).toBeUndefined();
    expect(req.bodyText()).toBe('sorry');
  });

  it('G2: excInfo after the headers went out rethrows that very error; the connection is aborted', () => {
    const boom = new Error('late');
    let rethrown: unknown;
    const { req } = host(function* (_e, sr) {
      ok(sr);
      yield 'part';
      try {
        sr('500 Oops', [], boom);
      } catch (err) {
        rethrown = err;
        throw err;
      }
    });
    expect(rethrown).toBe(boom);
    expect(req.aborted).toBe(true);
    expect(req.bodyText()).toBe('part');
  });

  it('G2: a second startResponse without excInfo throws, the app sees it', () => {
    let seen: unknown;
    host((_e, sr) => {
      ok(sr);
      try {
        ok(sr);
      } catch (err) {
        seen = err;
      }
      return [];
    });
    expect((seen as { code?: string }).code).toBe('ERR_GATEWAY_START_RESPONSE_TWICE');
  });

  it("G3: an app that calls startResponse, yields '' and pauses puts zero bytes out", () => {
    let resume!: () => void;
    const { req, reactor } = host(function* (e, sr) {
      ok(sr);
      resume = e['wsgi.pause_output']!();
      yield '';
      yield 'late';
    });
    reactor.advance(1);
    expect(req.startedWriting).toBe(false);
    expect(req.writes).toHaveLength(0);
    resume();
    reactor.advance(0);
    expect(req.bodyText()).toBe('late');
  });

  it('G3: x-wsgiorg.flush sends the headers at once, with no body byte', () => {
    let resume!: () => void;
    const { req } = host(function* (e, sr) {
      ok(sr);
      e['x-wsgiorg.flush']!();
      resume = e['wsgi.pause_output']!();
      yield '';
    });
    expect(req.startedWriting).toBe(true);
    expect(req.writes).toHaveLength(0);
    expect(req.responseHeaders).toContainEqual(['Content-Type', 'text/plain']);
    resume();
  });

  it("G4: '' between chunks never reaches the transport", () => {
    const { req } = host(function* (_e, sr) {
      ok(sr);
      yield '';
      yield 'a';
      yield '';
      yield new Uint8Array(0);
      yield 'b';
      yield '';
    });
    expect(req.writes.map((w) => w.length)).toEqual([1, 1]);
    expect(req.finished).toBe(true);
  });

  it('G5: no next() while the transport is paused; resumeProducing pulls again', () => {
    let n = 0;
    const ctx: { req?: FakeRequest } = {};
    const h = host(
      function* (_e, sr) {
        ctx.req!.highWater = 30; // the "socket buffer" fills every third 10-byte chunk
        ok(sr);
        for (;;) {
          n++;
          yield 'x'.repeat(10);
        }
      },
      {},
      {},
      ctx,
    );
    expect(n).toBe(3);
    h.reactor.advance(1);
    expect(n).toBe(3);
    expect(h.stats.pausedResponses).toBe(1);
    h.req.drain();
    expect(n).toBe(6);
    expect(h.req.writes).toHaveLength(6);
    h.req.loseClient();
    expect(h.stats.pausedResponses).toBe(0);
  });

  it('G5: a stalled client bounds the pulls of an infinite generator of fresh 64 KiB chunks', () => {
    const hwm = 1024 * 1024;
    const chunk = 64 * 1024;
    const ctx: { req?: FakeRequest } = {};
    const h = host(
      function* (_e, sr) {
        ctx.req!.highWater = hwm;
        ok(sr);
        for (;;) yield new Uint8Array(chunk);
      },
      {},
      {},
      ctx,
    );
    h.reactor.advance(10);
    h.reactor.advance(10);
    expect(h.stats.pulls).toBeLessThanOrEqual(hwm / chunk + 2);
    expect(h.req.writes.length).toBe(hwm / chunk);
    h.req.loseClient();
  });

  it('G6: a 10-byte event is on the transport before the app is asked for the next one', () => {
    const seenAtSecondPull: number[] = [];
    const ctx: { req?: FakeRequest } = {};
    const h = host(
      function* (e, sr) {
        ok(sr);
        yield 'data: 1\n\n\n'.slice(0, 10);
        seenAtSecondPull.push(ctx.req!.writes.length);
        const resume = e['wsgi.pause_output']!();
        void resume;
        yield '';
      },
      {},
      {},
      ctx,
    );
    // The first pull ran inside the app call; the second pull already saw the write.
    expect(h.req.writes[0]).toHaveLength(10);
    expect(seenAtSecondPull).toEqual([1]);
  });

  describe('G7: close() exactly once on every ending', () => {
    /** Each case: the chunks (functions run when pulled, with the context) and what the test does after the app call. */
    type Ctx = { h?: ReturnType<typeof host>; env?: Environ };
    const park = (ctx: Ctx): Chunk => {
      ctx.env!['wsgi.pause_output']!();
      return '';
    };
    const cases: Array<[string, (ctx: Ctx) => Array<Chunk | (() => Chunk)>, (ctx: Ctx) => void]> = [
      ['done', () => ['a', 'b'], () => {}],
      [
        'next() throws',
        () => [
          'a',
          () => {
            throw new Error('app bug');
          },
        ],
        () => {},
      ],
      ['client disconnects while the app is paused', (c) => ['a', () => park(c)], (c) => c.h!.req.loseClient()],
      ['client disconnects while the transport is paused', () => ['a', 'b'], (c) => c.h!.req.loseClient()],
      ['server shutdown (stopProducing)', (c) => ['a', () => park(c)], (c) => c.h!.req.producer!.stopProducing()],
      [
        'client disconnects during next()',
        (c) => [
          'a',
          () => {
            c.h!.req.loseClient();
            return 'b';
          },
        ],
        () => {},
      ],
    ];
    for (const [name, chunks, act] of cases) {
      it(`G7: ${name}`, () => {
        const ctx: Ctx = {};
        // A leading '' with one pull per turn: the app call returns (binding ctx.h) before the rest is pulled.
        const s = spy(['', ...chunks(ctx)]);
        ctx.h = host(
          (e, sr) => {
            ctx.env = e;
            ok(sr);
            return s.iterable;
          },
          {},
          { pullsPerTurn: 1 },
        );
        if (name.includes('transport')) ctx.h.req.pauseTransport();
        ctx.h.reactor.advance(0);
        act(ctx);
        ctx.h.reactor.advance(1);
        ctx.h.req.loseClient();
        expect(s.log.closes).toBe(1);
        expect(s.log.returns).toBe(0);
        expect(ctx.h.stats.activeResponses).toBe(0);
      });
    }

    it('G7: header validation fails inside the app', () => {
      const s = spy([]);
      const h = host((_e, sr) => {
        sr('200 OK', [['Connection', 'close']]);
        return s.iterable;
      });
      expect(h.req.code).toBe(500);
      // The app threw before returning its iterable: nothing to close.
      expect(s.log.closes).toBe(0);
      const s2 = spy([
        () => {
          sr2('200 OK', [['Transfer-Encoding', 'chunked']]);
          return 'x';
        },
      ]);
      let sr2!: StartResponse;
      const h2 = host((_e, sr) => {
        sr2 = sr;
        return s2.iterable;
      });
      expect(h2.req.code).toBe(500);
      expect(s2.log.closes).toBe(1);
    });

    it('G7: a server that throws from finish() still gets the iterable closed once, and the error logged', () => {
      const s = spy(['a']);
      const ctx: { req?: FakeRequest } = {};
      const h = host(
        (_e, sr) => {
          ctx.req!.finishThrows = true;
          ok(sr);
          return s.iterable;
        },
        {},
        {},
        ctx,
      );
      expect(s.log.closes).toBe(1);
      expect(h.stats.activeResponses).toBe(0);
      expect(h.logs.some((e) => e.message === 'ending the response failed')).toBe(true);
    });

    it('G7: Content-Length reached stops the iteration and closes', () => {
      const s = spy(['hello', 'world', 'never']);
      const h = host((_e, sr) => {
        ok(sr, [['Content-Length', '10']]);
        return s.iterable;
      });
      expect(h.req.bodyText()).toBe('helloworld');
      expect(s.log.pulls).toBe(2);
      expect(s.log.closes).toBe(1);
    });

    it('G7: an iterator without close() gets return() once, an async one too', async () => {
      const s = spy(['a', ''], { withClose: false });
      const h = host((_e, sr) => {
        ok(sr);
        return s.iterable;
      });
      h.req.loseClient();
      expect(s.log.returns).toBe(1);
      const asyncLog = { returns: 0 };
      const pending: AsyncIterable<Chunk> = {
        [Symbol.asyncIterator]: () => ({
          next: () => new Promise<IteratorResult<Chunk>>(() => {}), // never settles: the client leaves meanwhile
          return: async () => {
            asyncLog.returns++;
            return { done: true, value: undefined };
          },
        }),
      };
      const h2 = host((_e, sr) => (ok(sr), pending));
      h2.req.loseClient();
      expect(asyncLog.returns).toBe(1);
      expect(h2.stats.activeResponses).toBe(0);
      expect(h2.stats.pulls).toBe(1); // one outstanding next() at a time
    });
  });

  it('G8: bytes past Content-Length are cut', () => {
    const { req } = host(function* (_e, sr) {
      ok(sr, [['Content-Length', '3']]);
      yield 'abcdef';
    });
    expect(req.bodyText()).toBe('abc');
    expect(req.finished).toBe(true);
  });

  it('G8: too few bytes close the connection and log', () => {
    const { req, logs } = host(function* (_e, sr) {
      ok(sr, [['Content-Length', '10']]);
      yield 'abc';
    });
    expect(req.aborted).toBe(true);
    expect(req.finished).toBe(false);
    expect(logs.some((e) => e.failure?.value instanceof ContentLengthMismatchError)).toBe(true);
  });

  it('G8: HEAD and 304 may declare a Content-Length with no body', () => {
    const { req } = host((_e, sr) => (ok(sr, [['Content-Length', '10']]), []), { method: 'HEAD' });
    expect(req.finished).toBe(true);
    expect(req.aborted).toBe(false);
  });

  it('G9: a hop-by-hop header in startResponse throws; uncaught it is a 500', () => {
    let seen: unknown;
    const { req } = host((_e, sr) => {
      try {
        sr('200 OK', [['Keep-Alive', 'timeout=5']]);
      } catch (err) {
        seen = err;
        throw err;
      }
      return [];
    });
    expect(seen).toBeInstanceOf(HopByHopHeaderError);
    expect(req.code).toBe(500);
  });

  it('G10: a header value with CRLF cannot inject a header; the client gets a 500', () => {
    const { req } = host((_e, sr) => {
      sr('200 OK', [['X-Evil', 'a\r\nSet-Cookie: pwned=1']]);
      return ['x'];
    });
    expect(req.code).toBe(500);
    expect(req.responseHeaders.some(([n, v]) => /set-cookie/i.test(n) || v.includes('pwned'))).toBe(false);
  });

  it('G12: write() output goes before the iterable items', () => {
    const { req } = host((_e, sr) => {
      const write = ok(sr);
      write('first,');
      write('second,');
      return ['third'];
    });
    expect(req.bodyText()).toBe('first,second,third');
  });

  it('G12: write() past writeBufferLimit while the client is not reading throws a typed error naming the fixes', () => {
    let caught: unknown;
    const ctx: { req?: FakeRequest } = {};
    const { stats } = host(
      (_e, sr) => {
        const write = ok(sr);
        write('a');
        ctx.req!.pauseTransport();
        try {
          for (let i = 0; i < 100; i++) write('x'.repeat(100));
        } catch (err) {
          caught = err;
        }
        return [];
      },
      {},
      { writeBufferLimit: 1000 },
      ctx,
    );
    expect(caught).toBeInstanceOf(WriteBufferOverflowError);
    expect(String((caught as Error).message)).toMatch(/threadedIterApp/);
    // Bounded: what was accepted stays at the limit until the transport drains.
    expect(stats.writeBuffered).toBe(1000);
    ctx.req!.resumeTransport();
    expect(stats.writeBuffered).toBe(0);
    expect(ctx.req!.finished).toBe(true);
  });

  it('G14: write() after the client went away throws ClientGoneError (the stated policy)', () => {
    let write!: (c: Chunk) => void;
    const { req } = host(function* (e, sr) {
      write = ok(sr);
      e['wsgi.pause_output']!();
      yield '';
    });
    req.loseClient();
    expect(() => write('x')).toThrow(ClientGoneError);
  });

  it('app errors: before headers a 500 (logged), after headers an abort', () => {
    const a = host(() => {
      throw new Error('early');
    });
    expect(a.req.code).toBe(500);
    expect(a.req.bodyText()).toMatch(/Internal Server Error/);
    expect(a.logs.some((e) => e.level === 'error' && (e.failure?.value as Error).message === 'early')).toBe(true);
    const b = host(function* (_e, sr) {
      ok(sr);
      yield 'x';
      throw new Error('late');
    });
    expect(b.req.aborted).toBe(true);
    expect(b.stats.appErrors).toBe(1);
  });

  it('a bare string returned by the app is an error, not one chunk per character', () => {
    const { req, logs } = host(((_e: Environ, sr: StartResponse) => {
      ok(sr);
      return 'hello';
    }) as unknown as IterApp);
    expect(req.code).toBe(500);
    expect(logs.some((e) => e.failure?.value instanceof InvalidAppResultError)).toBe(true);
  });

  it('an app that returns undefined or null gets one 500 and one logged error, with no spurious "close() failed"', () => {
    for (const returned of [undefined, null]) {
      const { req, logs } = host(((_e: Environ, sr: StartResponse) => {
        ok(sr);
        return returned;
      }) as unknown as IterApp);
      expect(req.code).toBe(500);
      const errors = logs.filter((e) => e.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.failure?.value).toBeInstanceOf(InvalidAppResultError);
      expect(errors[0]!.message).not.toMatch(/close\(\) failed/);
    }
  });

  it('a fast app yields to the reactor after PULLS_PER_TURN pulls (no starvation)', () => {
    let n = 0;
    const { reactor, req } = host(function* (_e, sr) {
      ok(sr);
      for (;;) {
        n++;
        yield 'x';
      }
    });
    expect(n).toBe(PULLS_PER_TURN);
    expect(reactor.getDelayedCalls()).toHaveLength(1);
    req.loseClient();
    expect(reactor.getDelayedCalls()).toHaveLength(0);
  });

  /** A gateway reactor whose clock the app moves itself (3 ms per chunk); delayed calls run on `reactor`. */
  function slowApp(chunks: number) {
    const reactor = new MemoryReactor();
    let now = 0;
    const clock = Object.assign(Object.create(reactor) as MemoryReactor, { seconds: () => now });
    const counted = { n: 0 };
    const app: IterApp = function* (_e, sr) {
      ok(sr);
      for (let i = 0; i < chunks; i++) {
        counted.n++;
        now += 0.003; // each chunk takes 3 ms to make
        yield 'x';
      }
    };
    return { reactor, clock, app, counted };
  }

  it('an app whose chunks are slow yields after SECONDS_PER_TURN of the clock, long before PULLS_PER_TURN chunks', () => {
    const { reactor, clock, app, counted } = slowApp(Infinity);
    const { req } = host(app, {}, { reactor: clock });
    expect(SECONDS_PER_TURN).toBe(0.01);
    // The clock is read after pulls 2 (the budget starts: 6 ms), 4 (12 ms) and 8 (24 ms: 18 ms >= 10 ms).
    expect(counted.n).toBe(8);
    expect(reactor.getDelayedCalls()).toHaveLength(1);
    req.loseClient();
    expect(reactor.getDelayedCalls()).toHaveLength(0);
  });

  it('a slow app still sends everything, a turn at a time', () => {
    const { reactor, clock, app, counted } = slowApp(12);
    const { req } = host(app, {}, { reactor: clock });
    expect(counted.n).toBe(8);
    reactor.advance(0); // the next turn
    expect(counted.n).toBe(12);
    expect(req.finished).toBe(true);
    expect(req.bodyText()).toBe('x'.repeat(12));
  });

  it('a response of one chunk (a hello) never reads the clock for the budget', () => {
    const reactor = new MemoryReactor();
    let reads = 0;
    const clock = Object.assign(Object.create(reactor) as MemoryReactor, { seconds: () => (reads++, 0) });
    const { req } = host(
      (_e, sr) => {
        ok(sr);
        return ['hello'];
      },
      {},
      { reactor: clock },
    );
    expect(req.bodyText()).toBe('hello');
    expect(reads).toBe(0);
  });

  it('a response that ends in its first run (a hello) makes no notifyFinish() Deferred; one that goes on watches it once', () => {
    const spyFinish = vi.spyOn(FakeRequest.prototype, 'notifyFinish');
    try {
      const hello = host((_e, sr) => (ok(sr), ['hello']));
      expect(hello.req.bodyText()).toBe('hello');
      expect(spyFinish).toHaveBeenCalledTimes(0);
      const parked = host((e, sr) => {
        ok(sr);
        e['wsgi.pause_output']!();
        return ['', 'late'];
      });
      expect(spyFinish).toHaveBeenCalledTimes(1);
      parked.req.loseClient(); // the watched Deferred ends it
      expect(parked.stats.activeResponses).toBe(0);
    } finally {
      spyFinish.mockRestore();
    }
  });

  it('the server ends the request while the first run pulls (before notifyFinish is watched): no more pulls, no write, closed once (G7, G14)', () => {
    const bind: { req?: FakeRequest } = {};
    const s = spy([
      () => {
        bind.req!.finish(); // as the server answering 413 in the app's place would
        return 'a';
      },
      'b',
    ]);
    const { req, stats, logs } = host(
      (_e, sr) => {
        ok(sr);
        return s.iterable;
      },
      {},
      {},
      bind,
    );
    expect(s.log.pulls).toBe(1);
    expect(s.log.closes).toBe(1);
    expect(req.writes).toHaveLength(0);
    expect(stats.activeResponses).toBe(0);
    expect(logs.filter((e) => e.level === 'error')).toEqual([]);
  });

  it('secondsPerTurn sets the budget: with 1 s the same app runs 384 chunks in one turn (the clock read every 64 pulls past 64)', () => {
    const { reactor, clock, app, counted } = slowApp(Infinity);
    const { req } = host(app, {}, { reactor: clock, secondsPerTurn: 1 });
    expect(counted.n).toBe(384); // (384 - 2) x 3 ms = 1.146 s: the first reading (every 64th) at or past 1 s
    expect(reactor.getDelayedCalls()).toHaveLength(1);
    req.loseClient();
  });

  it('a fast async generator also yields to the reactor after PULLS_PER_TURN pulls (microtasks do not starve I/O)', async () => {
    let n = 0;
    const { reactor, req } = host(async function* (_e, sr) {
      ok(sr);
      for (;;) {
        n++;
        yield 'x';
      }
    });
    // Each pull takes a few microtask hops: run them until the gateway schedules its next turn (bounded).
    for (let i = 0; i < 8 * PULLS_PER_TURN && reactor.getDelayedCalls().length === 0; i++) await Promise.resolve();
    expect(n).toBe(PULLS_PER_TURN);
    expect(reactor.getDelayedCalls()).toHaveLength(1);
    for (let i = 0; i < 8 * PULLS_PER_TURN; i++) await Promise.resolve();
    expect(n).toBe(PULLS_PER_TURN); // nothing more until the reactor runs the next turn
    reactor.advance(0);
    for (let i = 0; i < 500; i++) await Promise.resolve();
    expect(n).toBeGreaterThan(PULLS_PER_TURN);
    req.loseClient();
  });

  describe('G13: pause_output', () => {
    it('G13: no next() until resume(); resume() never re-enters the app synchronously', () => {
      let resume!: () => void;
      let pulls = 0;
      const { reactor, req } = host(function* (e, sr) {
        ok(sr);
        for (;;) {
          pulls++;
          resume = e['wsgi.pause_output']!();
          yield '';
        }
      });
      expect(pulls).toBe(1);
      reactor.advance(5);
      expect(pulls).toBe(1);
      resume();
      expect(pulls).toBe(1); // scheduled, not run on the caller's stack
      reactor.advance(0);
      expect(pulls).toBe(2);
      req.loseClient();
    });

    it('G13: resume() before the empty yield and twice in a row is harmless', () => {
      const { req } = host(function* (e, sr) {
        ok(sr);
        const resume = e['wsgi.pause_output']!();
        resume();
        resume();
        yield '';
        yield 'done';
      });
      // Resumed before the '' yield: the app is not paused, the pull goes on.
      expect(req.bodyText()).toBe('done');
      expect(req.finished).toBe(true);
      expect((req.reactor as MemoryReactor).getDelayedCalls()).toHaveLength(0);
    });

    it('G13: fuzzed orderings of pause, resume, transport pause and yields never pull while paused', () => {
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom('pauseApp', 'resumeApp', 'resumeTwice', 'pauseTp', 'resumeTp', 'tick'), {
            maxLength: 40,
          }),
          (ops) => {
            const state = { appPaused: false, tpPaused: false, violations: 0, resumes: [] as Array<() => void> };
            let env!: Environ;
            const h = host(function* (e, sr) {
              env = e;
              ok(sr);
              for (;;) {
                if (state.appPaused || state.tpPaused) state.violations++;
                state.resumes.push(env['wsgi.pause_output']!());
                state.appPaused = true;
                yield '';
              }
            });
            for (const op of ops) {
              if (op === 'pauseTp') {
                state.tpPaused = true;
                h.req.pauseTransport();
              } else if (op === 'resumeTp') {
                state.tpPaused = false;
                h.req.resumeTransport();
              } else if (op === 'resumeApp' || op === 'resumeTwice') {
                const r = state.resumes.pop();
                if (r) {
                  state.appPaused = false;
                  r();
                  if (op === 'resumeTwice') r();
                }
              } else h.reactor.advance(0);
            }
            h.req.loseClient();
            expect(state.violations).toBe(0);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
