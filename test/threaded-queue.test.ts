/**
 * threadedIterApp's shared memory: the job queue the workers pull from, the
 * per-worker output rings (records), and the compact environ encoding. The
 * ring and codec cases run on one thread; the bounds are checked end to end
 * with a worker that is held (a stalled peer) while requests keep coming.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { threadedIterApp, THREAD_JOB_QUEUE_SIZE, THREAD_RING_SIZE } from '../src/bridge/threaded.js';
import { Dispatcher, type ThreadedJob } from '../src/bridge/threadeddispatch.js';
import { JobTable } from '../src/bridge/threadedjobs.js';
import { WAKE_CHECK } from '../src/bridge/threadedwake.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { ThreadPool } from '../src/reactor/threadpool.js';
import { RecordRing, RECORD_HEADER } from '../src/bridge/threadedring.js';
import {
  decodeJob,
  JobEncoder,
  REC_BODY,
  REC_END,
  REC_START,
  Scratch,
  StartDecoder,
  startPairs,
  encodeStart,
  StringTableReader,
  StringTableWriter,
  WHOLE_MAX,
} from '../src/bridge/threadedcodec.js';
import type { Environ, IterApp } from '../src/bridge/interfaces.js';
import type { FakeRequestInit } from './gateway-fakerequest.js';
import {
  appsUrl,
  newShared,
  patternSha256,
  sha256,
  turnsUntil,
  until,
  withPoolHost,
  type Hosted,
} from './threaded-helpers.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('RecordRing (one thread)', () => {
  it('records wrap around the end byte-exact, and a full ring refuses a record instead of growing', () => {
    const ring = RecordRing.create(100);
    const consumer = RecordRing.attach(ring.buffer);
    let next = 0;
    for (let round = 0; round < 50; round++) {
      const payload = new Uint8Array(7 + (round % 30)).map((_, i) => (round * 31 + i) & 0xff);
      expect(ring.tryPut(REC_BODY, round + 1, payload)).toBe(true);
      // The consumer is stalled: whatever more comes, the ring holds at most its capacity.
      while (ring.tryPut(REC_BODY, 999, payload)) next++;
      expect(ring.used()).toBeLessThanOrEqual(ring.capacity);
      const h = consumer.peek()!;
      expect([h.type, h.job, h.length]).toEqual([REC_BODY, round + 1, payload.length]);
      expect([...consumer.take()]).toEqual([...payload]);
      while (consumer.peek()) consumer.skip();
    }
    expect(next).toBeGreaterThan(0);
  });

  it('a record larger than the room left under a limit is refused; room() says how much fits', () => {
    const ring = RecordRing.create(1000);
    expect(ring.room(104)).toBe(104 - RECORD_HEADER);
    expect(ring.tryPut(REC_BODY, 1, new Uint8Array(104 - RECORD_HEADER + 1), 104)).toBe(false);
    expect(ring.tryPut(REC_BODY, 1, new Uint8Array(104 - RECORD_HEADER), 104)).toBe(true);
    expect(ring.room(104)).toBe(0);
    // Payloads start 8-byte aligned (records are padded), so room() counts whole 8-byte units.
    expect(RecordRing.create(1000).room(100)).toBe((100 - RECORD_HEADER) & ~7);
  });

  it('holds() finds a job’s end among its records (contiguous), resuming where it stopped', () => {
    const ring = RecordRing.create(4096);
    ring.tryPut(REC_START, 7, bytes('s'));
    for (let i = 0; i < 20; i++) ring.tryPut(REC_BODY, 7, bytes(`b${i}`));
    expect(ring.holds(7, REC_END)).toBe(false);
    ring.tryPut(REC_END, 7, new Uint8Array(1));
    ring.tryPut(REC_START, 8, bytes('s'));
    expect(ring.holds(7, REC_END)).toBe(true);
    expect(ring.holds(8, REC_END)).toBe(false); // 7's records come first: 8 is not at the head
  });

  it('takeRun() joins the body records already there for one job, up to its max, and stops at another job', () => {
    const ring = RecordRing.create(4096);
    for (const part of ['ab', 'cd', 'ef']) ring.tryPut(REC_BODY, 3, bytes(part));
    ring.tryPut(REC_END, 3, new Uint8Array(1));
    ring.tryPut(REC_BODY, 4, bytes('zz'));
    const text = (b: Uint8Array) => Buffer.from(b).toString();
    ring.peek();
    expect(text(ring.takeRun(4))).toBe('abcd'); // 'ef' would pass the max
    ring.peek();
    expect(text(ring.takeRun(100))).toBe('ef'); // the END record is not body
    expect(ring.peek()).toMatchObject({ type: REC_END, job: 3 });
    ring.skip();
    ring.peek();
    expect(text(ring.takeRun(100))).toBe('zz');
    expect(ring.peek()).toBeNull();
  });

  it('claim(): consumers take each record once, in order, with its payload', () => {
    const ring = RecordRing.create(256);
    const a = RecordRing.attach(ring.buffer);
    const b = RecordRing.attach(ring.buffer);
    const into = { buf: Buffer.alloc(4) };
    const seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      ring.tryPut(REC_BODY, i, bytes(`job ${i}`));
      const h = (i % 2 ? a : b).claim(into)!;
      seen.push(`${h.job}:${into.buf.subarray(0, h.length).toString()}`);
    }
    expect(a.claim(into)).toBeNull();
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => `${i}:job ${i}`));
  });
});

describe('JobTable (requests in flight by id, no hash table)', () => {
  const job = (n: number) => ({ cancelSlot: n }) as unknown as ThreadedJob;
  it('ids are never 0, name their slot, and a stale id of an earlier request on a reused slot finds nothing', () => {
    const t = new JobTable(2);
    const a = t.reserve();
    const idA = t.add(a, t.peekId(a), job(1));
    expect(idA).not.toBe(0);
    expect(idA & 0xffff).toBe(a);
    expect(t.get(idA)).toEqual(job(1));
    expect(t.delete(idA)).toBe(true);
    expect(t.delete(idA)).toBe(false);
    const b = t.reserve();
    expect(b).toBe(a); // the slot is reused at once
    const idB = t.add(b, t.peekId(b), job(2));
    expect(idB).not.toBe(idA);
    expect(t.get(idA)).toBeUndefined(); // a record left from the first request is not the second's
    expect(t.get(idB)).toEqual(job(2));
    expect(t.size).toBe(1);
    expect(t.entries()).toEqual([[idB, job(2)]]);
  });

  it('a slot used more times than its count holds still gives ids that are positive and not 0', () => {
    const t = new JobTable(1);
    const seen = new Set<number>();
    for (let i = 0; i < 0x7fff + 3; i++) {
      const slot = t.reserve();
      t.add(slot, t.peekId(slot), job(i));
      const id = t.entries()[0]![0];
      expect(t.get(id)).toEqual(job(i));
      expect(id).toBeGreaterThan(0);
      if (i < 0x7fff) expect(seen.has(id)).toBe(false);
      seen.add(id);
      t.delete(id);
    }
  });
});

describe('job encoding (compact environ, no structured clone)', () => {
  const value = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.constantFrom('GET', '/', 'HTTP/1.1', ''),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }),
    fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }).map((a) => Object.freeze(a)),
  );
  it('decodes to the plain entries it was given, whatever the strings, across repeated requests (string table)', () => {
    const writer = new StringTableWriter();
    const reader = new StringTableReader(writer.buffer);
    const encoder = new JobEncoder(writer);
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: 'binary', minLength: 1 }), value),
        fc.integer({ min: 1, max: 3 }),
        (env, times) => {
          const environ = { ...env, 'wsgi.input': { read() {} }, 'spindle.reactor': {} } as unknown as Environ;
          for (let i = 0; i < times; i++) {
            const record = encoder.encode(5, 2, 4096, 'file:///app.mjs', 'apps.hello', environ);
            const job = decodeJob(Buffer.from(record), record.length, reader);
            expect(job).toMatchObject({
              cancelSlot: 5,
              flags: 2,
              ringLimit: 4096,
              appUrl: 'file:///app.mjs',
              exportName: 'apps.hello',
            });
            expect(job.environ).toEqual(env);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a frozen list (the gateway's shared wsgi.version) is sent as JSON once; the worker shares one frozen array for it, as the host did", () => {
    const writer = new StringTableWriter();
    const reader = new StringTableReader(writer.buffer);
    const encoder = new JobEncoder(writer);
    const version = Object.freeze([1, 0]);
    const environ = { 'wsgi.version': version, PATH_INFO: '/a' } as unknown as Environ;
    const one = encoder.encode(1, 0, 4096, 'file:///app.mjs', 'hello', environ);
    const first = decodeJob(Buffer.from(one), one.length, reader).environ;
    const two = encoder.encode(1, 0, 4096, 'file:///app.mjs', 'hello', environ);
    const second = decodeJob(Buffer.from(two), two.length, reader).environ;
    expect(first['wsgi.version']).toEqual([1, 0]);
    expect(Object.isFrozen(first['wsgi.version'])).toBe(true);
    expect(second['wsgi.version']).toBe(first['wsgi.version']);
    // A list that is not frozen may change between requests: each one gets its own copy.
    const open = [1, 0];
    const withOpen = { ...environ, 'wsgi.version': open } as unknown as Environ;
    const three = encoder.encode(1, 0, 4096, 'file:///app.mjs', 'hello', withOpen);
    expect(decodeJob(Buffer.from(three), three.length, reader).environ['wsgi.version']).toEqual([1, 0]);
    open[1] = 1;
    const four = encoder.encode(1, 0, 4096, 'file:///app.mjs', 'hello', withOpen);
    expect(decodeJob(Buffer.from(four), four.length, reader).environ['wsgi.version']).toEqual([1, 1]);
  });

  it('a start decoded twice is shared and cannot be changed; each startResponse gets its own pairs (the host may keep them)', () => {
    const s = new Scratch();
    encodeStart(s, '200 OK', [
      ['Content-Type', 'text/plain'],
      ['X-Caf\u00e9', 'ol\u00e9'],
    ]);
    const d = new StartDecoder();
    const one = d.decode(Buffer.from(s.view()), s.at);
    const two = d.decode(Buffer.from(s.view()), s.at);
    expect(two).toBe(one);
    expect(one).toEqual({
      status: '200 OK',
      code: 200,
      reason: 'OK',
      names: ['Content-Type', 'X-Caf\u00e9'],
      values: ['text/plain', 'ol\u00e9'],
      excInfo: undefined,
    });
    expect(() => (one.names as string[]).push('X-More')).toThrow(TypeError);
    const pairs = startPairs(one);
    expect(pairs).toEqual([
      ['Content-Type', 'text/plain'],
      ['X-Caf\u00e9', 'ol\u00e9'],
    ]);
    expect(startPairs(two)).not.toBe(pairs);
    expect(startPairs(two)[0]).not.toBe(pairs[0]);
    const other = new Scratch();
    encodeStart(other, '404 Not Found', []);
    expect(d.decode(Buffer.from(other.view()), other.at)).toMatchObject({ code: 404, reason: 'Not Found', names: [] });
    expect(one.names).toEqual(['Content-Type', 'X-Caf\u00e9']); // an earlier start is never changed by a later one
  });
});

describe('threadedIterApp: the shared job queue and per-worker rings', () => {
  const ctx = withPoolHost(1);
  const serve = (app: IterApp, init?: FakeRequestInit): Hosted => ctx.host.serve(app, init);

  it('a held worker cannot grow the job queue: past jobQueueSize bytes a request gets 503, the queued ones are served after', async () => {
    expect(THREAD_JOB_QUEUE_SIZE).toBe(1024 * 1024);
    const shared = newShared();
    await ctx.pool.deferToThread(appsUrl, 'share', shared.buffer);
    const opts = { pool: ctx.pool, jobQueueSize: 4096 };
    const busy = serve(threadedIterApp(appsUrl, 'gated', opts));
    await until(shared, 3, (v) => v === 1); // the worker took it and is held
    const pad: [string, string][] = [
      ['Host', 'h'],
      ['X-Pad', 'p'.repeat(1500)],
    ];
    const queued: Hosted[] = [];
    let shed: Hosted | null = null;
    for (let i = 0; i < 10 && !shed; i++) {
      const h = serve(threadedIterApp(appsUrl, 'hello', opts), { headers: pad });
      if (h.req.code === 503) shed = h;
      else queued.push(h);
    }
    expect(shed).not.toBeNull();
    expect(queued.length).toBe(2); // two 1.5 KiB environs fit in 4 KiB; the third does not (maxQueue is 1024)
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await busy.done;
    for (const h of queued) {
      await h.done;
      expect(h.req.bodyText()).toBe('hello world');
    }
  });

  it("a finished response whose client stalls does not hold up the next request on the same worker's ring", async () => {
    const total = 48 * 1024; // fits the 64 KiB ring whole
    const first = serve(threadedIterApp(appsUrl, 'writeLoop', { pool: ctx.pool, ringSize: 64 * 1024 }), {
      uri: `/?${total},4096`,
    });
    first.req.pauseTransport();
    const second = serve(threadedIterApp(appsUrl, 'hello', { pool: ctx.pool }));
    await second.done;
    expect(second.req.bodyText()).toBe('hello world');
    expect(first.req.finished).toBe(false);
    first.req.resumeTransport();
    await first.done;
    expect(sha256(first.req.writes)).toBe(patternSha256(total));
  });

  it('rejects sizes that are not positive integers at threadedIterApp(), naming the option', () => {
    expect(() => threadedIterApp(appsUrl, 'hello', { ringSize: 0 })).toThrow(/ringSize/);
    expect(() => threadedIterApp(appsUrl, 'hello', { jobQueueSize: 10 })).toThrow(/jobQueueSize/);
    expect(() => threadedIterApp(appsUrl, 'hello', { inputRingSize: 1.5 })).toThrow(/inputRingSize/);
    expect(() => threadedIterApp(appsUrl, 'hello', { idleLinger: -1 })).toThrow(/idleLinger/);
  });
});

describe('threadedIterApp: a returned list of small chunks in one record', () => {
  const ctx = withPoolHost(1);
  const serve = (app: IterApp, init?: FakeRequestInit): Hosted => ctx.host.serve(app, init);
  const records = () => Dispatcher.statsOf(ctx.pool)?.records ?? 0;

  it('a hello returned as a list reaches the reactor thread as one record: start, body and end', async () => {
    const app = threadedIterApp(appsUrl, 'hello', { pool: ctx.pool });
    for (let i = 0; i < 3; i++) {
      const before = records();
      const h = serve(app);
      await h.done;
      expect([h.req.code, h.req.bodyText(), h.req.finished]).toEqual([200, 'hello world', true]);
      expect(records() - before).toBe(1); // START, two BODY and END records before
    }
  });

  it(`a list past WHOLE_MAX (${WHOLE_MAX} bytes) goes as records from where it outgrew it, byte-exact`, async () => {
    const app = threadedIterApp(appsUrl, 'patternList', { pool: ctx.pool });
    for (const [total, chunk] of [
      [WHOLE_MAX - 200, 1000], // start and body fit: one record
      [WHOLE_MAX + 4000, 1000], // outgrows it midway
      [3 * WHOLE_MAX, 3 * WHOLE_MAX], // one chunk larger than it
    ] as const) {
      const before = records();
      const h = serve(app, { uri: `/?${total},${chunk}` });
      await h.done;
      expect(h.req.finished).toBe(true);
      expect(sha256(h.req.writes)).toBe(patternSha256(total));
      if (total < WHOLE_MAX) expect(records() - before).toBe(1);
    }
  });

  it("a list item that is not a chunk fails the response after its start and the chunks before it, as the app's error", async () => {
    const h = serve(threadedIterApp(appsUrl, 'listBadItem', { pool: ctx.pool }));
    await h.done;
    expect([h.req.code, h.req.bodyText(), h.req.aborted]).toEqual([200, 'partial', true]);
  });
});

/** The pool's dispatcher, made first with a clock the test moves for its looks at the queue (the host's reactor otherwise). */
function lookClock(pool: ThreadPool): MemoryReactor {
  const clock = new MemoryReactor();
  Dispatcher.of(pool, { ringSize: THREAD_RING_SIZE, jobQueueSize: THREAD_JOB_QUEUE_SIZE, idleLinger: 600, clock });
  return clock;
}

