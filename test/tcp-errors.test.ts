/**
 * Bad input over real sockets: a port in use, a refused connection, a connect
 * timeout, a frame over the limit. Each gives a typed error and leaves
 * nothing open (the reactor's stats go back to zero).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import {
  CancelledError,
  CannotListenError,
  ConnectionDone,
  ConnectionRefusedError,
  ConnectTimeoutError,
  ConnectorStateError,
} from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type { IConnector, IListeningPort, IReactor } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { connectTCP, listenTCP } from '../src/reactor/tcp.js';
import { ClientFactory, Factory, Protocol } from '../src/protocols/protocol.js';
import { Int32StringReceiver } from '../src/protocols/basic.js';
import { FrameTooLongError } from '../src/protocols/errors.js';
import { turnUntil } from './transport-suite.js';

let reactor: NodeReactor;
const ports: IListeningPort[] = [];

afterEach(async () => {
  for (const p of ports.splice(0)) await p.stopListening();
  await turnUntil(() => reactor.stats.openConnections === 0, 'connections closed');
  expect(reactor.stats).toMatchObject({ openConnections: 0, listeningPorts: 0, pausedProducers: 0 });
});

class Recording extends ClientFactory {
  failed: Failure[] = [];
  lostReasons: Failure[] = [];
  events: string[] = [];
  override startFactory(): void {
    this.events.push('start');
  }
  override stopFactory(): void {
    this.events.push('stop');
  }
  override startedConnecting(_c: IConnector): void {
    this.events.push('startedConnecting');
  }
  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.events.push('failed');
    this.failed.push(reason);
  }
  override clientConnectionLost(_c: IConnector, reason: Failure): void {
    this.events.push('lost');
    this.lostReasons.push(reason);
  }
}

async function freePort(): Promise<IListeningPort> {
  const port = await listenTCP(reactor, 0, Factory.forProtocol(Protocol), { host: '127.0.0.1' });
  ports.push(port);
  return port;
}

describe('listenTCP errors', () => {
  it('a port already in use errbacks with CannotListenError naming host:port and the fix', async () => {
    reactor = new NodeReactor();
    const taken = await freePort();
    const n = taken.getHost().port;
    const factory = Factory.forProtocol(Protocol);
    let started = 0;
    factory.startFactory = () => void started++;
    const err = await listenTCP(reactor, n, factory, { host: '127.0.0.1' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CannotListenError);
    expect((err as CannotListenError).code).toBe('ERR_CANNOT_LISTEN');
    expect((err as CannotListenError).port).toBe(n);
    expect((err as Error).message).toContain(`127.0.0.1:${n}`);
    expect((err as Error).message).toMatch(/already in use.*pick another port/);
    expect(started).toBe(0); // a port that never opened never started the factory
    expect(reactor.stats.listeningPorts).toBe(1); // only the first one
  });

  it('getHost gives the real port for 0; stopListening fires, runs doStop and frees the port', async () => {
    reactor = new NodeReactor();
    const factory = Factory.forProtocol(Protocol);
    const events: string[] = [];
    factory.startFactory = () => void events.push('start');
    factory.stopFactory = () => void events.push('stop');
    const port = await listenTCP(reactor, 0, factory, { host: '127.0.0.1' });
    expect(port.getHost().port).toBeGreaterThan(0);
    expect(events).toEqual(['start']);
    await port.stopListening();
    expect(events).toEqual(['start', 'stop']);
    expect(reactor.stats.listeningPorts).toBe(0);
    const again = await listenTCP(reactor, port.getHost().port, factory, { host: '127.0.0.1' });
    ports.push(again);
  });
});

describe('connectTCP errors', () => {
  it('a refused connection calls clientConnectionFailed with ConnectionRefusedError, then stops the factory', async () => {
    reactor = new NodeReactor();
    const port = await freePort();
    const n = port.getHost().port;
    await port.stopListening();
    ports.length = 0;
    const f = Recording.forProtocol(Protocol);
    connectTCP(reactor, '127.0.0.1', n, f);
    await turnUntil(() => f.failed.length > 0, 'the attempt failed');
    expect(f.failed[0]!.check(ConnectionRefusedError)).toBe(ConnectionRefusedError);
    expect((f.failed[0]!.value as ConnectionRefusedError).code).toBe('ERR_CONNECTION_REFUSED');
    expect(f.failed[0]!.getErrorMessage()).toContain(`127.0.0.1:${n}`);
    expect(f.events).toEqual(['start', 'startedConnecting', 'failed', 'stop']);
  });

  it('the timeout option fails the attempt with ConnectTimeoutError, timed by the reactor clock', async () => {
    reactor = new NodeReactor();
    const port = await freePort();
    const clock = new Clock();
    // The reactor's TCP, with time from a Clock: the timeout fires when the test says.
    const timed = Object.create(reactor, {
      callLater: { value: clock.callLater.bind(clock) },
      seconds: { value: () => clock.seconds() },
    }) as IReactor;
    const f = Recording.forProtocol(Protocol);
    connectTCP(timed, '127.0.0.1', port.getHost().port, f, { timeout: 5 });
    clock.advance(4.9);
    expect(f.failed).toHaveLength(0);
    clock.advance(0.1);
    expect(f.failed[0]!.check(ConnectTimeoutError)).toBe(ConnectTimeoutError);
    expect(f.failed[0]!.getErrorMessage()).toMatch(/timed out after 5s/);
    expect(f.events).toEqual(['start', 'startedConnecting', 'failed', 'stop']);
  });

  it('stopConnecting fails the attempt with CancelledError; stopConnecting when idle throws ConnectorStateError', async () => {
    reactor = new NodeReactor();
    const port = await freePort();
    const f = Recording.forProtocol(Protocol);
    const c = connectTCP(reactor, '127.0.0.1', port.getHost().port, f);
    c.stopConnecting();
    expect(f.failed[0]!.check(CancelledError)).toBe(CancelledError);
    expect(() => c.stopConnecting()).toThrow(ConnectorStateError);
    expect(c.getDestination()).toEqual({ host: '127.0.0.1', port: port.getHost().port });
  });

  it('connector.connect() reconnects after a lost connection; clientConnectionLost gets the reason', async () => {
    reactor = new NodeReactor();
    let served = 0;
    const server = new Factory();
    server.protocol = class extends Protocol {
      override connectionMade(): void {
        served++;
        this.transport.loseConnection();
      }
    };
    const port = await listenTCP(reactor, 0, server, { host: '127.0.0.1' });
    ports.push(port);
    const f = Recording.forProtocol(Protocol);
    const c = connectTCP(reactor, '127.0.0.1', port.getHost().port, f);
    await turnUntil(() => f.lostReasons.length === 1, 'first connection lost');
    c.connect();
    await turnUntil(() => f.lostReasons.length === 2, 'second connection lost');
    expect(served).toBe(2);
    expect(f.events).toEqual([
      'start',
      'startedConnecting',
      'lost',
      'stop',
      'start',
      'startedConnecting',
      'lost',
      'stop',
    ]);
    expect(reactor.stats.totalConnections).toBe(4);
  });
});

describe('connector.disconnect', () => {
  it('closes a made connection cleanly: clientConnectionLost gets ConnectionDone', async () => {
    reactor = new NodeReactor();
    const port = await freePort();
    const f = Recording.forProtocol(Protocol);
    let made = 0;
    f.protocol = class extends Protocol {
      override connectionMade(): void {
        made++;
      }
    };
    const c = connectTCP(reactor, '127.0.0.1', port.getHost().port, f);
    await turnUntil(() => made === 1, 'connected');
    c.disconnect();
    await turnUntil(() => f.lostReasons.length === 1, 'lost');
    expect(f.lostReasons[0]!.check(ConnectionDone)).toBe(ConnectionDone);
    expect(f.events).toEqual(['start', 'startedConnecting', 'lost', 'stop']);
  });
});

describe('a frame over the limit over TCP', () => {
  it('closes the connection with FrameTooLongError as the reason, leaving nothing open', async () => {
    reactor = new NodeReactor();
    const reasons: Failure[] = [];
    const got: Uint8Array[] = [];
    class Server extends Int32StringReceiver {
      override stringReceived(data: Uint8Array): void {
        got.push(data);
      }
      override connectionLost(reason: Failure): void {
        reasons.push(reason);
      }
    }
    const port = await listenTCP(reactor, 0, Factory.forProtocol(Server), { host: '127.0.0.1' });
    ports.push(port);
    const clientLost: Failure[] = [];
    class Client extends Int32StringReceiver {
      override connectionMade(): void {
        this.sendString('fine');
        this.sendString(new Uint8Array(200_000));
      }
      override connectionLost(reason: Failure): void {
        clientLost.push(reason);
      }
    }
    connectTCP(reactor, '127.0.0.1', port.getHost().port, ClientFactory.forProtocol(Client));
    await turnUntil(() => reasons.length === 1 && clientLost.length === 1, 'both ends closed');
    expect(got.map((g) => new TextDecoder().decode(g))).toEqual(['fine']);
    expect(reasons[0]!.check(FrameTooLongError)).toBe(FrameTooLongError);
    expect((reasons[0]!.value as FrameTooLongError).code).toBe('ERR_FRAME_TOO_LONG');
  });
});
