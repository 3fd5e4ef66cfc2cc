/**
 * Connection limits (LimitConnectionsFactory) on real sockets: past
 * maxConnections a new connection is closed at once, counted and logged, the
 * connections already open keep being served, and a slot freed by a close is
 * usable again. Also: the counters every attack relies on are right on a plain
 * request and back to zero after it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/reactor/errors.js';
import { captureLogs } from '../../src/reactor/log.js';
import { Factory, Protocol } from '../../src/protocols/protocol.js';
import { DEFAULT_MAX_CONNECTIONS, LimitConnectionsFactory } from '../../src/protocols/policies.js';
import {
  BALANCED,
  settled,
  rawClient,
  realServer,
  until,
  type RawClient,
  stopServer,
  type RealServer,
} from './helpers.js';

let server: RealServer | null = null;
let clients: RawClient[] = [];
let logs = captureLogs();
afterEach(async () => {
  for (const c of clients) c.reset();
  clients = [];
  if (server !== null) {
    await until(() => server!.reactor.stats.openConnections === 0, 'connections to close');
    await stopServer(server);
  }
  server = null;
  logs.restore();
  logs = captureLogs();
});

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

describe('statistics', () => {
  it.each(['iter', 'cps'] as const)(
    'count one %s request while it runs and balance back to zero after',
    async (style) => {
      server = await realServer(style);
      const c = rawClient(server.port);
      clients.push(c);
      await c.connected;
      c.write(GET('/slow'));
      await until(() => server!.factory.stats.requests === 1, 'the request to reach the app');
      expect(server.reactor.stats.openConnections).toBe(1);
      expect(server.factory.stats.openChannels).toBe(1);
      expect(server.tracker.unclosed()).toBe(1);
      if (style === 'iter') expect(server.gatewayStats!.activeResponses).toBe(1);
      await until(() => c.bodies()[0] === 'slow', 'the response');
      expect(server.factory.stats.responses).toBe(1);
      c.sock.end();
      expect(await settled(server)).toEqual(BALANCED);
      expect(server.reactor.stats.totalConnections).toBe(1);
      expect(server.factory.stats.totalChannels).toBe(1);
      expect(badEventsCount()).toBe(0);
    },
  );
});

function badEventsCount(): number {
  return logs.events.filter((e) => e.level === 'error' || e.level === 'critical').length;
}

describe('LimitConnectionsFactory', () => {
  it('closes connections past maxConnections at once, counts and logs them, and keeps serving the others', async () => {
    let limit: LimitConnectionsFactory | null = null;
    server = await realServer('cps', {}, (f) => (limit = new LimitConnectionsFactory(f, { maxConnections: 3 })));
    const held = [rawClient(server.port), rawClient(server.port), rawClient(server.port)];
    clients.push(...held);
    await Promise.all(held.map((c) => c.connected));
    await until(() => limit!.stats.openConnections === 3, 'three accepted');
    const extra = Array.from({ length: 5 }, () => rawClient(server!.port));
    clients.push(...extra);
    // Refused connections are closed by the server without a byte of response.
    await Promise.all(extra.map((c) => c.closed));
    expect(extra.map((c) => c.text())).toEqual(['', '', '', '', '']);
    expect(limit!.stats).toEqual({ openConnections: 3, acceptedConnections: 3, rejectedConnections: 5 });
    expect(server.factory.stats.totalChannels).toBe(3);
    // One warning for the stretch at the cap; the other refusals at debug.
    const refusals = logs.events.filter((e) => e.namespace === 'spindle.policies');
    expect(refusals.map((e) => e.level)).toEqual(['warn', 'debug', 'debug', 'debug', 'debug']);
    expect(refusals[0]!.message).toMatch(/3 connections are open \(maxConnections\)/);
    // The held connections are still served.
    for (const c of held) c.write(GET('/small'));
    await until(() => held.every((c) => c.bodies()[0] === 'small'), 'held clients served');
  });

  it('admits a new connection once an open one closes', async () => {
    let limit: LimitConnectionsFactory | null = null;
    server = await realServer('iter', {}, (f) => (limit = new LimitConnectionsFactory(f, { maxConnections: 1 })));
    const first = rawClient(server.port);
    clients.push(first);
    await first.connected;
    await until(() => limit!.stats.openConnections === 1, 'first accepted');
    const refused = rawClient(server.port);
    clients.push(refused);
    await refused.closed;
    first.sock.end();
    await until(() => limit!.stats.openConnections === 0, 'first closed');
    const second = rawClient(server.port);
    clients.push(second);
    second.write(GET('/small'));
    await until(() => second.bodies()[0] === 'small', 'second served');
    expect(limit!.stats.rejectedConnections).toBe(1);
    expect(limit!.stats.acceptedConnections).toBe(2);
    second.sock.end();
    expect(await settled(server)).toEqual(BALANCED);
  });

  it('balances its count when the wrapped factory refuses, and passes half-close support through', () => {
    class Half extends Protocol {
      readConnectionLost(): void {}
    }
    const refusing = new LimitConnectionsFactory(
      { buildProtocol: () => null, doStart() {}, doStop() {} },
      { maxConnections: 1 },
    );
    expect(refusing.buildProtocol({ host: 'h', port: 1 })).toBeNull();
    expect(refusing.stats.openConnections).toBe(0);
    const plain = new LimitConnectionsFactory(Factory.forProtocol(Protocol), {});
    const half = new LimitConnectionsFactory(Factory.forProtocol(Half), {});
    expect(plain.buildProtocol({ host: 'h', port: 1 })!.readConnectionLost).toBeUndefined();
    expect(typeof half.buildProtocol({ host: 'h', port: 1 })!.readConnectionLost).toBe('function');
    expect(plain.maxConnections).toBe(DEFAULT_MAX_CONNECTIONS);
  });

  it('rejects a maxConnections that is not a whole number', () => {
    expect(() => new LimitConnectionsFactory(Factory.forProtocol(Protocol), { maxConnections: 1.5 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new LimitConnectionsFactory(Factory.forProtocol(Protocol), { maxConnections: -1 })).toThrow(
      /whole number of 0 or more, got -1/,
    );
  });
});
