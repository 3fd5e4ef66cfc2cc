import { describe, expect, it } from 'vitest';
import { ConnectionLost, ProducerStoppedError } from '../src/reactor/errors.js';
import type { IAddress, IProducer, IPushProducer, ITransport } from '../src/reactor/interfaces.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { runTransportSuite, Recorder, type Connected } from './transport-suite.js';

/**
 * StringTransport has no peer, so the suite's peer is played here: what the
 * local protocol writes is read out with value()/clear() while the peer reads,
 * and the peer's writes are fed to dataReceived.
 */
class PeerSide implements ITransport {
  disconnecting = false;
  reading = true;
  constructor(
    private readonly st: StringTransport,
    private readonly local: Recorder,
  ) {}
  write(data: Uint8Array): void {
    this.local.dataReceived(data);
  }
  writeSequence(data: Iterable<Uint8Array>): void {
    for (const d of data) this.write(d);
  }
  pauseProducing(): void {
    this.reading = false;
  }
  resumeProducing(): void {
    this.reading = true;
  }
  stopProducing(): void {}
  registerProducer(_p: IProducer, _s: boolean): void {}
  unregisterProducer(): void {}
  loseConnection(): void {}
  abortConnection(): void {}
  loseWriteConnection(): void {}
  getPeer(): IAddress {
    return this.st.getHost();
  }
  getHost(): IAddress {
    return this.st.getPeer();
  }
}

const HIGH_WATER = 64 * 1024;

runTransportSuite('StringTransport', () => ({
  highWater: HIGH_WATER,
  caps: { closes: false, halfClose: false, addresses: false, readPause: false },
  async connect(local: Recorder, peer: Recorder): Promise<Connected> {
    const st = new StringTransport({ highWater: HIGH_WATER });
    local.makeConnection(st);
    const side = new PeerSide(st, local);
    peer.makeConnection(side);
    // The peer reads whatever was written, as long as it reads at all.
    const step = () => {
      if (!side.reading) return false;
      const v = st.value();
      if (v.byteLength === 0) {
        if (st.producer !== null && !st.streaming) {
          st.resumeRegisteredProducer();
          return st.value().byteLength > 0 || st.producer === null;
        }
        return false;
      }
      st.clear();
      peer.dataReceived(v);
      return true;
    };
    return {
      local: st,
      peer: side,
      buffered: () => st.value().byteLength,
      async settle(until, what) {
        for (let i = 0; i < 100_000 && !until(); i++) if (!step()) break;
        if (!until()) throw new Error(`StringTransport peer settled without: ${what}`);
      },
      async idle() {
        while (step());
      },
    };
  },
  async cleanup() {},
}));

describe('StringTransport', () => {
  it('records writes: value(), valueString(), clear()', () => {
    const t = new StringTransport();
    const buf = new TextEncoder().encode('hello ');
    t.write(buf);
    buf[0] = 0x4a; // changing the caller's buffer later does not change what was written
    t.writeSequence([new TextEncoder().encode('wor'), new TextEncoder().encode('ld')]);
    expect(t.valueString()).toBe('hello world');
    expect(t.value()).toEqual(new TextEncoder().encode('hello world'));
    t.clear();
    expect(t.value().byteLength).toBe(0);
  });

  it('loseConnection sets disconnecting and keeps its reason; abortConnection records ConnectionLost', () => {
    const t = new StringTransport();
    expect(t.disconnecting).toBe(false);
    const why = new Error('bad frame');
    t.loseConnection(why);
    expect(t.disconnecting).toBe(true);
    expect(t.closeReason).toBe(why);
    const u = new StringTransport();
    u.abortConnection();
    expect(u.disconnecting && u.aborted).toBe(true);
    expect(u.closeReason).toBeInstanceOf(ConnectionLost);
  });

  it('getPeer/getHost return { host, port }, configurable', () => {
    const t = new StringTransport({ peer: { host: '10.1.1.1', port: 4000 } });
    expect(t.getPeer()).toEqual({ host: '10.1.1.1', port: 4000 });
    expect(t.getHost()).toMatchObject({ host: '127.0.0.1', port: 8080 });
  });

  it('producerState follows pause/resume/stop of the transport; a stopped transport refuses pause and resume', () => {
    const t = new StringTransport();
    expect(t.producerState).toBe('producing');
    t.pauseProducing();
    expect(t.producerState).toBe('paused');
    t.resumeProducing();
    expect(t.producerState).toBe('producing');
    t.stopProducing();
    expect(t.producerState).toBe('stopped');
    expect(() => t.resumeProducing()).toThrow(ProducerStoppedError);
    expect(() => t.pauseProducing()).toThrow(ProducerStoppedError);
  });

  it('pauseRegisteredProducer/resumeRegisteredProducer play a peer, and balance when called twice', () => {
    const t = new StringTransport();
    const calls: string[] = [];
    const p: IPushProducer = {
      pauseProducing: () => void calls.push('pause'),
      resumeProducing: () => void calls.push('resume'),
      stopProducing() {},
    };
    t.registerProducer(p, true);
    t.resumeRegisteredProducer(); // never paused: nothing to balance
    t.pauseRegisteredProducer();
    t.pauseRegisteredProducer();
    t.resumeRegisteredProducer();
    t.resumeRegisteredProducer();
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('highWater pauses the registered producer past the mark and clear() resumes it', () => {
    const t = new StringTransport({ highWater: 10 });
    const calls: string[] = [];
    t.registerProducer(
      {
        pauseProducing: () => void calls.push('pause'),
        resumeProducing: () => void calls.push('resume'),
        stopProducing() {},
      },
      true,
    );
    t.write(new Uint8Array(10));
    expect(calls).toEqual([]);
    t.write(new Uint8Array(1));
    t.write(new Uint8Array(1));
    expect(calls).toEqual(['pause']);
    expect(t.registeredProducerPaused).toBe(true);
    t.clear();
    expect(calls).toEqual(['pause', 'resume']);
  });
});
