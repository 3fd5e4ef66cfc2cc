/**
 * `connectTCP(..., { readBufferSize })`: reads of up to that many bytes through
 * Node's `onread` (src/reactor/readbuffer.ts), and no delivered byte is ever
 * overwritten by a later read. The buffer policy is checked on a simulated read
 * loop; the socket path over a real 127.0.0.1 connection against node:net.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/reactor/errors.js';
import type { IProtocol, ITransport } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import {
  BASE_READ_BYTES,
  emptyReadPool,
  SPARE_READ_BUFFERS,
  keepRead,
  largeReads,
  releaseRead,
  unkeepRead,
} from '../src/reactor/readbuffer.js';
import { connectTCP, listenTCP } from '../src/reactor/tcp.js';
import {
  oneShotFactory,
  pattern,
  runTransportSuite,
  socketMaker,
  turnUntil,
  type SocketKind,
} from './transport-suite.js';

const KiB = 1024;

// The whole transport conformance suite (pausing, half-close, closing, flow control) with the
// connecting side reading through `onread` into its own buffers.
const largeReadTCP: SocketKind = {
  caps: { closes: true, halfClose: true, addresses: true, readPause: true },
  listen: (reactor, server) => listenTCP(reactor, 0, server, { host: '127.0.0.1' }).asPromise(),
  connect: (reactor, port, client) =>
    void connectTCP(reactor, '127.0.0.1', port.getHost().port, client, { readBufferSize: 256 * KiB }),
};
runTransportSuite('TCP with readBufferSize, connecting side', socketMaker(largeReadTCP, false));
runTransportSuite('TCP with readBufferSize, accepting side (its peer reads large)', socketMaker(largeReadTCP, true));

/** What Node does with an `onread` option: read into buffer(), call callback(n), ask buffer() again. */
function simulate(max: number, reads: number[]) {
  const delivered: Buffer[] = [];
  const r = largeReads(max, (c) => delivered.push(c));
  const sizes: number[] = [];
  let fill = 0;
  for (const want of reads) {
    const buf = r.buffer();
    sizes.push(buf.length);
    const n = Math.min(want, buf.length);
    buf.fill(++fill % 251, 0, n);
    r.callback(n, buf);
  }
  return { delivered, sizes };
}

describe('largeReads: the read buffer policy', () => {
  it('full reads grow the buffer x4 up to the limit; delivered bytes are never overwritten', () => {
    const { delivered, sizes } = simulate(256 * KiB, [1 << 30, 1 << 30, 1 << 30, 1 << 30, 100, 1 << 30]);
    expect(sizes).toEqual([BASE_READ_BYTES, 256 * KiB, 256 * KiB, 256 * KiB, 256 * KiB, BASE_READ_BYTES]);
    expect(delivered.map((d) => d.length)).toEqual([64 * KiB, 256 * KiB, 256 * KiB, 256 * KiB, 100, 64 * KiB]);
    // Every chunk still holds the bytes of its own read.
    delivered.forEach((d, i) => expect(d.every((b) => b === (i + 1) % 251)).toBe(true));
  });

  it('a small read is copied out and the buffer read into again; a quarter or more is handed over as it is', () => {
    const { delivered, sizes } = simulate(256 * KiB, [10, 20, 16 * KiB, 30]);
    // The same 64 KiB serve the small reads; the 16 KiB one (a quarter) is handed over.
    expect(sizes).toEqual([64 * KiB, 64 * KiB, 64 * KiB, 64 * KiB]);
    expect(delivered.map((d) => d.length)).toEqual([10, 20, 16 * KiB, 30]);
    delivered.forEach((d, i) => expect(d.every((b) => b === (i + 1) % 251)).toBe(true));
  });

  it('a limit below 64 KiB is the buffer size', () => {
    const { sizes } = simulate(4 * KiB, [1 << 30, 1 << 30]);
    expect(sizes).toEqual([4 * KiB, 4 * KiB]);
  });

  it('connectTCP refuses a size outside 1 KiB to 64 MiB, naming the option', () => {
    const reactor = new NodeReactor();
    const p: IProtocol = { makeConnection() {}, dataReceived() {}, connectionLost() {} };
    for (const bad of [0, 100, 1.5, 65 * 1024 * KiB])
      expect(() => connectTCP(reactor, '127.0.0.1', 9, oneShotFactory(p), { readBufferSize: bad })).toThrow(
        InvalidArgumentError,
      );
    expect(() => connectTCP(reactor, '127.0.0.1', 9, oneShotFactory(p), { readBufferSize: 100 })).toThrow(
      /readBufferSize/,
    );
  });
});

