import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BridgeQueue, BRIDGE_HIGH_WATER, BRIDGE_LOW_WATER, BRIDGE_MAX_BUFFERED } from '../src/bridge/bridgequeue.js';
import { BridgeOverflowError } from '../src/bridge/errors.js';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('BridgeQueue: the bounded queue between a writer and a reader', () => {
  it('has named defaults: 64 KiB high water, 16 KiB low water, 4 MiB hard bound', () => {
    const q = new BridgeQueue();
    expect([q.highWater, q.lowWater, q.maxBuffered]).toEqual([
      BRIDGE_HIGH_WATER,
      BRIDGE_LOW_WATER,
      BRIDGE_MAX_BUFFERED,
    ]);
    expect([BRIDGE_HIGH_WATER, BRIDGE_LOW_WATER, BRIDGE_MAX_BUFFERED]).toEqual([65536, 16384, 4194304]);
  });

  it('pauses the writer once past the high-water mark and resumes it once at the low-water mark', () => {
    const log: string[] = [];
    const q = new BridgeQueue({
      highWater: 100,
      lowWater: 40,
      onHigh: () => log.push('high'),
      onLow: () => log.push('low'),
    });
    q.push(bytes(60));
    q.push(bytes(40));
    expect(log).toEqual([]); // exactly at the mark: not past it
    q.push(bytes(10));
    expect(log).toEqual(['high']);
    q.push(bytes(10));
    expect(log).toEqual(['high']); // once per crossing
    q.shift();
    expect(q.bytes).toBe(60);
    expect(log).toEqual(['high']);
    q.shift();
    expect(log).toEqual(['high', 'low']);
    expect(q.paused).toBe(false);
  });

  it('throws BridgeOverflowError past maxBuffered and keeps what it had', () => {
    const q = new BridgeQueue({ highWater: 10, maxBuffered: 100 });
    q.push(bytes(90));
    let caught: unknown;
    try {
      q.push(bytes(11));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BridgeOverflowError);
    expect((caught as BridgeOverflowError).code).toBe('ERR_BRIDGE_QUEUE_OVERFLOW');
    expect((caught as BridgeOverflowError).limit).toBe(100);
    expect(q.bytes).toBe(90);
    expect(q.length).toBe(1);
  });

  it('a writer that ignores the pause cannot grow it past the bound (a stalled reader)', () => {
    const q = new BridgeQueue({ maxBuffered: 1024 * 1024 });
    let pushed = 0;
    // Bounded at twice the limit: a queue that lost its bound fails here instead of eating the machine.
    expect(() => {
      while (pushed < 2 * 1024 * 1024) {
        q.push(bytes(4096));
        pushed += 4096;
      }
    }).toThrow(BridgeOverflowError);
    expect(pushed).toBe(1024 * 1024);
    expect(q.bytes).toBe(1024 * 1024);
  });

  it('ignores empty chunks: they are yield points, not data (G4)', () => {
    let readable = 0;
    const q = new BridgeQueue({ onReadable: () => readable++ });
    q.push(new Uint8Array(0));
    expect([q.length, readable]).toEqual([0, 0]);
  });

  it('end and fail reach the reader after the queued data; a write after the end throws', () => {
    const q = new BridgeQueue();
    q.push(bytes(3));
    q.end();
    expect(q.state).toBe('ended');
    expect(q.shift()).toEqual(bytes(3));
    expect(() => q.push(bytes(1))).toThrow(BridgeOverflowError);
    const f = new BridgeQueue();
    const boom = new Error('boom');
    f.fail(boom);
    f.end();
    expect([f.state, f.error]).toEqual(['failed', boom]);
  });

  it('after close() writes are dropped and no callback runs again', () => {
    const log: string[] = [];
    const q = new BridgeQueue({
      highWater: 10,
      lowWater: 5,
      onHigh: () => log.push('high'),
      onLow: () => log.push('low'),
      onReadable: () => log.push('readable'),
    });
    q.push(bytes(20));
    q.close();
    q.push(bytes(20));
    q.end();
    expect(q.shift()).toBeUndefined();
    expect([q.state, q.bytes]).toEqual(['closed', 0]);
    expect(log).toEqual(['high', 'readable']);
  });

  it('keeps order across many chunks (the head index compacts)', () => {
    const q = new BridgeQueue({ maxBuffered: 1 << 30 });
    for (let i = 0; i < 5000; i++) q.push(bytes(1, i % 251));
    for (let i = 0; i < 5000; i++) expect(q.shift()![0]).toBe(i % 251);
    expect(q.shift()).toBeUndefined();
  });

  it('fast-check: pause and resume always alternate, bytes are counted exactly, the bound holds', () => {
    const op = fc.oneof(
      fc.integer({ min: 1, max: 400 }).map((n) => ({ push: n })),
      fc.constant({ shift: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const events: string[] = [];
        const q = new BridgeQueue({
          highWater: 500,
          lowWater: 100,
          maxBuffered: 1500,
          onHigh: () => events.push('high'),
          onLow: () => events.push('low'),
        });
        const model: number[] = [];
        for (const o of ops) {
          if ('push' in o) {
            const sum = model.reduce((a, b) => a + b, 0);
            if (sum + o.push > 1500) expect(() => q.push(bytes(o.push))).toThrow(BridgeOverflowError);
            else {
              q.push(bytes(o.push));
              model.push(o.push);
            }
          } else {
            expect(q.shift()?.byteLength).toBe(model.shift());
          }
          const sum = model.reduce((a, b) => a + b, 0);
          expect(q.bytes).toBe(sum);
          expect(q.bytes).toBeLessThanOrEqual(1500);
          if (sum > 500) expect(q.paused).toBe(true);
          if (sum <= 100) expect(q.paused).toBe(false);
        }
        events.forEach((e, i) => expect(e).toBe(i % 2 === 0 ? 'high' : 'low'));
      }),
    );
  });
});
