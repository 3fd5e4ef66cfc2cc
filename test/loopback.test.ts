import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import { ConnectionDone } from '../src/reactor/errors.js';
import { loopback, LOOPBACK_BUFFER_LIMIT, type LoopbackPump } from '../src/reactor/loopback.js';
import { LineReceiver } from '../src/protocols/linereceiver.js';
import { runTransportSuite, Recorder, type Connected } from './transport-suite.js';

runTransportSuite('loopback', () => {
  let pumper: LoopbackPump | null = null;
  return {
    highWater: LOOPBACK_BUFFER_LIMIT,
    caps: { closes: true, halfClose: true, addresses: true, readPause: true },
    async connect(local: Recorder, peer: Recorder): Promise<Connected> {
      const p = loopback(local, peer);
      pumper = p;
      return {
        local: p.aTransport,
        peer: p.bTransport,
        buffered: () => p.aTransport.bufferSize,
        async settle(until, what) {
          for (let i = 0; i < 10_000 && !until(); i++) if (!p.pump()) break;
          if (!until()) throw new Error(`loopback settled without: ${what}`);
        },
        async idle() {
          p.flush();
        },
      };
    },
    async cleanup() {
      pumper?.aTransport.abortConnection();
      pumper?.flush();
      expect(pumper?.aTransport.lost ?? true).toBe(true);
      expect(pumper?.bTransport.lost ?? true).toBe(true);
    },
  };
});

class Chat extends LineReceiver {
  lines: string[] = [];
  override lineReceived(line: string): void {
    this.lines.push(line);
    if (line === 'ping') this.sendLine('pong');
    if (line === 'bye') this.transport.loseConnection();
  }
}

describe('loopback', () => {
  it('moves nothing until pumped, and pump() says whether anything moved', () => {
    const a = new Chat();
    const b = new Chat();
    const p = loopback(a, b);
    a.sendLine('ping');
    expect(b.lines).toEqual([]);
    expect(p.pump()).toBe(true); // a to b (ping), then b to a (the pong b just wrote)
    expect(b.lines).toEqual(['ping']);
    expect(a.lines).toEqual(['pong']);
    expect(p.pump()).toBe(false);
    b.sendLine('ping');
    expect(a.lines).toEqual(['pong']);
    expect(p.pump()).toBe(true); // b to a delivers ping; a's pong waits for the next pump
    expect(b.lines).toEqual(['ping']);
    expect(p.pump()).toBe(true);
    expect(b.lines).toEqual(['ping', 'pong']);
  });

  it('with a clock, writes are delivered by clock.advance(0)', () => {
    const clock = new Clock();
    const a = new Chat();
    const b = new Chat();
    loopback(a, b, { clock });
    a.sendLine('ping');
    expect(b.lines).toEqual([]);
    clock.advance(0);
    expect(b.lines).toEqual(['ping']);
    expect(a.lines).toEqual(['pong']);
  });

  it('loseConnection is delivered on pump: both sides get ConnectionDone exactly once', () => {
    const a = new Recorder();
    const b = new Chat();
    let lost = 0;
    b.connectionLost = (r) => {
      lost++;
      expect(r.check(ConnectionDone)).toBe(ConnectionDone);
    };
    const p = loopback(a, b);
    a.transport.write(new TextEncoder().encode('bye\r\n'));
    p.flush();
    expect(lost).toBe(1);
    expect(a.lost).toHaveLength(1);
    expect(a.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
  });

  it('a bufferLimit option pauses the writer once that many bytes wait', () => {
    const a = new Recorder();
    const b = new Recorder();
    const p = loopback(a, b, { bufferLimit: 100 });
    let paused = 0;
    a.transport.registerProducer(
      { pauseProducing: () => void paused++, resumeProducing() {}, stopProducing() {} },
      true,
    );
    a.transport.write(new Uint8Array(100));
    expect(paused).toBe(0);
    a.transport.write(new Uint8Array(1));
    expect(paused).toBe(1);
    p.flush();
    expect(b.received).toBe(101);
  });

  it('addresses default to 127.0.0.1 with distinct ports and can be chosen', () => {
    const a = new Recorder();
    const b = new Recorder();
    loopback(a, b, { aAddress: { host: '10.0.0.1', port: 80 } });
    expect(b.transport.getPeer()).toEqual({ host: '10.0.0.1', port: 80 });
    expect(a.transport.getPeer()).toMatchObject({ host: '127.0.0.1', port: 2 });
  });
});
