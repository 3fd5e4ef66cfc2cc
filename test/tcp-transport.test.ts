/**
 * The transport conformance suite against real TCP sockets on 127.0.0.1:0,
 * twice: with the transport under test on the accepting side and on the
 * connecting side.
 */
import { describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';
import { listenTCP, connectTCP, TRANSPORT_HIGH_WATER } from '../src/reactor/tcp.js';
import { TCPConnection } from '../src/reactor/tcpconnection.js';
import { oneShotFactory, runTransportSuite, turns, turnUntil, Recorder, type Connected, type TransportMaker } from './transport-suite.js';

function tcpMaker(localIsServer: boolean): () => TransportMaker {
  return () => {
    const reactor = new NodeReactor();
    let port: IListeningPort | null = null;
    let pair: Connected | null = null;
    return {
      highWater: TRANSPORT_HIGH_WATER,
      caps: { closes: true, halfClose: true, addresses: true, readPause: true },
      async connect(local: Recorder, peer: Recorder) {
        const server = localIsServer ? local : peer;
        const client = localIsServer ? peer : local;
        port = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1' });
        connectTCP(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client));
        await turnUntil(() => server.made === 1 && client.made === 1, 'both ends connected');
        pair = {
          local: local.transport,
          peer: peer.transport,
          buffered: () => (local.transport as TCPConnection).bufferSize,
          settle: turnUntil,
          idle: () => turns(50),
        };
        return pair;
      },
      async cleanup() {
        if (pair) {
          pair.local.abortConnection();
          pair.peer.abortConnection();
        }
        if (port) await port.stopListening();
        await turnUntil(() => reactor.stats.openConnections === 0, 'every connection closed');
        if (reactor.stats.listeningPorts !== 0 || reactor.stats.pausedProducers !== 0) {
          throw new Error(`leaked: ${JSON.stringify(reactor.stats)}`);
        }
      },
    };
  };
}

runTransportSuite('TCP, accepting side', tcpMaker(true));
runTransportSuite('TCP, connecting side', tcpMaker(false));

describe('TCP transport: reactor stats', () => {
  it('counts open and total connections, listening ports, and producers paused by the high-water mark', async () => {
    const reactor = new NodeReactor();
    const server = new Recorder();
    const client = new Recorder();
    const port = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1', highWater: 1024 });
    expect(reactor.stats.listeningPorts).toBe(1);
    connectTCP(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client));
    await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
    expect(reactor.stats).toMatchObject({ openConnections: 2, totalConnections: 2 });
    client.transport.pauseProducing(); // the client stops reading
    let paused = false;
    server.transport.registerProducer({ pauseProducing: () => void (paused = true), resumeProducing: () => void (paused = false), stopProducing() {} }, true);
    const block = new Uint8Array(64 * 1024);
    for (let i = 0; i < 2000 && !paused; i++) server.transport.write(block);
    expect(paused).toBe(true);
    expect(reactor.stats.pausedProducers).toBe(1);
    client.transport.resumeProducing();
    await turnUntil(() => !paused, 'drained and resumed');
    expect(reactor.stats.pausedProducers).toBe(0);
    server.transport.unregisterProducer();
    server.transport.loseConnection();
    await port.stopListening();
    await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
    expect(reactor.stats).toEqual({ openConnections: 0, listeningPorts: 0, pausedProducers: 0, totalConnections: 2 });
  });
});

describe('TCP transport: a high-water mark below Node’s own buffer mark', () => {
  it('still resumes the producer once the buffer drains (no drain event comes for small buffers)', async () => {
    const reactor = new NodeReactor();
    const server = new Recorder();
    const client = new Recorder();
    const port = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1', highWater: 1024 });
    connectTCP(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client));
    await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
    client.transport.pauseProducing();
    let paused = false;
    let resumes = 0;
    server.transport.registerProducer({ pauseProducing: () => void (paused = true), resumeProducing: () => void ((paused = false), resumes++), stopProducing() {} }, true);
    const small = new Uint8Array(2000);
    let written = 0;
    for (let i = 0; i < 100_000 && !paused; i++) {
      server.transport.write(small);
      written += small.byteLength;
    }
    expect(paused).toBe(true);
    expect((server.transport as TCPConnection).bufferSize).toBeLessThanOrEqual(1024 + 2000);
    client.transport.resumeProducing();
    await turnUntil(() => resumes === 1 && client.received === written, 'resumed and all delivered');
    server.transport.unregisterProducer();
    server.transport.loseConnection();
    await port.stopListening();
    await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
  });
});
