/**
 * ReconnectingClientFactory over real sockets: the first attempts are refused,
 * a server appears, the factory connects, the delay resets; a lost connection
 * is retried; stopTrying ends it. Time is the reactor's own clock.
 */
import { expect, it } from 'vitest';
import { ConnectionRefusedError } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type { IConnector } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { connectTCP, listenTCP } from '../src/reactor/tcp.js';
import { Factory, Protocol, ReconnectingClientFactory } from '../src/protocols/protocol.js';
import { turnUntil } from './transport-suite.js';

it('reconnects with backoff until a server appears, and again after losing it; stopTrying ends it', async () => {
  const reactor = new NodeReactor();
  // Find a free port, then close it so the first attempts are refused.
  const probe = await listenTCP(reactor, 0, Factory.forProtocol(Protocol), { host: '127.0.0.1' });
  const n = probe.getHost().port;
  await probe.stopListening();

  let made = 0;
  class Client extends Protocol {
    override connectionMade(): void {
      made++;
    }
  }
  const failures: Failure[] = [];
  class Reconnecting extends ReconnectingClientFactory {
    override clientConnectionFailed(connector: IConnector, reason: Failure): void {
      failures.push(reason);
      super.clientConnectionFailed(connector, reason);
    }
  }
  const f = Reconnecting.forProtocol(Client);
  f.clock = reactor;
  f.initialDelay = 0.001;
  f.delay = 0.001;
  f.jitter = 0;
  f.maxDelay = 0.05;
  connectTCP(reactor, '127.0.0.1', n, f);
  await turnUntil(() => failures.length >= 2, 'two refused attempts');
  expect(failures.every((x) => x.check(ConnectionRefusedError) !== null)).toBe(true);
  expect(f.retries).toBeGreaterThanOrEqual(2);

  const accepted: Protocol[] = [];
  class Server extends Protocol {
    override connectionMade(): void {
      accepted.push(this);
    }
  }
  const port = await listenTCP(reactor, n, Factory.forProtocol(Server), { host: '127.0.0.1' });
  await turnUntil(() => made === 1, 'connected once the server is up');
  expect(f.retries).toBe(0);
  expect(f.delay).toBe(f.initialDelay);

  accepted[0]!.transport.loseConnection(); // the server drops it: the factory reconnects
  await turnUntil(() => made === 2, 'reconnected after the connection was lost');
  f.stopTrying();
  accepted[1]!.transport.loseConnection();
  await port.stopListening();
  await turnUntil(() => reactor.stats.openConnections === 0, 'everything closed');
  expect(reactor.getDelayedCalls().filter((c) => c.active())).toHaveLength(0);
  expect(made).toBe(2);
});
