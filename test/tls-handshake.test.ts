/**
 * What a TLS port does with clients that do not finish a handshake: one that
 * sends nothing is closed at handshakeTimeout (reactor time, driven here by a
 * Clock), plain HTTP and garbage are closed at once; none reaches the
 * protocol, failures are counted and logged once per stretch, and the reactor's
 * counters come back to zero. Also: a client refuses an untrusted server, and
 * a server that asks for client certificates refuses a client without one.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { ITLSTransport } from '../src/reactor/interfaces.js';
import { connectTLS, listenTLS, type TLSListeningPort } from '../src/reactor/tls/index.js';
import { InvalidArgumentError, TLSHandshakeError } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import { captureLogs } from '../src/reactor/log.js';
import { oneShotFactory, turnUntil, Recorder } from './transport-suite.js';
import { CA, CERT, KEY, clientTLS, clockedReactor, serverTLS } from './tls-fixtures.js';

/** A factory that counts the protocols it builds. */
function countingFactory() {
  const built: Recorder[] = [];
  return {
    built,
    buildProtocol: () => {
      const p = new Recorder();
      built.push(p);
      return p;
    },
    doStart() {},
    doStop() {},
  };
}

function rawClient(port: number): Promise<{ socket: Socket; closed: Promise<void>; received: () => number }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let received = 0;
    socket.on('data', (d) => void (received += d.length));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, closed, received: () => received }));
  });
}

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe('listenTLS: handshakes that never finish', () => {
  it('a client that opens the connection and sends nothing is closed at handshakeTimeout, not before, and never reaches the protocol', async () => {
    const { reactor, real, clock } = clockedReactor();
    const factory = countingFactory();
    const port = (await listenTLS(reactor, 0, factory, {
      ...serverTLS,
      host: '127.0.0.1',
      handshakeTimeout: 10,
    })) as TLSListeningPort;
    cleanup = async () => {
      const stopped = port.stopListening();
      clock.advance(0);
      await stopped;
      await real.stop();
    };
    const logs = captureLogs();
    try {
      const client = await rawClient(port.getHost().port);
      await turnUntil(() => real.stats.openConnections === 1, 'the server accepted');
      clock.advance(9.9);
      let closed = false;
      void client.closed.then(() => (closed = true));
      await turnUntil(() => false, 'a few turns', 30).catch(() => {});
      expect(closed).toBe(false);
      clock.advance(0.1);
      await client.closed;
      await turnUntil(() => real.stats.openConnections === 0, 'the server side closed');
      expect(factory.built).toHaveLength(0);
      expect(port.handshakes).toEqual({ completed: 0, failed: 1, timedOut: 1 });
      const warnings = logs.events.filter((e) => e.level === 'warn' && /TLS handshake/.test(e.message));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(/did not finish within 10 s \(handshakeTimeout\)/);
    } finally {
      logs.restore();
    }
    expect(real.stats).toMatchObject({ openConnections: 0, pausedProducers: 0 });
  });

  it('plain HTTP and garbage bytes to a TLS port are closed without reaching the protocol; failures are logged once per stretch and summed up after a good handshake', async () => {
    const real = new NodeReactor();
    real.run();
    const factory = countingFactory();
    const port = (await listenTLS(real, 0, factory, { ...serverTLS, host: '127.0.0.1' })) as TLSListeningPort;
    cleanup = async () => {
      await port.stopListening();
      await real.stop();
    };
    const logs = captureLogs();
    try {
      const http = await rawClient(port.getHost().port);
      http.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await http.closed;
      const garbage = await rawClient(port.getHost().port);
      garbage.socket.write(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff)));
      await garbage.closed;
      const zeros = await rawClient(port.getHost().port);
      zeros.socket.write(Buffer.alloc(100));
      await zeros.closed;
      await turnUntil(
        () => real.stats.openConnections === 0 && port.handshakes.failed === 3,
        'all three closed on the server',
      );
      expect(factory.built).toHaveLength(0);
      expect(logs.events.filter((e) => e.level === 'warn')).toHaveLength(1);
      expect(logs.events[0]!.message).toMatch(/did not speak TLS|handshake failed/);
      // A good client ends the stretch: one line sums up the failures not logged.
      const good = new Recorder();
      connectTLS(real, '127.0.0.1', port.getHost().port, oneShotFactory(good), clientTLS);
      await turnUntil(() => good.made === 1 && factory.built.length === 1, 'the good client connected');
      expect(factory.built).toHaveLength(1);
      expect(port.handshakes).toMatchObject({ completed: 1, failed: 3, timedOut: 0 });
      const warnings = logs.events.filter((e) => e.level === 'warn').map((e) => e.message);
      expect(warnings).toHaveLength(2);
      expect(warnings[1]).toMatch(/^2 more TLS handshakes failed/);
      good.transport.loseConnection();
      await turnUntil(() => real.stats.openConnections === 0, 'closed');
    } finally {
      logs.restore();
    }
    expect(real.stats).toMatchObject({ openConnections: 0, pausedProducers: 0 });
  });

  it('connections still shaking hands are closed when the reactor shuts down', async () => {
    const real = new NodeReactor();
    real.run();
    const port = await listenTLS(real, 0, countingFactory(), { ...serverTLS, host: '127.0.0.1' });
    const client = await rawClient(port.getHost().port);
    await turnUntil(() => real.stats.openConnections === 1, 'accepted');
    await real.stop();
    await client.closed;
    await turnUntil(() => real.stats.openConnections === 0 && real.stats.listeningPorts === 0, 'all closed');
  });

  it('listenTLS without a key or certificate throws InvalidArgumentError naming what to pass', () => {
    const real = new NodeReactor();
    expect(() => listenTLS(real, 0, countingFactory(), { cert: CERT } as never)).toThrow(InvalidArgumentError);
    expect(() => listenTLS(real, 0, countingFactory(), { cert: CERT } as never)).toThrow(/needs \{ key, cert \}/);
    expect(() => listenTLS(real, 0, countingFactory(), { key: 'not a key', cert: 'not a cert' })).toThrow(
      /could not be loaded/,
    );
  });
});

