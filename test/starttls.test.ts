/**
 * STARTTLS on a LineReceiver: a line protocol that agrees in the clear to
 * start TLS, then goes on over TLS on the same connection, in both roles —
 * spindle on both ends, and spindle against Node's own TLS as the other end.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket, createSecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { listenTCP } from '../src/reactor/tcp.js';
import { TLS_HANDSHAKE_TIMEOUT } from '../src/reactor/tls/index.js';
import type { ITLSTransport } from '../src/reactor/interfaces.js';
import { TLSHandshakeError, TLSStateError } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import { LineReceiver } from '../src/protocols/linereceiver.js';
import { oneShotFactory, turnUntil } from './transport-suite.js';
import { CA, CERT, KEY, clientTLS, clockedReactor, serverTLS } from './tls-fixtures.js';

/** Server role: answers STARTTLS with GO, then starts TLS; after that, echoes lines in upper case. */
class StartTLSServer extends LineReceiver {
  lines: string[] = [];
  lost: Failure[] = [];
  override lineReceived(line: string): void {
    this.lines.push(line);
    const t = this.transport as ITLSTransport;
    if (line === 'STARTTLS' && !t.secure) {
      this.sendLine('GO');
      t.startTLS(serverTLS, { server: true });
    } else {
      this.sendLine(`${t.secure ? 'secure' : 'clear'}:${line.toUpperCase()}`);
    }
  }
  override connectionLost(reason: Failure): void {
    this.lost.push(reason);
  }
}

/** Client role: asks for STARTTLS, starts TLS on GO, then sends a secret line. */
class StartTLSClient extends LineReceiver {
  lines: string[] = [];
  lost: Failure[] = [];
  constructor(private readonly tls = clientTLS as object) {
    super();
  }
  override connectionMade(): void {
    this.sendLine('hello');
    this.sendLine('STARTTLS');
  }
  override lineReceived(line: string): void {
    this.lines.push(line);
    if (line === 'GO') {
      (this.transport as ITLSTransport).startTLS(this.tls, { server: false });
      this.sendLine('secret');
    }
  }
  override connectionLost(reason: Failure): void {
    this.lost.push(reason);
  }
}

function sendLine(socket: Socket, line: string) {
  socket.write(`${line}\r\n`);
}

function readLines(socket: Socket): string[] {
  const lines: string[] = [];
  let buf = '';
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
  });
  return lines;
}

