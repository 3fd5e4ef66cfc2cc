/**
 * The transport conformance suite against real TCP sockets on 127.0.0.1:0,
 * twice: with the transport under test on the accepting side and on the
 * connecting side.
 */
import { describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { listenTCP, connectTCP } from '../src/reactor/tcp.js';
import { TCPConnection } from '../src/reactor/tcpconnection.js';
import {
  oneShotFactory,
  runTransportSuite,
  socketMaker,
  turnUntil,
  Recorder,
  type SocketKind,
} from './transport-suite.js';

const tcp: SocketKind = {
  caps: { closes: true, halfClose: true, addresses: true, readPause: true },
  listen: (reactor, server) => listenTCP(reactor, 0, server, { host: '127.0.0.1' }).asPromise(),
  connect: (reactor, port, client) => void connectTCP(reactor, '127.0.0.1', port.getHost().port, client),
};
const tcpMaker = (localIsServer: boolean) => socketMaker(tcp, localIsServer);

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
    server.transport.registerProducer(
      { pauseProducing: () => void (paused = true), resumeProducing: () => void (paused = false), stopProducing() {} },
      true,
    );
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
    server.transport.registerProducer(
      {
        pauseProducing: () => void (paused = true),
        resumeProducing: () => void ((paused = false), resumes++),
        stopProducing() {},
      },
      true,
    );
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
