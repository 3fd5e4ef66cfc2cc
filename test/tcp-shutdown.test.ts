/**
 * Stopping the reactor closes what TCP holds open (Twisted's disconnectAll):
 * listening ports, open connections, attempts in progress. The process can
 * then exit.
 */
import { expect, it } from 'vitest';
import { CancelledError, ConnectionLost } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { connectTCP, listenTCP } from '../src/reactor/tcp.js';
import { ClientFactory, Factory, Protocol } from '../src/protocols/protocol.js';
import { Recorder, oneShotFactory, turnUntil } from './transport-suite.js';

it('reactor.stop() closes listening ports, drops open connections and stops connection attempts', async () => {
  const reactor = new NodeReactor();
  reactor.run();
  const server = new Recorder();
  const client = new Recorder();
  const port = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1' });
  connectTCP(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client));
  await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
  const failed: Failure[] = [];
  const pending = new ClientFactory();
  pending.protocol = Protocol;
  pending.clientConnectionFailed = (_c, reason) => void failed.push(reason);
  // stop() comes in the same turn, so this attempt is still in progress.
  connectTCP(reactor, '127.0.0.1', port.getHost().port, pending);
  const stopping = reactor.stop();
  await turnUntil(() => server.lost.length === 1 && client.lost.length === 1, 'both ends closed');
  await stopping;
  await turnUntil(() => reactor.stats.openConnections === 0 && reactor.stats.listeningPorts === 0, 'nothing open');
  expect(server.lost[0]!.check(ConnectionLost)).toBe(ConnectionLost);
  expect(server.lost[0]!.getErrorMessage()).toMatch(/reactor shut down/);
  expect(failed[0]?.check(CancelledError) ?? failed[0]?.value).toBe(CancelledError);
  // A new port on the same reactor after the shutdown is closed by the next one.
  const again = await listenTCP(reactor, 0, Factory.forProtocol(Protocol), { host: '127.0.0.1' });
  reactor.run();
  await reactor.stop();
  await turnUntil(() => reactor.stats.listeningPorts === 0, 'the new port closed too');
  expect(again.getHost().port).toBeGreaterThan(0);
});

it('an abort after loseConnection started (a peer FIN answered, then reactor shutdown) still closes the socket', async () => {
  // Node's resetAndDestroy() on a socket whose end() is pending leaves the handle
  // open for ever; the transport must destroy it plainly in that state.
  const reactor = new NodeReactor();
  reactor.run();
  const server = new Recorder(true);
  let stopping: ReturnType<NodeReactor['stop']> | undefined;
  server.readConnectionLost = () => {
    server.readLost++;
    server.transport.loseConnection(); // end(): a shutdown request is now pending
    stopping = reactor.stop(); // and shutdown aborts the connection in the same turn
  };
  const client = new Recorder(true);
  const port = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1' });
  connectTCP(reactor, '127.0.0.1', port.getHost().port, oneShotFactory(client));
  await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
  client.transport.loseWriteConnection(); // the peer's FIN
  await turnUntil(() => server.lost.length === 1, 'the server side closed');
  await stopping;
  await turnUntil(() => reactor.stats.openConnections === 0, 'nothing open');
  expect(server.readLost).toBe(1);
});