describe('STARTTLS on a LineReceiver', () => {
  it('spindle on both ends: lines before STARTTLS go in the clear, lines after it over TLS, on one connection', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const server = new StartTLSServer();
    const client = new StartTLSClient();
    const port = await reactor.listenTCP(0, oneShotFactory(server), { host: '127.0.0.1' });
    reactor.connectTCP('127.0.0.1', port.getHost().port, oneShotFactory(client));
    await turnUntil(() => client.lines.length === 3, 'the secret was answered');
    expect(server.lines).toEqual(['hello', 'STARTTLS', 'secret']);
    expect(client.lines).toEqual(['clear:HELLO', 'GO', 'secure:SECRET']);
    expect((client.transport as ITLSTransport).secure).toBe(true);
    expect(() => (client.transport as ITLSTransport).startTLS(clientTLS, { server: false })).toThrow(TLSStateError);
    client.transport.loseConnection();
    await turnUntil(() => server.lost.length === 1 && client.lost.length === 1, 'both closed');
    await port.stopListening();
    await turnUntil(() => reactor.stats.openConnections === 0, 'nothing left open');
    await reactor.stop();
  });

  it("server role against Node's TLS client: the client upgrades its socket after GO", async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const server = new StartTLSServer();
    const port = await reactor.listenTCP(0, oneShotFactory(server), { host: '127.0.0.1' });
    const raw = netConnect({ host: '127.0.0.1', port: port.getHost().port });
    const clear = readLines(raw);
    sendLine(raw, 'STARTTLS');
    await turnUntil(() => clear.includes('GO'), 'GO in the clear');
    const secure = tlsConnect({ socket: raw, ca: CA, servername: 'localhost' });
    const lines = readLines(secure as unknown as Socket);
    await new Promise<void>((r) => secure.once('secureConnect', () => r()));
    sendLine(secure as unknown as Socket, 'over tls');
    await turnUntil(() => lines.length === 1, 'the answer over TLS');
    expect(lines).toEqual(['secure:OVER TLS']);
    expect(secure.authorized).toBe(true);
    secure.end();
    await turnUntil(() => server.lost.length === 1, 'closed');
    await port.stopListening();
    await turnUntil(() => reactor.stats.openConnections === 0, 'nothing left open');
    await reactor.stop();
  });

  it("client role against Node's TLS server: spindle upgrades after GO and its secret arrives decrypted", async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const received: string[] = [];
    const server = createServer((raw) => {
      const clear = readLines(raw);
      const onClear = () => {
        if (!clear.includes('STARTTLS')) return;
        raw.off('data', onClear);
        sendLine(raw, 'GO');
        const secure = new TLSSocket(raw, {
          isServer: true,
          secureContext: createSecureContext({ key: KEY, cert: CERT }),
        });
        const lines = readLines(secure as unknown as Socket);
        secure.on('data', () => {
          if (lines.length > 0 && received.length === 0) {
            received.push(...lines);
            sendLine(secure as unknown as Socket, `node:${lines[0]}`);
          }
        });
      };
      raw.on('data', onClear);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const client = new StartTLSClient();
    reactor.connectTCP('127.0.0.1', (server.address() as { port: number }).port, oneShotFactory(client));
    await turnUntil(() => client.lines.length === 2, 'the answer over TLS');
    expect(received).toEqual(['secret']);
    expect(client.lines).toEqual(['GO', 'node:secret']);
    client.transport.loseConnection();
    await turnUntil(() => client.lost.length === 1, 'closed');
    await new Promise<void>((r) => server.close(() => r()));
    await reactor.stop();
  });

  it('a STARTTLS handshake that fails (the client does not trust the server) ends the connection with TLSHandshakeError', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const server = new StartTLSServer();
    const client = new StartTLSClient({});
    const port = await reactor.listenTCP(0, oneShotFactory(server), { host: '127.0.0.1' });
    reactor.connectTCP('127.0.0.1', port.getHost().port, oneShotFactory(client));
    await turnUntil(() => client.lost.length === 1 && server.lost.length === 1, 'both sides closed');
    expect(client.lost[0]!.value).toBeInstanceOf(TLSHandshakeError);
    expect(server.lines).toEqual(['hello', 'STARTTLS']); // the secret never reached the server
    await port.stopListening();
    await turnUntil(() => reactor.stats.openConnections === 0, 'nothing left open');
    await reactor.stop();
  });
});

describe('STARTTLS: the handshake timeout', () => {
  it('a peer that agrees to STARTTLS and then sends nothing is cut off at handshakeTimeout (reactor time) with TLSHandshakeError', async () => {
    const { reactor, real, clock } = clockedReactor();
    const server = new StartTLSServer();
    // Real sockets, the reactor's time a Clock: the connection's handshake timer runs on it.
    const port = await listenTCP(reactor, 0, oneShotFactory(server), { host: '127.0.0.1' });
    const raw = netConnect({ host: '127.0.0.1', port: port.getHost().port });
    raw.on('error', () => {});
    const clear = readLines(raw);
    await turnUntil(() => server.transport !== undefined, 'connected');
    sendLine(raw, 'STARTTLS');
    await turnUntil(() => clear.includes('GO'), 'GO in the clear');
    clock.advance(TLS_HANDSHAKE_TIMEOUT - 0.5);
    expect(server.lost).toHaveLength(0);
    clock.advance(0.5);
    await turnUntil(() => server.lost.length === 1, 'the server gave up');
    expect(server.lost[0]!.value).toBeInstanceOf(TLSHandshakeError);
    expect((server.lost[0]!.value as Error).message).toMatch(/did not finish within 10 s/);
    await new Promise<void>((r) => (raw.closed ? r() : raw.once('close', () => r())));
    const stopped = port.stopListening();
    clock.advance(0);
    await stopped;
    await turnUntil(() => real.stats.openConnections === 0, 'nothing left open');
    await real.stop();
  });
});
