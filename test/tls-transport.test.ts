/**
 * The transport conformance suite over TLS (listenTLS/connectTLS on
 * 127.0.0.1:0, the transport under test on either side). Handshake failures:
 * tls-handshake.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { ITLSTransport } from '../src/reactor/interfaces.js';
import { connectTLS, listenTLS } from '../src/reactor/tls/index.js';
import {
  oneShotFactory,
  runTransportSuite,
  socketMaker,
  turns,
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
