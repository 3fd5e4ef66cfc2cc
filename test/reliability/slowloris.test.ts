/**
 * Slow-loris: connections that trickle their request head (one byte a
 * second, or a few bytes and then nothing) are answered 408 and closed by the
 * header timeout, which a trickle does not extend, while normal clients keep
 * being served. The timeout logic runs on a Clock (MemoryReactor), the
 * sockets' side on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toCpsApp } from '../../src/bridge/gateway.js';
import { ConnectionDone } from '../../src/reactor/errors.js';
import { Failure } from '../../src/reactor/failure.js';
import { MemoryReactor } from '../../src/reactor/memoryreactor.js';
import { StringTransport } from '../../src/reactor/stringtransport.js';
import type { HTTPChannel } from '../../src/protocols/http/channel.js';
import { captureLogs } from '../../src/reactor/log.js';
import { HTTPFactory } from '../../src/protocols/http/factory.js';
import {
  BALANCED,
  badEvents,
  completeResponses,
  rawClient,
  realServer,
  settled,
  spyCpsApp,
  spyIterApp,
  stopServer,
  Tracker,
  until,
  type RealServer,
} from './helpers.js';

let logs = captureLogs();
let server: RealServer | null = null;
afterEach(async () => {
  if (server !== null) await stopServer(server);
  server = null;
  logs.restore();
  logs = captureLogs();
});

const HEAD = `GET /small HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'l'.repeat(200)}\r\n\r\n`;

describe('slow-loris on a Clock', () => {
  it.each(['iter', 'cps'] as const)(
    '%s app: 100 one-byte-a-second heads get 408 at the header timeout; a normal client is served every second',
    (style) => {
      const reactor = new MemoryReactor();
      const tracker = new Tracker();
      const app = style === 'iter' ? toCpsApp(spyIterApp(tracker), { reactor }) : spyCpsApp(tracker);
      const headerTimeout = 10;
      const factory = new HTTPFactory(app, { reactor, headerTimeout, idleTimeout: 5 });
      const open = (): { channel: HTTPChannel; transport: StringTransport } => {
        const channel = factory.buildProtocol({ host: '192.0.2.1', port: 1 }) as HTTPChannel;
        const transport = new StringTransport();
        channel.makeConnection(transport);
        return { channel, transport };
      };
      /** StringTransport does not call back: play the kernel's part once the server closed. */
      const reap = (c: { channel: HTTPChannel; transport: StringTransport }) => {
        if (c.transport.disconnecting) c.channel.connectionLost(new Failure(new ConnectionDone()));
      };
      const loris = Array.from({ length: 100 }, open);
      let served = 0;
      for (let second = 0; second < headerTimeout + 2; second++) {
        loris.forEach((l) => {
          if (!l.transport.disconnecting) l.channel.dataReceived(new Uint8Array([HEAD.charCodeAt(second)]));
        });
        const normal = open();
        normal.channel.dataReceived(
          new Uint8Array(Buffer.from('GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1')),
        );
        reactor.advance(0);
        expect(completeResponses(normal.transport.valueString()).map((r) => r.body)).toEqual(['small']);
        served++;
        reap(normal);
        // Before the timeout the trickling heads are still waiting; after it every one was answered 408.
        const answered = loris.filter((l) => l.transport.disconnecting).length;
        expect({ second, answered }).toEqual({ second, answered: second < headerTimeout ? 0 : 100 });
        reactor.advance(1);
      }
      expect(served).toBe(headerTimeout + 2);
      for (const l of loris) {
        expect(completeResponses(l.transport.valueString()).map((r) => r.status)).toEqual([408]);
        reap(l);
      }
      expect(factory.stats.timeouts).toBe(100);
      expect(factory.stats.requests).toBe(headerTimeout + 2);
      expect(factory.stats.openChannels).toBe(0);
      expect(reactor.getDelayedCalls()).toEqual([]);
      expect(tracker.unclosed()).toBe(0);
    },
  );

  it('a body trickled slower than the idle timeout is cut with 408; a fast one is not', () => {
    const reactor = new MemoryReactor();
    const tracker = new Tracker();
    const factory = new HTTPFactory(toCpsApp(spyIterApp(tracker), { reactor }), { reactor, idleTimeout: 5 });
    const channel = factory.buildProtocol({ host: '192.0.2.1', port: 1 }) as HTTPChannel;
    const transport = new StringTransport();
    channel.makeConnection(transport);
    channel.dataReceived(
      new Uint8Array(Buffer.from('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'latin1')),
    );
    for (let i = 0; i < 20; i++) {
      channel.dataReceived(new Uint8Array([0x61]));
      reactor.advance(4.9); // each byte just inside the idle timeout: the upload keeps going
    }
    expect(transport.disconnecting).toBe(false);
    reactor.advance(0.2);
    expect(transport.disconnecting).toBe(true);
    expect(completeResponses(transport.valueString()).map((r) => r.status)).toEqual([408]);
    channel.connectionLost(new Failure(new ConnectionDone()));
    reactor.advance(1);
    expect(tracker.unclosed()).toBe(0);
    expect(reactor.getDelayedCalls()).toEqual([]);
  });
});

describe('slow-loris on real sockets', () => {
  it.each(['iter', 'cps'] as const)(
    '%s app: 100 stalled heads are closed with 408 while 30 normal clients are served',
    async (style) => {
      server = await realServer(style, { headerTimeout: 1 });
      const loris = Array.from({ length: 100 }, () => rawClient(server!.port));
      await Promise.all(loris.map((l) => l.connected));
      loris.forEach((l, i) => l.write(HEAD.slice(0, 1 + (i % 40))));
      let served = 0;
      for (let i = 0; i < 30; i++) {
        const c = rawClient(server.port);
        c.write('GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        await c.closed;
        if (c.bodies()[0] === 'small') served++;
      }
      expect(served).toBe(30);
      await Promise.all(loris.map((l) => l.closed));
      expect(loris.map((l) => completeResponses(l.text())[0]?.status)).toEqual(loris.map(() => 408));
      await until(() => server!.factory.stats.timeouts === 100, 'timeouts counted');
      expect(await settled(server)).toEqual(BALANCED);
      expect(badEvents(logs.events)).toEqual([]);
    },
    30_000,
  );
});

describe('a body that stops arriving (real sockets)', () => {
  it.each(['iter', 'cps'] as const)(
    '%s app: 408 at the idle timeout, the app ended and every counter balanced',
    async (style) => {
      server = await realServer(style, { idleTimeout: 0.3 });
      const clients = Array.from({ length: 10 }, () => rawClient(server!.port));
      await Promise.all(clients.map((c) => c.connected));
      clients.forEach((c, i) =>
        c.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'u'.repeat(i * 1000)}`),
      );
      await Promise.all(clients.map((c) => c.closed));
      expect(clients.map((c) => completeResponses(c.text())[0]?.status)).toEqual(clients.map(() => 408));
      expect(await settled(server)).toEqual(BALANCED);
      expect(badEvents(logs.events)).toEqual([]);
    },
    30_000,
  );
});
