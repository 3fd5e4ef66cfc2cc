import { describe, expect, it, afterAll } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { ByteRing, RING_MAX_CAPACITY } from '../src/reactor/ring.js';
import { InvalidArgumentError, RingAborted, RingClosed } from '../src/reactor/errors.js';
import { ThreadPool } from '../src/reactor/threadpool.js';
import { patternByte } from './fixtures/threads/ringjobs.js';

const jobs = pathToFileURL(new URL('./fixtures/threads/ringjobs.ts', import.meta.url).pathname).href;
const pool = new ThreadPool(null, { size: 2 });
afterAll(() => pool.stop());

const bytes = (...xs: number[]) => new Uint8Array(xs);

/** Wait (without blocking this thread) until `flag[i]` differs from `value`. */
async function waitChange(flag: Int32Array, i: number, value: number): Promise<void> {
  while (Atomics.load(flag, i) === value) {
    const r = (
      Atomics as unknown as {
        waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> };
      }
    ).waitAsync(flag, i, value);
    if (r.async) await r.value;
  }
}

describe('ByteRing on one thread', () => {
  it('hands bytes through in order across the wrap-around, at any split (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 80 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 }),
        (capacity, writes, readSizes) => {
          const ring = ByteRing.create(capacity);
          const want = Buffer.concat(writes);
          const got: Uint8Array[] = [];
          let r = 0;
          for (const w of writes) {
            let off = 0;
            while (off < w.length) {
              off += ring.tryWrite(w, off);
              expect(ring.available()).toBeLessThanOrEqual(capacity);
              const chunk = ring.tryRead(readSizes[r++ % readSizes.length]);
              if (chunk) got.push(chunk);
            }
          }
          ring.close();
          for (let c = ring.tryRead(); c; c = ring.tryRead()) got.push(c);
          expect(Buffer.concat(got)).toEqual(want);
          expect(ring.readBlocking()).toHaveLength(0); // closed and drained: the end, without waiting
        },
      ),
    );
  });

  it('a consumer that never reads cannot make it hold more than its capacity', () => {
    const ring = ByteRing.create(10);
    expect(ring.tryWrite(new Uint8Array(7))).toBe(7);
    expect(ring.tryWrite(new Uint8Array(7))).toBe(3);
    expect(ring.tryWrite(new Uint8Array(7))).toBe(0);
    expect(ring.available()).toBe(10);
    expect(ring.space()).toBe(0);
  });

  it('after close() the consumer drains what is left, then reads the end; writing throws RingClosed', () => {
    const ring = ByteRing.create(8);
    ring.tryWrite(bytes(1, 2, 3));
    ring.close();
    expect(ring.closed).toBe(true);
    expect(() => ring.tryWrite(bytes(4))).toThrow(RingClosed);
    expect(ring.readBlocking(2)).toEqual(bytes(1, 2));
    expect(ring.readBlocking()).toEqual(bytes(3));
    expect(ring.readBlocking()).toEqual(new Uint8Array(0));
  });

  it('after abort() both sides throw RingAborted, even with data left', () => {
    const ring = ByteRing.create(8);
    ring.tryWrite(bytes(1));
    ring.abort();
    expect(ring.aborted).toBe(true);
    expect(() => ring.tryRead()).toThrow(RingAborted);
    expect(() => ring.tryWrite(bytes(1))).toThrow(RingAborted);
    expect(() => ring.readBlocking()).toThrow(RingAborted);
  });

  it('whenReadable is null with data, and resolves once data is written', async () => {
    const ring = ByteRing.create(8);
    const wait = ring.whenReadable();
    expect(wait).toBeInstanceOf(Promise);
    ring.tryWrite(bytes(9));
    await wait;
    expect(ring.whenReadable()).toBeNull();
    expect(ring.tryRead()).toEqual(bytes(9));
  });

  it('whenWritable resolves once the consumer frees space, and on abort', async () => {
    const ring = ByteRing.create(2);
    ring.tryWrite(bytes(1, 2));
    const wait = ring.whenWritable();
    expect(wait).toBeInstanceOf(Promise);
    ring.tryRead(1);
    await wait;
    ring.tryWrite(bytes(3));
    const wait2 = ring.whenWritable();
    ring.abort();
    await wait2;
    expect(ring.whenWritable()).toBeNull();
  });

  it('an attached view shares the same bytes and flags', () => {
    const a = ByteRing.create(4);
    const b = ByteRing.attach(a.buffer);
    expect(b.capacity).toBe(4);
    a.tryWrite(bytes(5, 6));
    expect(b.tryRead()).toEqual(bytes(5, 6));
    b.abort();
    expect(a.aborted).toBe(true);
  });

  it('rejects capacities outside 1 .. RING_MAX_CAPACITY with InvalidArgumentError', () => {
    expect(() => ByteRing.create(0)).toThrow(InvalidArgumentError);
    expect(() => ByteRing.create(1.5)).toThrow(InvalidArgumentError);
    expect(() => ByteRing.create(RING_MAX_CAPACITY + 1)).toThrow(/ByteRing capacity/);
  });
});

describe('ByteRing across threads', () => {
  it('a worker streams 1 MiB through a 4 KiB ring with blocking writes; the reactor side reads it byte-exact without blocking', async () => {
    const ring = ByteRing.create(4096);
    const total = 1 << 20;
    const done = pool.deferToThread<string>(jobs, 'produce', ring.buffer, total, 1500);
    const hash = createHash('sha256');
    let length = 0;
    for (;;) {
      const chunk = ring.tryRead();
      if (chunk) {
        length += chunk.length;
        hash.update(chunk);
        continue;
      }
      if (ring.closed && ring.available() === 0) break;
      await ring.whenReadable();
    }
    expect(length).toBe(total);
    expect(hash.digest('hex')).toBe(await done);
  });

  it('a worker reads with blocking reads what the reactor side writes without blocking', async () => {
    const ring = ByteRing.create(1000);
    const total = 300_000;
    const result = pool.deferToThread<{ sha256: string; length: number }>(jobs, 'consume', ring.buffer, 777);
    const src = new Uint8Array(total).map((_, i) => patternByte(i));
    let off = 0;
    while (off < total) {
      off += ring.tryWrite(src, off);
      if (off < total) await ring.whenWritable();
    }
    ring.close();
    const got = await result;
    expect(got.length).toBe(total);
    expect(got.sha256).toBe(createHash('sha256').update(src).digest('hex'));
  });

  it('a worker blocked on a full ring is woken by abort() and its write throws RingAborted', async () => {
    const ring = ByteRing.create(4096);
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const outcome = pool.deferToThread<string>(jobs, 'writeUntilAborted', ring.buffer, progress);
    // The worker fills the ring with four 1 KiB writes and blocks in the fifth.
    while (Atomics.load(progress, 0) < 4096) await waitChange(progress, 0, Atomics.load(progress, 0));
    expect(ring.available()).toBe(4096);
    ring.abort();
    expect(await outcome).toBe('RingAborted ERR_RING_ABORTED');
    expect(Atomics.load(progress, 0)).toBe(4096); // the blocked write never completed
  });
});
