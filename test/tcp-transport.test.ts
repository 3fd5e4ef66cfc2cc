/**
 * The transport conformance suite against real TCP sockets on 127.0.0.1:0,
 * twice: with the transport under test on the accepting side and on the
 * connecting side.
 */
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';
import { listenTCP, connectTCP, TRANSPORT_HIGH_WATER } from '../src/reactor/tcp.js';
import { TCPConnection } from '../src/reactor/tcpconnection.js';
import { oneShotFactory, runTransportSuite, turns, turnUntil, type Connected, type Recorder, type TransportMaker } from './transport-suite.js';

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