/** A read loop whose consumer says, per read, whether it releases or keeps the chunk during the call. */
function lendLoop(max: number, during: (chunk: Buffer, i: number) => void) {
  const delivered: Buffer[] = [];
  const r = largeReads(max, (c) => {
    delivered.push(c);
    during(c, delivered.length - 1);
  });
  const memory: ArrayBufferLike[] = [];
  const read = (n: number, fill: number) => {
    const buf = r.buffer();
    memory.push(buf.buffer);
    buf.fill(fill, 0, Math.min(n, buf.length));
    r.callback(Math.min(n, buf.length), buf);
  };
  return { delivered, memory, read };
}

describe('largeReads: release after flush', () => {
  it('a chunk released during its delivery: the same memory takes the next read', () => {
    const { memory, read } = lendLoop(64 * KiB, (c) => releaseRead(c));
    for (let i = 0; i < 5; i++) read(64 * KiB, i);
    expect(new Set(memory).size).toBe(1);
  });

  it('a grown buffer stays for reads the 64 KiB one would have handed over: 64 KiB and 29 KiB reads alternating reuse one buffer', () => {
    // A relay of 64 KiB writes often reads 64 KiB, then the 29 KiB that came meanwhile. Going back to
    // 64 KiB after the small read (and growing again after the full one) took fresh memory each time.
    const { delivered, memory, read } = lendLoop(256 * KiB, (c) => releaseRead(c));
    read(64 * KiB, 1); // fills the first 64 KiB: the buffer grows
    for (let i = 0; i < 10; i++) read(i % 2 === 0 ? 29 * KiB : 64 * KiB, i + 2);
    expect(delivered.map((d) => d.length)).toEqual([
      64 * KiB,
      ...Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 29 : 64) * KiB),
    ]);
    expect(new Set(memory).size).toBe(2); // the first 64 KiB, then one 256 KiB buffer
    // Only a read the 64 KiB buffer would have copied too gives the grown buffer up.
    read(100, 99);
    read(64 * KiB, 100);
    expect(delivered[delivered.length - 1]!.buffer.byteLength).toBe(BASE_READ_BYTES);
  });

  it('a grown buffer given up for a small read is taken again by the next full one: a download with a small read now and then reads into two memories', () => {
    // A proxy's upstream connection reads a few KiB now and then between full 256 KiB reads. Each
    // such read went back to 64 KiB and dropped the grown buffer, and the next full read grew into
    // fresh memory: 20-60 fresh 256 KiB buffers a GiB, which the process's RSS kept.
    emptyReadPool();
    const { delivered, memory, read } = lendLoop(256 * KiB, (c) => releaseRead(c));
    for (let i = 0; i < 10; i++) {
      read(1 << 30, 1);
      read(1 << 30, 2);
      read(100, 3); // back to 64 KiB
    }
    expect(delivered.map((d) => d.length).slice(0, 6)).toEqual([64 * KiB, 256 * KiB, 100, 64 * KiB, 256 * KiB, 100]);
    expect(new Set(memory).size).toBe(2); // one 64 KiB, one 256 KiB
  });

  it('without a release every large read gets fresh memory, and each chunk keeps its bytes', () => {
    const { delivered, memory, read } = lendLoop(64 * KiB, () => {});
    for (let i = 0; i < 5; i++) read(64 * KiB, i + 1);
    expect(new Set(memory).size).toBe(5);
    delivered.forEach((d, i) => expect(d.every((b) => b === i + 1)).toBe(true));
  });

  it('keepRead wins over a release: the kept chunk is never read into again, even if released later', () => {
    const kept: Buffer[] = [];
    const { memory, read } = lendLoop(64 * KiB, (c, i) => {
      releaseRead(c);
      if (i === 1) {
        keepRead(c);
        kept.push(c);
      }
    });
    for (let i = 0; i < 4; i++) read(64 * KiB, i + 1);
    releaseRead(kept[0]!); // a late release of a kept read is ignored
    for (let i = 4; i < 8; i++) read(64 * KiB, i + 1);
    expect(memory[1] === memory[0]).toBe(true);
    expect(memory[2] === memory[1]).toBe(false);
    expect(memory.filter((m) => m === memory[1])).toHaveLength(2);
    expect(kept[0]!.every((b) => b === 2)).toBe(true);
  });

  it('a chunk released after its delivery becomes a spare that a later read takes; at most SPARE_READ_BUFFERS wait', () => {
    const held: Buffer[] = [];
    const { memory, read } = lendLoop(64 * KiB, (c) => void held.push(c));
    for (let i = 0; i < 4; i++) read(64 * KiB, i + 1);
    expect(new Set(memory).size).toBe(4);
    // The writes of all four flushed: four come back, SPARE_READ_BUFFERS are kept for the next reads.
    for (const c of held) releaseRead(c);
    releaseRead(held[0]!); // twice is once
    for (let i = 0; i < SPARE_READ_BUFFERS + 1; i++) read(64 * KiB, 9);
    const reused = memory.slice(4).filter((m) => memory.slice(0, 4).includes(m));
    expect(reused).toHaveLength(SPARE_READ_BUFFERS);
    expect(new Set(reused).size).toBe(SPARE_READ_BUFFERS);
  });

  it('a held read comes back when its last hold is let go (unkeepRead), not before', () => {
    const held: Buffer[] = [];
    const { memory, read } = lendLoop(64 * KiB, (c) => {
      releaseRead(c);
      keepRead(c); // two holders: say, a parser's read-ahead and a write not yet flushed
      keepRead(c);
      held.push(c);
    });
    read(32 * KiB, 1);
    unkeepRead(held[0]!);
    read(32 * KiB, 2);
    read(32 * KiB, 3);
    expect(memory.slice(1).some((m) => m === memory[0])).toBe(false);
    unkeepRead(held[0]!);
    unkeepRead(held[0]!); // one more than it had: ignored
    read(32 * KiB, 4);
    read(32 * KiB, 5);
    expect(memory.slice(3).some((m) => m === memory[0])).toBe(true);
  });

  it('a release outside any delivery of memory no reader lent is ignored', () => {
    const { memory, read } = lendLoop(64 * KiB, () => {});
    releaseRead(Buffer.alloc(64 * KiB));
    read(64 * KiB, 1);
    read(64 * KiB, 2);
    expect(new Set(memory).size).toBe(2);
  });

  it('small reads are copied out and never lent; a spare of another size is not used', () => {
    const held: Buffer[] = [];
    const { delivered, memory, read } = lendLoop(256 * KiB, (c) => void held.push(c));
    read(64 * KiB, 1); // full: grows to 256 KiB
    read(10, 2); // small: copied, back to 64 KiB
    releaseRead(held[0]!); // 64 KiB back while the reader reads 64 KiB: a spare
    // Half reads: lent, and the buffer stays at 64 KiB (a full one would grow it).
    read(32 * KiB, 3); // into the buffer chosen before the release
    read(32 * KiB, 4); // into the spare
    expect(memory[3] === memory[0]).toBe(true);
    expect(delivered[1]!.buffer === memory[1]).toBe(false);
    // A 256 KiB buffer released while the reader reads 64 KiB is not kept.
    releaseRead(held[1]!);
    read(32 * KiB, 5);
    read(32 * KiB, 6);
    expect(memory.slice(4).some((m) => m === memory[1])).toBe(false);
  });
});

