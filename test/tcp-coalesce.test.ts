/**
 * The TCP transport merges the system calls of what one reactor turn writes:
 * the turn's first write goes to the socket at once, the rest leave together
 * in one writev when the turn ends, small ones (< MERGE_WRITE_BYTES) copied
 * into one buffer; each write is still handed over as it comes (G6) and the
 * bytes arrive whole and in order. Checked with a spy on
 * the accepted socket's `_write` / `_writev` (one call each is one system call
 * on an idle socket), over a real 127.0.0.1 connection.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { IListeningPort, ITransport } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { connectTCP, listenTCP } from '../src/reactor/tcp.js';
import { MERGE_LIMIT_BYTES, MERGE_WRITE_BYTES } from '../src/reactor/tcpconnection.js';
import { oneShotFactory, Recorder, turnUntil } from './transport-suite.js';

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
  const socket = (server.transport as unknown as { socket: Socket & { _write: Function; _writev: Function } }).socket;
  const calls: number[] = [];
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (this: Socket, ...args: unknown[]) {
    calls.push(1);
    return write.apply(this, args);
  };
  socket._writev = function (this: Socket, chunks: unknown[], cb: unknown) {
    calls.push(chunks.length);
    return writev.call(this, chunks, cb);
  };
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
