/**
 * Backpressure and endings over a real socket and across the bridge:
 * a client that never reads pauses the server's producer (CPS) and stops the
 * pulls of an iterator app, with the server's buffers bounded; a CPS protocol
 * bridged by toIterApp hears of a disconnect in every state exactly once, its
 * producer is stopped, and nothing is left scheduled.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import type { Chunk, Environ } from '../src/bridge/interfaces.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { BRIDGE_MAX_BUFFERED } from '../src/bridge/bridgequeue.js';
import { BridgeOverflowError } from '../src/bridge/errors.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { acceptWebSocket } from '../src/protocols/websocket/accept.js';
import type { WebSocketClosedError } from '../src/protocols/websocket/errors.js';
import { OP_CLOSE, OP_TEXT } from '../src/protocols/websocket/frame.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import type { Failure } from '../src/reactor/failure.js';
import type { IPushProducer } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { makeServer } from './http-channel-helpers.js';
import { cat, closeBody, frame } from './websocket-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const HANDSHAKE =
  'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
const CHUNK = new Uint8Array(64 * 1024);

/** Sends 64 KiB messages for ever, but only while the transport does not pause it. */
class Flood extends WebSocketProtocol implements IPushProducer {
  static last: Flood;
  sent = 0;
  pauses = 0;
  stopped = false;
  lost: WebSocketClosedError[] = [];
  private paused = false;
  override connectionMade(): void {
    Flood.last = this;
    this.transport.registerProducer(this, true);
    this.resumeProducing();
  }
  pauseProducing(): void {
    this.paused = true;
    this.pauses++;
  }
  resumeProducing(): void {
    this.paused = false;
    for (let i = 0; i < 1000 && !this.paused && !this.stopped; i++) {
      this.sent++;
      this.sendMessage(CHUNK);
    }
  }
  stopProducing(): void {
    this.stopped = true;
  }
  override connectionLost(reason: Failure): void {
    this.lost.push(reason.value as WebSocketClosedError);
  }
}

/** A raw client that shakes hands and then never reads. */
async function stalledClient(port: number): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  cleanups.push(
    () => new Promise<void>((r) => (sock.destroyed ? r() : (sock.once('close', () => r()), sock.destroy()))),
  );
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(HANDSHAKE);
  await new Promise<void>((r) => sock.once('readable', () => r()));
  sock.pause();
  return sock;
}