describe('connectTLS and client certificates', () => {
  function failingClient() {
    const failures: Failure[] = [];
    const made: Recorder[] = [];
    return {
      failures,
      made,
      factory: {
        buildProtocol: () => {
          const p = new Recorder();
          made.push(p);
          return p;
        },
        doStart() {},
        doStop() {},
        startedConnecting() {},
        clientConnectionFailed: (_c: unknown, f: Failure) => void failures.push(f),
        clientConnectionLost() {},
      },
    };
  }

  it('a client that does not trust the server fails with TLSHandshakeError saying to pass ca, and builds no protocol', async () => {
    const real = new NodeReactor();
    real.run();
    const port = await listenTLS(real, 0, countingFactory(), { ...serverTLS, host: '127.0.0.1' });
    cleanup = async () => {
      await port.stopListening();
      await real.stop();
    };
    const c = failingClient();
    connectTLS(real, '127.0.0.1', port.getHost().port, c.factory);
    await turnUntil(() => c.failures.length === 1, 'the attempt failed');
    expect(c.failures[0]!.value).toBeInstanceOf(TLSHandshakeError);
    expect((c.failures[0]!.value as Error).message).toMatch(/not trusted.*pass the CA that signed it as ca/);
    const wrongName = failingClient();
    connectTLS(real, '127.0.0.1', port.getHost().port, wrongName.factory, { ca: CA, servername: 'example.org' });
    await turnUntil(() => wrongName.failures.length === 1, 'the attempt failed');
    expect(wrongName.failures[0]!.value).toBeInstanceOf(TLSHandshakeError);
    expect(c.made).toHaveLength(0);
    expect(wrongName.made).toHaveLength(0);
    // rejectUnauthorized: false (tests only) connects anyway, still encrypted.
    const lax = failingClient();
    connectTLS(real, '127.0.0.1', port.getHost().port, lax.factory, { rejectUnauthorized: false });
    await turnUntil(() => lax.made.length === 1, 'the lax client connected');
    expect((lax.made[0]!.transport as ITLSTransport).secure).toBe(true);
    lax.made[0]!.transport.loseConnection();
    await turnUntil(() => real.stats.openConnections === 0, 'nothing left open');
  });

  it('with requestCert, a client without a certificate is refused and one with a certificate from the CA gets in', async () => {
    const real = new NodeReactor();
    real.run();
    const factory = countingFactory();
    const port = (await listenTLS(real, 0, factory, {
      ...serverTLS,
      ca: CA,
      requestCert: true,
      host: '127.0.0.1',
    })) as TLSListeningPort;
    cleanup = async () => {
      await port.stopListening();
      await real.stop();
    };
    const logs = captureLogs();
    try {
      const anonymous = tlsConnect({ host: '127.0.0.1', port: port.getHost().port, ca: CA, servername: 'localhost' });
      anonymous.on('error', () => {});
      anonymous.on('data', () => {});
      await new Promise<void>((r) => anonymous.once('close', () => r()));
      await turnUntil(() => port.handshakes.failed === 1, 'the server counted the refusal');
      expect(factory.built).toHaveLength(0);
    } finally {
      logs.restore();
    }
    const client = new Recorder();
    connectTLS(real, '127.0.0.1', port.getHost().port, oneShotFactory(client), { ca: CA, cert: CERT, key: KEY });
    await turnUntil(() => client.made === 1 && factory.built.length === 1, 'the client with a certificate got in');
    client.transport.loseConnection();
    await turnUntil(() => real.stats.openConnections === 0, 'closed');
  });
});

describe('listenTLS: ALPN and SNI', () => {
  it('offers ALPNProtocols to the client and asks SNICallback for the name the client sent', async () => {
    const real = new NodeReactor();
    real.run();
    const names: string[] = [];
    const factory = countingFactory();
    const port = await listenTLS(real, 0, factory, {
      ...serverTLS,
      host: '127.0.0.1',
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, done) => {
        names.push(servername);
        done(null, createSecureContext({ key: KEY, cert: CERT }));
      },
    });
    cleanup = async () => {
      await port.stopListening();
      await real.stop();
    };
    const client = tlsConnect({
      host: '127.0.0.1',
      port: port.getHost().port,
      ca: CA,
      servername: 'localhost',
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    client.on('error', () => {});
    await new Promise<void>((r) => client.once('secureConnect', () => r()));
    expect(client.alpnProtocol).toBe('http/1.1');
    expect(client.authorized).toBe(true);
    expect(names).toEqual(['localhost']);
    await turnUntil(() => factory.built.length === 1, 'the server built the protocol');
    client.end();
    await turnUntil(() => real.stats.openConnections === 0, 'closed');
  });
});
