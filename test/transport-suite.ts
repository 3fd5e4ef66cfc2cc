/**
 * One conformance suite for every transport (STYLE.md: "Conformance suites run
 * against every implementation"). `runTransportSuite(name, make)` registers the
 * cases; `make()` connects a protocol under test (`local`) to a peer protocol
 * and says how to let I/O progress. Cases a transport cannot express (a
 * StringTransport has no peer to half-close) are not registered for it.
 */
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionDone, ConnectionLost, ProducerAlreadyRegisteredError } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type {
  IAddress,
  IClientFactory,
  IConnector,
  IProtocol,
  IProtocolFactory,
  IPushProducer,
  ITransport,
} from '../src/reactor/interfaces.js';
import { captureLogs } from '../src/reactor/log.js';
import type { IListeningPort, IReactor } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { TRANSPORT_HIGH_WATER } from '../src/reactor/tcpconnection.js';

/** A protocol that records everything that happens to it. */
export class Recorder implements IProtocol {
  transport!: ITransport;
  chunks: Uint8Array[] = [];
  received = 0;
  made = 0;
  lost: Failure[] = [];
  readLost = 0;
  onData: ((data: Uint8Array) => void) | null = null;
  onMade: ((t: ITransport) => void) | null = null;
  constructor(readonly halfClose = false) {
    if (halfClose) this.readConnectionLost = () => void this.readLost++;
  }
  readConnectionLost?: () => void;
  makeConnection(t: ITransport): void {
    this.transport = t;
    this.made++;
    this.onMade?.(t);
  }
  dataReceived(data: Uint8Array): void {
    this.chunks.push(Uint8Array.prototype.slice.call(data));
    this.received += data.byteLength;
    this.onData?.(data);
  }
  connectionLost(reason: Failure): void {
    this.lost.push(reason);
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

export interface Connected {
  /** The transport under test (given to `local`). */
  local: ITransport;
  /** The peer's transport: the suite pauses it to play a peer that stops reading. */
  peer: ITransport;
  /** Bytes the transport under test holds in its own write buffer. */
  buffered(): number;
  /** Let I/O progress until `until()` holds (fails the test if it never does). */
  settle(until: () => boolean, what: string): Promise<void>;
  /** Let I/O progress a little without a condition (a stalled peer stays stalled). */
  idle(): Promise<void>;
}

export interface TransportMaker {
  /** Write-buffer bytes past which the local transport pauses its producer. */
  highWater: number;
  /** Which cases apply: peer FIN/half-close, abort and connectionLost delivery, addresses. */
  caps: {
    closes: boolean;
    halfClose: boolean;
    addresses: boolean;
    readPause: boolean;
    /** The peer's abortConnection reaches this side as a reset (default true). A Unix socket has no reset: an abort reads as a clean EOF. */
    peerAbortResets?: boolean;
  };
  connect(local: Recorder, peer: Recorder): Promise<Connected>;
  /** Close everything this maker opened; may check nothing leaked. */
  cleanup(): Promise<void>;
}

/** Data whose every byte depends on its offset, so reordering or loss shows. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return out;
}

/** A push producer that writes `chunk`-sized pieces until `total`, checking the buffer bound at each write. */
class StreamingProducer implements IPushProducer {
  paused = false;
  pauses = 0;
  resumes = 0;
  stopped = 0;
  written = 0;
  maxBuffered = 0;
  doubled = false;
  private readonly data: Uint8Array;
  constructor(
    private readonly c: Connected,
    private readonly chunk: number,
    private readonly total: number,
  ) {
    this.data = pattern(total);
  }
  pauseProducing(): void {
    if (this.paused) this.doubled = true;
    this.paused = true;
    this.pauses++;
  }
  resumeProducing(): void {
    if (!this.paused) this.doubled = true;
    this.paused = false;
    this.resumes++;
    this.produce();
  }
  stopProducing(): void {
    this.stopped++;
  }
  produce(): void {
    while (!this.paused && this.written < this.total) {
      const n = Math.min(this.chunk, this.total - this.written);
      this.c.local.write(this.data.subarray(this.written, this.written + n));
      this.written += n;
      this.maxBuffered = Math.max(this.maxBuffered, this.c.buffered());
    }
    if (this.written >= this.total && !this.paused) this.c.local.unregisterProducer();
  }
}

export function runTransportSuite(name: string, make: () => TransportMaker): void {
  describe(`transport conformance: ${name}`, () => {
    let maker: TransportMaker;
    afterEach(async () => {
      await maker?.cleanup();
    });
    const setup = async (localHalf = false, peerHalf = false) => {
      maker = make();
      const local = new Recorder(localHalf);
      const peer = new Recorder(peerHalf);
      const c = await maker.connect(local, peer);
      return { local, peer, c };
    };

    it('delivers written bytes in order, through write and writeSequence', async () => {
      const { peer, c } = await setup();
      const data = pattern(300_000, 7);
      c.local.write(data.subarray(0, 1));
      c.local.writeSequence([data.subarray(1, 1000), data.subarray(1000, 1000), data.subarray(1000, 70_000)]);
      c.local.write(data.subarray(70_000));
      await c.settle(() => peer.received >= data.byteLength, 'peer received everything');
      expect(Buffer.compare(peer.bytes(), data)).toBe(0);
    });

    it('delivers incoming bytes to the protocol in order', async () => {
      const { local, c } = await setup();
      const data = pattern(200_000, 3);
      for (let at = 0; at < data.byteLength; at += 4096) c.peer.write(data.subarray(at, at + 4096));
      await c.settle(() => local.received >= data.byteLength, 'local received everything');
      expect(Buffer.compare(local.bytes(), data)).toBe(0);
    });

    it('refuses a string (or anything but a Uint8Array) with a TypeError naming the fix', async () => {
      const { c } = await setup();
      expect(() => c.local.write('hello' as unknown as Uint8Array)).toThrow(
        /expects a Uint8Array, got a string; encode it first/,
      );
      expect(() => c.local.write([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    });

    it('refuses a second producer while one is registered', async () => {
      const { c } = await setup();
      const p = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
      c.local.registerProducer(p, true);
      expect(() => c.local.registerProducer(p, true)).toThrow(ProducerAlreadyRegisteredError);
      c.local.unregisterProducer();
      c.local.registerProducer(p, true); // allowed again after unregistering
      c.local.unregisterProducer();
    });

    const stalledPeer = (chunk: number, total: number) => async () => {
      const { peer, c } = await setup();
      c.peer.pauseProducing(); // the peer stops reading
      const producer = new StreamingProducer(c, chunk, total);
      c.local.registerProducer(producer, true);
      producer.produce();
      await c.settle(() => producer.paused, 'the producer is paused');
      await c.idle();
      expect(producer.paused).toBe(true);
      const writtenWhileStalled = producer.written;
      await c.idle();
      expect(producer.written).toBe(writtenWhileStalled); // still stalled: nothing more was produced
      expect(producer.written).toBeLessThan(total);
      expect(producer.maxBuffered).toBeLessThanOrEqual(maker.highWater + chunk);
      c.peer.resumeProducing();
      await c.settle(() => peer.received >= total, 'the peer got everything once it read again');
      expect(Buffer.compare(peer.bytes(), pattern(total))).toBe(0);
      expect(producer.doubled).toBe(false);
      expect(producer.pauses).toBeGreaterThanOrEqual(1);
      expect(producer.resumes).toBe(producer.pauses);
      expect(producer.maxBuffered).toBeLessThanOrEqual(maker.highWater + chunk);
    };

    it(
      'a peer that stops reading never makes the sender buffer more than the high-water mark plus one write; pauses and resumes balance',
      stalledPeer(16 * 1024, 24 * 1024 * 1024),
    );

    it(
      'the same with rows of 1000 bytes (small writes, merged into runs): bounded, balanced, every byte in order',
      stalledPeer(1000, 24 * 1024 * 1024),
    );

    it('asks a pull producer for more each time its data is flushed, and not while it waits', async () => {
      const { peer, c } = await setup();
      const chunk = pattern(10_000, 5);
      let pulls = 0;
      const pull = {
        resumeProducing() {
          pulls++;
          if (pulls <= 20) c.local.write(chunk);
          else c.local.unregisterProducer();
        },
        stopProducing() {},
      };
      c.local.registerProducer(pull, false);
      expect(pulls).toBe(1); // registering a pull producer asks it at once
      await c.settle(() => pulls > 20, 'the producer was pulled 21 times');
      await c.settle(() => peer.received >= 20 * chunk.byteLength, 'the peer got 20 chunks');
      expect(peer.received).toBe(20 * chunk.byteLength);
    });

    if (capsOf(make).readPause) {
      it('pauseProducing stops delivering incoming data until resumeProducing', async () => {
        const { local, c } = await setup();
        c.local.pauseProducing();
        c.peer.write(pattern(50_000));
        await c.idle();
        expect(local.received).toBe(0);
        c.local.resumeProducing();
        await c.settle(() => local.received >= 50_000, 'data arrives after resume');
        expect(Buffer.compare(local.bytes(), pattern(50_000))).toBe(0);
      });
    }

    if (capsOf(make).addresses) {
      it("getPeer and getHost give { host, port } and mirror the peer's view", async () => {
        const { c } = await setup();
        expect(c.local.getPeer()).toMatchObject({ host: c.peer.getHost().host, port: c.peer.getHost().port });
        expect(c.local.getHost()).toMatchObject({ host: c.peer.getPeer().host, port: c.peer.getPeer().port });
        expect(typeof c.local.getPeer().port).toBe('number');
      });
    }

    if (capsOf(make).closes) {
      it('loseConnection sends what is buffered, waits for the producer to unregister, then both sides get ConnectionDone once', async () => {
        const { local, peer, c } = await setup();
        const data = pattern(2_000_000, 9);
        const producer = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
        c.local.registerProducer(producer, true);
        c.local.write(data);
        c.local.loseConnection();
        expect(c.local.disconnecting).toBe(true);
        await c.settle(() => peer.received >= data.byteLength, 'peer got the buffered data');
        await c.idle();
        expect(local.lost).toHaveLength(0); // the producer is still registered
        c.local.unregisterProducer();
        await c.settle(() => local.lost.length > 0 && peer.lost.length > 0, 'both sides lost the connection');
        await c.idle();
        expect(Buffer.compare(peer.bytes(), data)).toBe(0);
        expect(local.lost).toHaveLength(1);
        expect(peer.lost).toHaveLength(1);
        expect(local.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
        expect(peer.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
      });

      it('abortConnection drops the buffer; connectionLost(ConnectionLost) comes later, not inside the call', async () => {
        const { local, peer, c } = await setup();
        c.local.write(pattern(100_000));
        c.local.abortConnection();
        expect(local.lost).toHaveLength(0);
        await c.settle(() => local.lost.length > 0 && peer.lost.length > 0, 'both sides lost the connection');
        await c.idle();
        expect(local.lost).toHaveLength(1);
        expect(peer.lost).toHaveLength(1);
        expect(local.lost[0]!.check(ConnectionLost)).toBe(ConnectionLost);
        // The peer's reason depends on the network: over TCP, Linux sends FIN rather than RST once data was written.
        expect(peer.lost[0]!.check(ConnectionLost, ConnectionDone)).not.toBeNull();
      });

      if (capsOf(make).peerAbortResets !== false) {
        it('a registered producer gets stopProducing once when the connection dies, before connectionLost', async () => {
          const { local, c } = await setup();
          const events: string[] = [];
          c.local.registerProducer(
            {
              pauseProducing() {},
              resumeProducing() {},
              stopProducing: () => void events.push(`stop (lost ${local.lost.length})`),
            },
            true,
          );
          c.peer.abortConnection();
          await c.settle(() => local.lost.length > 0, 'the local side lost the connection');
          await c.idle();
          expect(events).toEqual(['stop (lost 0)']);
        });
      }

      it('a protocol that throws in dataReceived gets its connection aborted, with the error as the reason', async () => {
        const { local, peer, c } = await setup();
        const boom = new Error('protocol bug');
        local.onData = () => {
          throw boom;
        };
        const logs = captureLogs();
        try {
          c.peer.write(pattern(10));
          await c.settle(() => local.lost.length > 0 && peer.lost.length > 0, 'both sides lost the connection');
        } finally {
          logs.restore();
        }
        expect(
          logs.events.some((e) => e.level === 'error' && e.failure?.value === boom && /dataReceived/.test(e.message)),
        ).toBe(true);
        expect(local.lost[0]!.value).toBe(boom);
        expect(peer.lost).toHaveLength(1);
      });

      it('a peer FIN closes a protocol without readConnectionLost cleanly, after its reply is sent', async () => {
        const { local, peer, c } = await setup(false, true);
        local.onData = (d) => c.local.write(d); // echo
        c.peer.write(pattern(1000));
        c.peer.loseWriteConnection();
        await c.settle(() => local.lost.length > 0 && peer.lost.length > 0, 'both sides closed');
        expect(Buffer.compare(peer.bytes(), pattern(1000))).toBe(0);
        expect(peer.readLost).toBe(0); // its own write side was closed already: the FIN ends the connection
        expect(local.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
        expect(peer.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
      });
    }

    if (capsOf(make).halfClose) {
      it('half-close: loseWriteConnection sends FIN while reading goes on; the peer answers and closes', async () => {
        const { local, peer, c } = await setup(true, true);
        c.local.write(pattern(5000, 1));
        c.local.loseWriteConnection();
        c.local.write(pattern(10)); // after the FIN: dropped
        await c.settle(() => peer.readLost === 1, 'the peer saw the FIN');
        expect(Buffer.compare(peer.bytes(), pattern(5000, 1))).toBe(0);
        expect(local.lost).toHaveLength(0);
        c.peer.write(pattern(3000, 2));
        await c.settle(() => local.received >= 3000, 'the reply arrived on the half-closed side');
        c.peer.loseConnection();
        await c.settle(() => local.lost.length > 0 && peer.lost.length > 0, 'both sides closed');
        await c.idle();
        expect(Buffer.compare(local.bytes(), pattern(3000, 2))).toBe(0);
        expect(local.lost).toHaveLength(1);
        expect(local.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
        expect(peer.lost[0]!.check(ConnectionDone)).toBe(ConnectionDone);
      });
    }
  });
}

function capsOf(make: () => TransportMaker): TransportMaker['caps'] {
  return make().caps;
}

// Helpers for the suites and tests that use real sockets.

/** A factory (server or client) whose only protocol is `p`. */
export function oneShotFactory(p: IProtocol): IProtocolFactory & IClientFactory {
  return {
    buildProtocol: (_addr: IAddress) => p,
    doStart() {},
    doStop() {},
    startedConnecting(_c: IConnector) {},
    clientConnectionFailed(_c: IConnector, f: Failure) {
      throw f.value;
    },
    clientConnectionLost() {},
  };
}

/** Turn the event loop until `until()` holds; fails after many turns. */
export async function turnUntil(until: () => boolean, what: string, maxTurns = 200_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (until()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting: ${what}`);
}

export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** How to make one kind of real socket pair on a fresh NodeReactor: listen, then connect to what was listened on. */
export interface SocketKind {
  caps: TransportMaker['caps'];
  listen(reactor: IReactor, server: IProtocolFactory): Promise<IListeningPort>;
  connect(reactor: IReactor, port: IListeningPort, client: IClientFactory): void;
  /** Extra wait once both ends are connected. */
  settled?(): Promise<void>;
}

/** A `TransportMaker` over real sockets of `kind`, with the transport under test on the accepting or the connecting side. */
export function socketMaker(kind: SocketKind, localIsServer: boolean): () => TransportMaker {
  return () => {
    const reactor = new NodeReactor();
    reactor.run();
    let port: IListeningPort | null = null;
    let pair: Connected | null = null;
    return {
      highWater: TRANSPORT_HIGH_WATER,
      caps: kind.caps,
      async connect(local: Recorder, peer: Recorder) {
        const server = localIsServer ? local : peer;
        const client = localIsServer ? peer : local;
        port = await kind.listen(reactor, oneShotFactory(server));
        kind.connect(reactor, port, oneShotFactory(client));
        await turnUntil(() => server.made === 1 && client.made === 1, 'both ends connected');
        await kind.settled?.();
        pair = {
          local: local.transport,
          peer: peer.transport,
          buffered: () => (local.transport as ITransport & { bufferSize: number }).bufferSize,
          settle: turnUntil,
          idle: () => turns(50),
        };
        return pair;
      },
      async cleanup() {
        if (pair) {
          pair.local.abortConnection();
          pair.peer.abortConnection();
        }
        if (port) await port.stopListening();
        await turnUntil(() => reactor.stats.openConnections === 0, 'every connection closed');
        await reactor.stop();
        if (reactor.stats.listeningPorts !== 0 || reactor.stats.pausedProducers !== 0) {
          throw new Error(`leaked: ${JSON.stringify(reactor.stats)}`);
        }
      },
    };
  };
}

/** A few turns of writes for property tests: small (merged), around 1 KiB, and `big`; `who` picks one of three connections. */
export const turnsOfWrites = (big: number, maxPerTurn: number) =>
  fc.array(
    fc.array(
      fc.record({
        who: fc.integer({ min: 0, max: 2 }),
        len: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 900, max: 1100 }), fc.constant(big)),
        fill: fc.integer({ min: 0x21, max: 0x7e }),
      }),
      { maxLength: maxPerTurn },
    ),
    { minLength: 1, maxLength: 3 },
  );

/** Play `turns`: each write's chunk goes to `write`, then the reactor turn ends. */
export async function playTurns(
  turns: Array<Array<{ who: number; len: number; fill: number }>>,
  write: (who: number, chunk: Uint8Array) => void,
): Promise<void> {
  for (const writes of turns) {
    for (const w of writes) write(w.who, new Uint8Array(w.len).fill(w.fill));
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Spy on the socket under a spindle transport: the chunk count of each `_write`
 * (1) and `_writev` (n) call; on an idle socket each call is one system call
 * (or, on TLS, one write into the TLS layer).
 */
export function spyWrites(transport: ITransport): number[] {
  const socket = (transport as unknown as { socket: Socket & { _write: Function; _writev: Function } }).socket;
  const calls: number[] = [];
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (this: Socket, ...args: unknown[]) {
    calls.push(1);
    return write.apply(this, args);
  };
  socket._writev = function (this: Socket, chunks: unknown[], cb: unknown) {
    calls.push(chunks.length);
    return writev.call(this, chunks, cb);
  };
  return calls;
}