async function serveOnSocket(app: CpsApp) {
  const reactor = new NodeReactor();
  reactor.run();
  cleanups.push(() => reactor.stop());
  const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return { reactor, port: port.getHost().port };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('a client that never reads (real socket)', () => {
  it('pauses the CPS protocol’s producer; what it sent stays bounded and it stays paused', async () => {
    const { reactor, port } = await serveOnSocket((request: IRequest) => void acceptWebSocket(request, new Flood()));
    await stalledClient(port);
    while (Flood.last === undefined || Flood.last.pauses === 0) await turns(1);
    const flood = Flood.last;
    await turns(50);
    const sent = flood.sent;
    await turns(50);
    expect(flood.sent).toBe(sent);
    expect(reactor.stats.pausedProducers).toBe(1);
    // Kernel buffers take some megabytes; the server itself holds at most its high-water mark past them.
    expect(sent * CHUNK.length).toBeLessThan(64 * 1024 * 1024);
  });

  it('stops pulling an iterator app, which resumes when the client reads again', async () => {
    let pulls = 0;
    const { port } = await serveOnSocket(
      toCpsApp(function* (environ: Environ): Generator<Chunk> {
        environ['spindle.websocket']!.accept();
        for (;;) {
          pulls++;
          yield CHUNK;
        }
      }),
    );
    const sock = await stalledClient(port);
    let last = -1;
    while (pulls !== last) {
      last = pulls;
      await turns(20);
    }
    expect(pulls * CHUNK.length).toBeLessThan(64 * 1024 * 1024);
    sock.resume();
    while (pulls === last) await turns(1);
    expect(pulls).toBeGreaterThan(last);
  });
});

describe('a CPS protocol bridged by toIterApp: disconnect in every state', () => {
  class Member extends WebSocketProtocol implements IPushProducer {
    lost: WebSocketClosedError[] = [];
    stops = 0;
    received: unknown[] = [];
    override connectionMade(): void {
      this.transport.registerProducer(this, true);
    }
    override messageReceived(data: unknown): void {
      this.received.push(data);
      if (data === 'close') this.close(4000);
    }
    override connectionLost(reason: Failure): void {
      this.lost.push(reason.value as WebSocketClosedError);
    }
    pauseProducing(): void {}
    resumeProducing(): void {}
    stopProducing(): void {
      this.stops++;
    }
  }

  function bridged(acceptNow = true) {
    const members: Member[] = [];
    const pending: IRequest[] = [];
    const cps: CpsApp = (request) => {
      const m = new Member();
      members.push(m);
      if (acceptNow) acceptWebSocket(request, m);
      else pending.push(request);
    };
    const host = toCpsApp(toIterApp(cps));
    const s = makeServer(host);
    s.send(HANDSHAKE);
    return {
      ...s,
      members,
      pending,
      host,
      frames: (...fs: Parameters<typeof frame>[0][]) => s.channel.dataReceived(cat(fs.map(frame))),
    };
  }

  const settled = (s: ReturnType<typeof bridged>) => {
    s.reactor.advance(10);
    expect(s.reactor.getDelayedCalls()).toHaveLength(0);
    expect(s.host.gatewayStats).toMatchObject({ activeResponses: 0, pausedResponses: 0 });
    expect(s.factory.stats.openChannels).toBe(0);
  };

  it('before accept: the CPS app’s notifyFinish errbacks', () => {
    const s = bridged(false);
    let lost: unknown = null;
    s.pending[0]!.notifyFinish().addErrback((f: Failure) => void (lost = f.value));
    s.close(false);
    expect(lost).not.toBeNull();
    settled(s);
  });

  it('open, mid-message: connectionLost once with 1006, producer stopped once', () => {
    const s = bridged();
    s.reactor.advance(0);
    s.frames({ opcode: OP_TEXT, payload: 'whole' });
    s.channel.dataReceived(frame({ opcode: OP_TEXT, payload: 'x'.repeat(50) }).subarray(0, 10));
    s.reactor.advance(0);
    s.close(false);
    const m = s.members[0]!;
    expect(m.received).toEqual(['whole']);
    expect(m.lost).toHaveLength(1);
    expect(m.lost[0]).toMatchObject({ closeCode: 1006, wasClean: false });
    expect(m.stops).toBe(1);
    settled(s);
  });

  it('during the closing handshake: the CPS side closed, the peer vanished', () => {
    const s = bridged();
    s.reactor.advance(0);
    s.frames({ opcode: OP_TEXT, payload: 'close' });
    s.reactor.advance(0);
    s.reactor.advance(0);
    expect(s.transport.value().length).toBeGreaterThan(0);
    s.close(false);
    expect(s.members[0]!.lost).toHaveLength(1);
    settled(s);
  });

  it('a bridged protocol that sends regardless of pauses gets BridgeOverflowError past BRIDGE_MAX_BUFFERED', () => {
    const s = bridged();
    const m = s.members[0]!;
    const mib = new Uint8Array(1024 * 1024);
    for (let i = 0; i < BRIDGE_MAX_BUFFERED / mib.length; i++) m.sendMessage(mib);
    expect(() => m.sendMessage(mib)).toThrow(BridgeOverflowError);
  });

  it('a clean close from the peer reaches the bridged protocol with its code', () => {
    const s = bridged();
    s.reactor.advance(0);
    s.frames({ opcode: OP_CLOSE, payload: closeBody(4001, 'bye') });
    s.close(true);
    expect(s.members[0]!.lost[0]).toMatchObject({ closeCode: 4001, closeReason: 'bye', wasClean: true });
    settled(s);
  });
});
