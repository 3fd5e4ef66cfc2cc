/**
 * The TCP transport merges the system calls of what one reactor turn writes:
 * the turn's first write goes to the socket at once, the rest leave together
 * in one writev when the turn ends, small ones (< MERGE_WRITE_BYTES) copied
 * into one buffer; each write is still handed over as it comes (G6) and the
 * bytes arrive whole and in order. Checked with a spy on
 * the accepted socket's `_write` / `_writev` (one call each is one system call
 * on an idle socket), over a real 127.0.0.1 connection.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { IListeningPort, ITransport } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { connectTCP, listenTCP } from '../src/reactor/tcp.js';
import { MERGE_LIMIT_BYTES, MERGE_WRITE_BYTES, TRANSPORT_HIGH_WATER } from '../src/reactor/tcpconnection.js';
import { oneShotFactory, playTurns, Recorder, spyWrites, turnsOfWrites, turnUntil } from './transport-suite.js';

interface Spied {
  server: Recorder;
  client: Recorder;
  /** Chunk counts of each `_write` (1) and `_writev` (n) call on the accepting side's socket. */
  calls: number[];
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function connected(): Promise<Spied> {
  const reactor = new NodeReactor();
  const server = new Recorder();
  const client = new Recorder();
  const port: IListeningPort = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1' });
  connectTCP(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client));
  await turnUntil(() => server.made === 1 && client.made === 1, 'both ends connected');
  const calls = spyWrites(server.transport);
  cleanup.push(async () => {
    server.transport.abortConnection();
    client.transport.abortConnection();
    await port.stopListening();
    await turnUntil(() => reactor.stats.openConnections === 0, 'both ends closed');
  });
  return { server, client, calls };
}

const row = (i: number) => new TextEncoder().encode(`row ${String(i).padStart(6, '0')}\n`);
const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => row(from + i));
const size = (parts: Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0);
const joined = (parts: Uint8Array[]) => Buffer.concat(parts).toString('latin1');

function writeAll(t: ITransport, parts: Uint8Array[]): void {
  for (const p of parts) t.write(p);
}