describe('threadedIterApp: the look at a waiting queue', () => {
  const ctx = withPoolHost(1);

  it('once the loops have taken every queued request, the look is cancelled (no timer left to wake the reactor thread for nothing)', async () => {
    const shared = newShared();
    await ctx.pool.deferToThread(appsUrl, 'share', shared.buffer);
    const clock = lookClock(ctx.pool); // a look still pending stays in its list
    const opts = { pool: ctx.pool, idleLinger: 600 };
    const blocked = ctx.host.serve(threadedIterApp(appsUrl, 'gated', opts));
    await until(shared, 3, (v) => v === 1); // the pool's one loop is held in its app
    const other = ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts));
    await turnsUntil(() => clock.getDelayedCalls().length === 1); // it waits behind the held loop: watched
    clock.advance(WAKE_CHECK); // a look: no loop to wake or start (one worker), so it watches on
    expect(clock.getDelayedCalls()).toHaveLength(1);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await Promise.all([blocked.done, other.done]);
    expect(other.req.bodyText()).toBe('hello world');
    expect(clock.getDelayedCalls()).toEqual([]); // the queue drained: the look was cancelled, not left to fire
  });
});

describe('threadedIterApp: waking the loops', () => {
  const ctx = withPoolHost(2);

  it('a request queued while one loop is blocked in its app wakes the sleeping loop (blocking apps get every worker)', async () => {
    const shared = newShared();
    await Promise.all([
      ctx.pool.deferToThread(appsUrl, 'share', shared.buffer),
      ctx.pool.deferToThread(appsUrl, 'share', shared.buffer),
    ]);
    const opts = { pool: ctx.pool, idleLinger: 600 }; // no loop ends idle during the test
    // Two loops start (two requests at once) and then both sleep, waiting for work.
    const warm = [
      ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts)),
      ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts)),
    ];
    await Promise.all(warm.map((h) => h.done));
    expect(ctx.pool.stats.busy).toBe(2);
    const blocked = ctx.host.serve(threadedIterApp(appsUrl, 'gated', opts));
    await until(shared, 3, (v) => v === 1); // one loop is inside the app, blocked on the gate
    const other = ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts));
    await other.done; // served by the other loop, woken for it, while the gate is still closed
    expect(other.req.bodyText()).toBe('hello world');
    expect(Atomics.load(shared, 2)).toBe(0);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await blocked.done;
    expect(blocked.req.bodyText()).toBe('released');
  });

  it('a request behind a loop held in its app wakes a sleeping loop only once the host clock says the queue did not drain for WAKE_CHECK', async () => {
    const shared = newShared();
    await Promise.all([
      ctx.pool.deferToThread(appsUrl, 'share', shared.buffer),
      ctx.pool.deferToThread(appsUrl, 'share', shared.buffer),
    ]);
    const clock = lookClock(ctx.pool);
    const opts = { pool: ctx.pool, idleLinger: 600 };
    const warm = [
      ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts)),
      ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts)),
    ];
    await Promise.all(warm.map((h) => h.done));
    expect(ctx.pool.stats.busy).toBe(2);
    await turnsUntil(() => Dispatcher.statsOf(ctx.pool)!.sleepingLoops === 2); // both loops asleep
    const blocked = ctx.host.serve(threadedIterApp(appsUrl, 'gated', opts));
    await until(shared, 3, (v) => v === 1); // one loop is inside the app, blocked on the gate
    const woken = Dispatcher.statsOf(ctx.pool)!.loopWakeups;
    const other = ctx.host.serve(threadedIterApp(appsUrl, 'hello', opts));
    await turnsUntil(() => clock.getDelayedCalls().length === 1); // the reactor side's next look
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    // A loop is awake (held in its app): nothing wakes the sleeping one until the look.
    expect(Dispatcher.statsOf(ctx.pool)!.loopWakeups).toBe(woken);
    expect(other.req.finished).toBe(false);
    clock.advance(WAKE_CHECK);
    await other.done; // the look saw no drain and woke the other loop, the gate still closed
    expect(other.req.bodyText()).toBe('hello world');
    expect(Dispatcher.statsOf(ctx.pool)!.loopWakeups).toBe(woken + 1);
    expect(Atomics.load(shared, 2)).toBe(0);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    await blocked.done;
    expect(blocked.req.bodyText()).toBe('released');
  });
});
