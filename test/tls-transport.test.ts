/**
 * The transport conformance suite over TLS (listenTLS/connectTLS on
 * 127.0.0.1:0, the transport under test on either side). Handshake failures:
 * tls-handshake.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { ITLSTransport } from '../src/reactor/interfaces.js';
import { connectTLS, listenTLS } from '../src/reactor/tls/index.js';
import {
  oneShotFactory,
  playTurns,
  runTransportSuite,
  spyWrites,
  socketMaker,
  turns,
  turnsOfWrites,
  turnUntil,
  Recorder,
  type SocketKind,
} from './transport-suite.js';
import { clientTLS, serverTLS } from './tls-fixtures.js';

const tls: SocketKind = {
  caps: { closes: true, halfClose: true, addresses: true, readPause: true },
  listen: (reactor, server) => listenTLS(reactor, 0, server, { ...serverTLS, host: '127.0.0.1' }).asPromise(),
  connect: (reactor, port, client) => void connectTLS(reactor, '127.0.0.1', port.getHost().port, client, clientTLS),
  // TLS 1.3 sends its session tickets just after the handshake: a reset that
  // overtakes them reaches a Node client as a plain EOF (a FIN) rather than
  // ECONNRESET, the same caveat the suite states for TCP after a write.
  settled: () => turns(20),
};

runTransportSuite('TLS, accepting side', socketMaker(tls, true));
runTransportSuite('TLS, connecting side', socketMaker(tls, false));

describe('TLS transport', () => {
  it('both ends of a listenTLS/connectTLS connection are secure from connectionMade on', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const server = new Recorder();
    const client = new Recorder();
    const secureAtMade: boolean[] = [];
    server.onMade = client.onMade = (t) => secureAtMade.push((t as ITLSTransport).secure);
    const port = await listenTLS(reactor, 0, oneShotFactory(server), { ...serverTLS, host: '127.0.0.1' });
    connectTLS(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client), clientTLS);
    await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
    expect(secureAtMade).toEqual([true, true]);
    client.transport.loseConnection();
    await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
    await port.stopListening();
    await reactor.stop();
  });
});

describe('TLS transport: the small writes of a turn are merged (the socket is not corked)', () => {
  async function tlsPair() {
    const reactor = new NodeReactor();
    reactor.run();
    const server = new Recorder();
    const client = new Recorder();
    const port = await listenTLS(reactor, 0, oneShotFactory(server), { ...serverTLS, host: '127.0.0.1' });
    connectTLS(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client), clientTLS);
    await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
    await turns(20); // TLS 1.3 session tickets
    const chunks = spyWrites(server.transport); // chunk count of each write into the TLS socket
    const close = async () => {
      server.transport.abortConnection();
      client.transport.abortConnection();
      await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
      await port.stopListening();
      await reactor.stop();
    };
    return { server, client, chunks, close };
  }
  const row = (i: number) => new TextEncoder().encode(`row ${String(i).padStart(6, '0')}\n`);
  const text = (parts: Uint8Array[]) => Buffer.concat(parts).toString('latin1');

  it('100 rows written in one turn reach the TLS socket as the first row and one merged buffer', async () => {
    const p = await tlsPair();
    try {
      const rows = Array.from({ length: 100 }, (_, i) => row(i));
      for (const r of rows) p.server.transport.write(r);
      await turnUntil(() => p.client.received === 1100, 'every row arrived');
      expect(p.chunks).toEqual([1, 1]);
      expect(text(p.client.chunks)).toBe(text(rows));
    } finally {
      await p.close();
    }
  });

  it('any mix of small and large writes over a few turns arrives whole and in order', async () => {
    const p = await tlsPair();
    try {
      const sent: Uint8Array[] = [];
      await fc.assert(
        fc.asyncProperty(turnsOfWrites(30_000, 40), async (turnsOf) => {
          await playTurns(turnsOf, (_who, chunk) => {
            sent.push(chunk);
            p.server.transport.write(chunk);
          });
          const size = sent.reduce((n, c) => n + c.length, 0);
          await turnUntil(() => p.client.received === size, 'all arrived');
          expect(text(p.client.chunks)).toBe(text(sent));
        }),
        { numRuns: 20 },
      );
    } finally {
      await p.close();
    }
  });
});