describe('connectTCP with readBufferSize over a real socket', () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it('a 16 MiB download arrives whole and in order in reads larger than 64 KiB, each chunk kept as given', async () => {
    const total = 16 * 1024 * KiB;
    const body = Buffer.from(pattern(total, 7));
    let blocked!: () => void;
    const serverBlocked = new Promise<void>((r) => (blocked = r));
    const server = net.createServer((s) => {
      s.on('error', () => {});
      let off = 0;
      const more = () => {
        while (off < total) {
          const ok = s.write(body.subarray(off, off + 64 * KiB));
          off += 64 * KiB;
          if (!ok) {
            blocked();
            return void s.once('drain', more);
          }
        }
        s.end();
      };
      more();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const reactor = new NodeReactor();
    reactor.run();
    cleanup.push(() => reactor.stop().asPromise());
    const views: Uint8Array[] = [];
    let transport!: ITransport;
    let ended = false;
    const client: IProtocol = {
      makeConnection(t) {
        transport = t;
        t.pauseProducing(); // let the kernel buffers fill first
      },
      dataReceived: (d) => void views.push(d), // kept without a copy: a later read must not change it
      connectionLost: () => void (ended = true),
    };
    const { port } = server.address() as AddressInfo;
    connectTCP(reactor, '127.0.0.1', port, oneShotFactory(client), { readBufferSize: 256 * KiB });
    await serverBlocked;
    await turnUntil(() => transport !== undefined, 'the client connected');
    expect(views).toHaveLength(0); // paused: nothing read
    transport.resumeProducing();
    await turnUntil(() => ended, 'the download to end');
    const got = Buffer.concat(views);
    expect(got.length).toBe(total);
    expect(got.equals(body)).toBe(true);
    expect(Math.max(...views.map((v) => v.length))).toBeGreaterThan(64 * KiB);
  });
});