describe('TCP transport: writes within one turn are coalesced', () => {
  it('sends the first write at once and the other 99 small ones of the turn as one buffer when the turn ends', async () => {
    const { server, client, calls } = await connected();
    const parts = rows(0, 100);
    writeAll(server.transport, parts);
    expect(calls).toEqual([1]); // the rest waits for the end of the turn
    await turnUntil(() => client.received === size(parts), 'every row arrived');
    expect(calls).toEqual([1, 1]);
    expect(joined(client.chunks)).toBe(joined(parts));
  });

  it('keeps the order when small and large writes mix: the small ones before a large one leave as one buffer ahead of it', async () => {
    const { server, client, calls } = await connected();
    const big = (c: number) => new Uint8Array(MERGE_WRITE_BYTES).fill(c);
    const parts = [row(0), row(1), row(2), big(0x41), row(3), row(4), big(0x42), row(5)];
    writeAll(server.transport, parts);
    await turnUntil(() => client.received === size(parts), 'everything arrived');
    // row 0 at once; then one writev: [rows 1-2], A, [rows 3-4], B, [row 5].
    expect(calls).toEqual([1, 5]);
    expect(joined(client.chunks)).toBe(joined(parts));
  });

  it('holds at most MERGE_LIMIT_BYTES of small writes: past it they go to the socket within the turn', async () => {
    const { server, client, calls } = await connected();
    const n = Math.ceil(MERGE_LIMIT_BYTES / 11) * 2 + 1; // rows of 11 bytes: two full merges' worth
    const parts = rows(0, n);
    writeAll(server.transport, parts);
    expect((server.transport as unknown as { bufferSize: number }).bufferSize).toBe(size(parts) - 11); // all of it counted while the turn lasts
    await turnUntil(() => client.received === size(parts), 'every row arrived');
    // The first row at once, then one writev of the merged buffers: more than one, each cut at the limit.
    expect(calls.length).toBe(2);
    expect(calls[1]).toBeGreaterThanOrEqual(2);
    expect(joined(client.chunks)).toBe(joined(parts));
  });

  it('does not hold a write across turns: each turn leaves on its own', async () => {
    const { server, client, calls } = await connected();
    const first = rows(0, 3);
    writeAll(server.transport, first);
    await turnUntil(() => client.received === size(first), 'the first turn arrived');
    const second = rows(3, 3);
    writeAll(server.transport, second);
    await turnUntil(() => client.received === size(first) + size(second), 'the second turn arrived');
    expect(calls).toEqual([1, 1, 1, 1]); // rows 2-3 of each turn merged into one buffer
    expect(joined(client.chunks)).toBe(joined([...first, ...second]));
  });

  it('a lone write per turn (one small response) is written at once, never corked', async () => {
    const { server, client, calls } = await connected();
    server.transport.write(row(1));
    expect(calls).toEqual([1]);
    await turnUntil(() => client.received === 11, 'arrived');
    server.transport.write(row(2));
    expect(calls).toEqual([1, 1]);
    await turnUntil(() => client.received === 22, 'arrived');
  });

  it('a read answered by one write sends it at once; by several, the rest leave merged when the turn ends', async () => {
    const { server, client, calls } = await connected();
    let answer = 1;
    server.onData = () => writeAll(server.transport, rows(0, answer));
    client.transport.write(new Uint8Array([1]));
    await turnUntil(() => client.received === 11, 'the one-row answer');
    expect(calls).toEqual([1]);
    answer = 5;
    client.transport.write(new Uint8Array([2]));
    await turnUntil(() => client.received === 11 * 6, 'the five-row answer');
    expect(calls).toEqual([1, 1, 1]); // the read's first row at once, rows 2-5 as one buffer
    answer = 1;
    client.transport.write(new Uint8Array([3]));
    await turnUntil(() => client.received === 11 * 7, 'the next one-row answer');
    expect(calls).toEqual([1, 1, 1, 1]);
    // A write from a later turn, before any read, after a read that wrote once: it arrives, whole and in order.
    setImmediate(() => writeAll(server.transport, rows(7, 3)));
    await turnUntil(() => client.received === 11 * 10, 'the later turn');
    expect(joined(client.chunks)).toBe(joined([...rows(0, 1), ...rows(0, 5), ...rows(0, 1), ...rows(7, 3)]));
  });

  it('loseConnection in the same turn still sends every corked byte before the FIN', async () => {
    const { server, client, calls } = await connected();
    const parts = rows(0, 50);
    writeAll(server.transport, parts);
    server.transport.loseConnection();
    await turnUntil(() => client.lost.length === 1, 'the client saw the close');
    expect(joined(client.chunks)).toBe(joined(parts));
    expect(calls.length).toBeLessThanOrEqual(2);
  });

  it('pauses a push producer by the bytes written this turn, corked or not', async () => {
    const { server, calls } = await connected();
    let paused = false;
    server.transport.registerProducer(
      { pauseProducing: () => void (paused = true), resumeProducing() {}, stopProducing() {} },
      true,
    );
    const block = new Uint8Array(16 * 1024);
    let writes = 0;
    while (!paused && writes < 100) {
      server.transport.write(block);
      writes++;
    }
    expect(paused).toBe(true); // past TRANSPORT_HIGH_WATER (64 KiB) within the turn
    expect(writes).toBeLessThanOrEqual(6);
    expect(calls).toEqual([1]);
    server.transport.unregisterProducer();
  });
});

