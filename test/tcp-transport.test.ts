/**
 * The transport conformance suite against real TCP sockets on 127.0.0.1:0,
 * twice: with the transport under test on the accepting side and on the
 * connecting side.
 */
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IAddress, IClientFactory, IConnector, IListeningPort, IProtocol, IProtocolFactory } from '../src/reactor/interfaces.js';
import type { Failure } from '../src/reactor/failure.js';
import { listenTCP, connectTCP, TRANSPORT_HIGH_WATER } from '../src/reactor/tcp.js';
import { TCPConnection } from '../src/reactor/tcpconnection.js';
import { runTransportSuite, type Connected, type Recorder, type TransportMaker } from './transport-suite.js';

export function oneShotFactory(p: IProtocol): IProtocolFactory & IClientFactory {
  return {
    buildProtocol: (_addr: IAddress) => p,
    doStart() {},
    doStop() {},
    startedConnecting(_c: IConnector) {},
    clientConnectionFailed(_c: IConnector, f: Failure) {
      throw f.value;
    },
    clientConnectionLost() {},
  };
}

/** Turn the event loop until `until()` holds; fails after many turns. */
export async function turnUntil(until: () => boolean, what: string, maxTurns = 200_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (until()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting: ${what}`);
}

export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

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