describe('TCP transport: merged writes of several connections share one slab', () => {
  it('connections merging in the same turn, in turns, each get their own bytes whole and in order', async () => {
    const a = await connected();
    const b = await connected();
    const pa = rows(0, 40);
    const pb = rows(1000, 40);
    // A, B, A, B ... within one turn: each switch hands the other's run to its (corked) socket.
    for (let i = 0; i < 40; i++) {
      a.server.transport.write(pa[i]!);
      b.server.transport.write(pb[i]!);
    }
    await turnUntil(() => a.client.received === size(pa) && b.client.received === size(pb), 'both arrived');
    expect(joined(a.client.chunks)).toBe(joined(pa));
    expect(joined(b.client.chunks)).toBe(joined(pb));
    expect(a.calls).toEqual([1, 39]); // still one writev per turn: the first row, then 39 runs of one row
  });

  it("a turn's rows leave as one buffer whatever the shared slab's fill (a run moves to a fresh slab whole)", async () => {
    const a = await connected();
    const b = await connected();
    for (let fill = 0; fill < 12; fill++) {
      // b merges a different amount each time, so a's run meets the slab's end at different points.
      const pb = rows(0, 1 + fill * 700);
      writeAll(b.server.transport, pb);
      const pa = rows(0, 100);
      a.calls.length = 0;
      const before = a.client.received;
      await new Promise((r) => setImmediate(r));
      writeAll(a.server.transport, pa);
      await turnUntil(() => a.client.received === before + size(pa), 'a arrived');
      expect(a.calls).toEqual([1, 1]);
    }
  });

  it('a connection aborted while it holds merged bytes drops them; the next merge carries none of them', async () => {
    const a = await connected();
    const b = await connected();
    const pa = rows(0, 5);
    const pb = rows(100, 5);
    writeAll(a.server.transport, pa); // rows 1-4 held in the slab
    a.server.transport.abortConnection();
    writeAll(b.server.transport, pb);
    await turnUntil(() => b.client.received === size(pb) && a.client.lost.length === 1, 'b arrived, a lost');
    expect(joined(b.client.chunks)).toBe(joined(pb));
    expect(a.client.received).toBeLessThanOrEqual(size(pa)); // a's peer saw at most its own rows
    expect(joined(a.client.chunks)).toBe(joined(pa).slice(0, a.client.received));
  });

  it('any interleaving of small and large writes on three connections over a few turns arrives intact', async () => {
    const peers = [await connected(), await connected(), await connected()];
    const expected = peers.map(() => [] as Uint8Array[]);
    await fc.assert(
      fc.asyncProperty(turnsOfWrites(40_000, 60), async (turnsOf) => {
        await playTurns(turnsOf, (who, chunk) => {
          expected[who]!.push(chunk);
          peers[who]!.server.transport.write(chunk);
        });
        await turnUntil(() => peers.every((p, i) => p.client.received === size(expected[i]!)), 'all arrived');
        peers.forEach((p, i) => expect(joined(p.client.chunks)).toBe(joined(expected[i]!)));
      }),
      { numRuns: 25 },
    );
  });

  /** A push producer that writes one chunked-framed 64 KiB chunk per turn while not paused (as the proxy's upload relay). */
  function framedChunks(t: ITransport, turns: number) {
    const chunk = new Uint8Array(TRANSPORT_HIGH_WATER).fill(0x63);
    const line = new TextEncoder().encode(`${chunk.length.toString(16)}\r\n`);
    const crlf = new TextEncoder().encode('\r\n');
    const state = { pauses: 0, paused: false, sent: 0 };
    const next = (): void => {
      if (state.paused || state.sent === turns) return;
      state.sent++;
      t.writeSequence([line, chunk, crlf]);
      setImmediate(next);
    };
    t.registerProducer(
      {
        pauseProducing: () => void (state.pauses++, (state.paused = true)),
        resumeProducing: () => void ((state.paused = false), next()),
        stopProducing: () => {},
      },
      true,
    );
    next();
    return { state, each: line.length + chunk.length + crlf.length };
  }

  it('a turn past the high-water mark that the kernel takes at once does not pause the producer (64 KiB with its chunk framing)', async () => {
    const { server, client } = await connected();
    const { state, each } = framedChunks(server.transport, 16);
    await turnUntil(() => client.received === 16 * each, 'every chunk arrived');
    // Before: the turn's writes were counted while corked (64 KiB + 8 > the mark): one pause per chunk.
    expect(state.pauses).toBeLessThan(4);
    server.transport.unregisterProducer();
  });

  it('a peer that stops reading still pauses the producer, with at most one chunk past the mark unsent', async () => {
    const { server, client } = await connected();
    client.transport.pauseProducing();
    const { state } = framedChunks(server.transport, 100_000);
    await turnUntil(() => state.paused, 'the producer paused');
    const unsent = (server.transport as unknown as { bufferSize: number }).bufferSize;
    expect(unsent).toBeGreaterThan(TRANSPORT_HIGH_WATER);
    expect(unsent).toBeLessThanOrEqual(2 * TRANSPORT_HIGH_WATER + 16);
    server.transport.unregisterProducer();
  });
});
