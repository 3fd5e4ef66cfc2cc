/**
 * Accepted sockets read into spindle's own buffers (src/reactor/tcpaccept.ts,
 * readbuffer.ts `acceptedReads`): small reads through one shared buffer,
 * copied out; a read that fills a quarter of it or more starts buffers of the
 * connection's own, lent as views. Checked on a simulated read loop (every size
 * around the quarter), on net.Server itself (what the server counts moves with
 * the handle; Node's fields missing: the plain socket), and over real sockets
 * through listenTCP and listenUNIX, with Node's own reads (`readBufferSize: 0`)
 * beside them.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/reactor/errors.js';
import type { IListeningPort, IProtocol, ITransport } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import {
  acceptedReads,
  emptyReadPool,
  keepRead,
  POOLED_READ_BYTES,
  pooledReadBytes,
  releaseRead,
  SHARED_READ_BYTES,
  unkeepRead,
} from '../src/reactor/readbuffer.js';
import { readIntoOwnBuffers, type AcceptedReads } from '../src/reactor/tcpaccept.js';
import { listenTCP } from '../src/reactor/tcp.js';
import { oneShotFactory, pattern, runTransportSuite, socketMaker, turnUntil, turns } from './transport-suite.js';

const KiB = 1024;
const QUARTER = SHARED_READ_BYTES / 4;

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

// The transport conformance suite (pausing, half-close, closing, flow control) on the accepting
// side with Node's own reads; the default (spindle's buffers) runs in tcp-transport.test.ts.
runTransportSuite(
  "TCP, accepting side with Node's own reads (readBufferSize: 0)",
  socketMaker(
    {
      caps: { closes: true, halfClose: true, addresses: true, readPause: true },
      listen: (reactor, server) => listenTCP(reactor, 0, server, { host: '127.0.0.1', readBufferSize: 0 }).asPromise(),
      connect: (reactor, port, client) => void reactor.connectTCP('127.0.0.1', port.getHost().port, client),
    },
    true,
  ),
);

/** Node's `onread` loop: read into buffer(), call callback(n), ask buffer() again. */
function acceptedLoop(max: number, during: (chunk: Buffer) => void = () => {}) {
  const delivered: Buffer[] = [];
  const r = acceptedReads(max, (c) => {
    delivered.push(c);
    during(c);
  });
  const into: Buffer[] = [];
  let fill = 0;
  const read = (want: number) => {
    const buf = r.buffer();
    into.push(buf);
    const n = Math.min(want, buf.length);
    buf.fill(++fill % 251, 0, n);
    r.callback(n, buf);
  };
  return { delivered, into, read, next: () => r.buffer() };
}

describe('acceptedReads: the read buffer policy', () => {
  it('two connections with small reads share one buffer and hold none of their own; each chunk is a copy', () => {
    const a = acceptedLoop(SHARED_READ_BYTES);
    const b = acceptedLoop(SHARED_READ_BYTES);
    for (const n of [1, 100, QUARTER - 1]) {
      a.read(n);
      b.read(n);
    }
    expect(new Set([...a.into, ...b.into]).size).toBe(1);
    expect(a.next()).toBe(b.next());
    for (const d of [...a.delivered, ...b.delivered]) expect(d.buffer === a.into[0]!.buffer).toBe(false);
    // Every chunk still holds the bytes of its own read.
    a.delivered.forEach((d, i) => expect(d.every((x) => x === (i + 1) % 251)).toBe(true));
    b.delivered.forEach((d, i) => expect(d.every((x) => x === (i + 1) % 251)).toBe(true));
  });

  it('at every size around the quarter: below it the shared buffer stays; from it on the connection reads into its own', () => {
    for (const n of [QUARTER - 2, QUARTER - 1, QUARTER, QUARTER + 1, SHARED_READ_BYTES - 1, SHARED_READ_BYTES]) {
      const c = acceptedLoop(256 * KiB);
      c.read(10);
      const shared = c.next();
      c.read(n);
      expect(c.delivered[1]!.length).toBe(n);
      expect(c.delivered[1]!.buffer === shared.buffer).toBe(false); // copied out of the shared buffer
      if (n < QUARTER) expect(c.next()).toBe(shared);
      else {
        expect(c.next()).not.toBe(shared);
        // A full read of the shared buffer: more is waiting, read more at once (x4, up to the limit).
        expect(c.next().length).toBe(n === SHARED_READ_BYTES ? 256 * KiB : SHARED_READ_BYTES);
      }
    }
  });

  it('on its own buffer: a quarter or more is lent as a view, less is copied and the connection goes back to the shared one', () => {
    for (const n of [QUARTER - 1, QUARTER, QUARTER + 1]) {
      const c = acceptedLoop(SHARED_READ_BYTES);
      const shared = c.next();
      c.read(SHARED_READ_BYTES); // bulk: own buffer from here
      const own = c.next();
      c.read(n);
      if (n >= QUARTER) {
        expect(c.delivered[1]!.buffer).toBe(own.buffer); // lent
        expect(c.next()).not.toBe(own); // and not read into again: fresh memory next
        expect(c.next()).not.toBe(shared);
      } else {
        expect(c.delivered[1]!.buffer === own.buffer).toBe(false); // copied
        expect(c.next()).toBe(shared);
      }
    }
  });

  it("on a grown buffer, a read under its quarter but not under the shared one's is copied and the connection reads on into the same buffer of its own", () => {
    const c = acceptedLoop(256 * KiB);
    const shared = c.next();
    c.read(SHARED_READ_BYTES); // full: its own buffer, 256 KiB
    const grown = c.next();
    expect(grown.length).toBe(256 * KiB);
    c.read(60 * KiB);
    expect(c.delivered[1]!.buffer.byteLength).toBe(60 * KiB); // copied
    // Still bulk (the 64 KiB buffer would have handed it over): the grown buffer stays, no fresh memory.
    expect(c.next()).not.toBe(shared);
    expect(c.next()).toBe(grown);
  });

  it('a bulk stream released as it goes reads into the same memory; kept chunks keep their bytes', () => {
    const released = acceptedLoop(SHARED_READ_BYTES, (chunk) => releaseRead(chunk));
    for (let i = 0; i < 20; i++) released.read(SHARED_READ_BYTES);
    // The first read (shared, copied) and then one buffer of its own for the other 19.
    expect(new Set(released.into.slice(1)).size).toBe(1);
    const kept = acceptedLoop(SHARED_READ_BYTES);
    for (let i = 0; i < 20; i++) kept.read(i % 3 === 0 ? 100 : SHARED_READ_BYTES - i);
    kept.delivered.forEach((d, i) => expect(d.every((x) => x === (i + 1) % 251)).toBe(true));
  });

  it('a lent read whose delivery threw is not read into again (the protocol may hold it)', () => {
    let held: Buffer | null = null;
    let reads = 0;
    const c = acceptedLoop(SHARED_READ_BYTES, (chunk) => {
      if (++reads !== 2) return;
      held = chunk; // the first lent read: kept, then the protocol throws
      throw new Error('protocol failed');
    });
    c.read(SHARED_READ_BYTES); // copied out of the shared buffer; reads on into its own
    expect(() => c.read(SHARED_READ_BYTES)).toThrow('protocol failed'); // lent: `held`
    expect(c.next().buffer).not.toBe(held!.buffer);
    c.read(SHARED_READ_BYTES);
    expect(held!.every((x) => x === 2)).toBe(true);
  });

  it("a buffer released after the connection went back to the shared one goes to the thread's pool, not the connection; the next bulk read takes it", () => {
    emptyReadPool();
    const held: Buffer[] = [];
    const c = acceptedLoop(SHARED_READ_BYTES, (chunk) => void held.push(chunk));
    c.read(SHARED_READ_BYTES);
    c.read(SHARED_READ_BYTES); // lent, held
    const lent = held[1]!;
    c.read(10); // back to the shared buffer: its own free buffer goes to the pool
    expect(c.next()).toBe(c.into[0]); // an idle connection holds nothing of its own
    expect(pooledReadBytes()).toBe(SHARED_READ_BYTES);
    c.read(SHARED_READ_BYTES); // bulk again: its own buffer is the pooled one, not the held one
    c.read(SHARED_READ_BYTES);
    expect(c.into.slice(3).some((b) => b.buffer === lent.buffer)).toBe(false);
    expect(lent.every((b) => b === 2)).toBe(true);
    c.read(10);
    releaseRead(lent); // released while on the shared buffer: to the pool
    expect(pooledReadBytes()).toBe(2 * SHARED_READ_BYTES);
    c.read(SHARED_READ_BYTES);
    c.read(SHARED_READ_BYTES);
    expect(c.into[c.into.length - 1]!.buffer).toBe(lent.buffer);
  });

  it('bulk, a small read, bulk again: the connection reads into the same memory each time, not fresh memory', () => {
    // A proxied upload reads a few KiB now and then between full reads; each went back to the shared
    // buffer and took fresh memory for the next bulk read.
    emptyReadPool();
    const c = acceptedLoop(SHARED_READ_BYTES, (chunk) => releaseRead(chunk));
    for (let i = 0; i < 10; i++) {
      c.read(SHARED_READ_BYTES);
      c.read(SHARED_READ_BYTES);
      c.read(100);
    }
    const own = new Set(c.into.filter((b) => b !== c.into[0]).map((b) => b.buffer));
    expect(own.size).toBe(1);
  });

  it('a held read never goes to the pool: another connection does not read into it until it is let go', () => {
    emptyReadPool();
    const held: Buffer[] = [];
    const a = acceptedLoop(SHARED_READ_BYTES, (chunk) => {
      releaseRead(chunk); // vouched, but a write still holds it
      keepRead(chunk);
      held.push(chunk);
    });
    a.read(SHARED_READ_BYTES);
    a.read(SHARED_READ_BYTES);
    a.read(10); // back to the shared buffer
    const b = acceptedLoop(SHARED_READ_BYTES, (chunk) => releaseRead(chunk));
    for (let i = 0; i < 4; i++) b.read(SHARED_READ_BYTES);
    expect(b.into.some((m) => m.buffer === held[1]!.buffer)).toBe(false);
    expect(held[1]!.every((x) => x === 2)).toBe(true);
    expect(pooledReadBytes()).toBe(0); // b reads into a's other buffer, which a left in the pool
    unkeepRead(held[1]!); // the write flushed: free, and into the pool
    expect(pooledReadBytes()).toBe(SHARED_READ_BYTES);
    const c = acceptedLoop(SHARED_READ_BYTES, (chunk) => releaseRead(chunk));
    for (let i = 0; i < 2; i++) c.read(SHARED_READ_BYTES);
    expect(c.into[1]!.buffer).toBe(held[1]!.buffer);
  });

  it(`the pool holds at most POOLED_READ_BYTES however many connections leave their buffers`, () => {
    emptyReadPool();
    const conns = Array.from({ length: 2 * (POOLED_READ_BYTES / SHARED_READ_BYTES) }, () =>
      acceptedLoop(SHARED_READ_BYTES, (chunk) => releaseRead(chunk)),
    );
    for (const c of conns) for (let i = 0; i < 3; i++) c.read(SHARED_READ_BYTES);
    for (const c of conns) c.read(10);
    expect(pooledReadBytes()).toBe(POOLED_READ_BYTES);
    emptyReadPool();
  });
});

describe('readIntoOwnBuffers on net.Server', () => {
  async function server(onSocket: (s: net.Socket) => void, configure: (s: net.Server) => void = () => {}) {
    const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (raw) =>
      onSocket(readIntoOwnBuffers(raw, SHARED_READ_BYTES)),
    );
    configure(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return { srv, port: (srv.address() as net.AddressInfo).port };
  }

  it("the server's count moves with the handle: getConnections, maxConnections and close() see the new socket", async () => {
    const sockets: net.Socket[] = [];
    const { srv, port } = await server(
      (s) => {
        sockets.push(s);
        s.on('data', (d) => s.write(d));
      },
      (s) => (s.maxConnections = 1),
    );
    const c1 = net.connect(port, '127.0.0.1');
    c1.write('one');
    await new Promise<void>((r) => c1.once('data', () => r()));
    expect(await new Promise((r) => srv.getConnections((_e, n) => r(n)))).toBe(1);
    // A second connection past maxConnections is dropped by the server.
    const c2 = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => c2.on('close', () => r()).on('error', () => {}));
    expect(sockets).toHaveLength(1);
    // close(): its callback waits for the open connection, and comes once it closed.
    let closed = false;
    const done = new Promise<void>((r) =>
      srv.close(() => {
        closed = true;
        r();
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    c1.end();
    sockets[0]!.end();
    await done;
    expect(await new Promise((r) => srv.getConnections((_e, n) => r(n)))).toBe(0);
  });

  it('the new socket has the peer address, reads every byte and half-closes', async () => {
    let peer = '';
    const { srv, port } = await server((s) => {
      peer = `${s.remoteAddress}:${s.remotePort}`;
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(Buffer.from(d)));
      s.on('end', () => s.end(`${Buffer.concat(got).length}`));
    });
    cleanup.push(() => new Promise<void>((r) => srv.close(() => r())));
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise<void>((r) => c.once('connect', () => r()));
    const local = c.localPort;
    c.end(Buffer.from(pattern(3 * 1024 * KiB + 7)));
    const answer = await new Promise<string>((r) => {
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('end', () => r(text));
    });
    expect(answer).toBe(String(3 * 1024 * KiB + 7));
    expect(peer).toBe(`127.0.0.1:${local}`);
    c.destroy();
  });

  /** A server whose sockets echo, moved with `reads`; the sockets readIntoOwnBuffers returned. */
  async function echoing(reads: AcceptedReads) {
    const served: net.Socket[] = [];
    const srv = net.createServer((raw) => {
      const s = readIntoOwnBuffers(raw, SHARED_READ_BYTES, reads);
      served.push(s);
      s.on('data', (d) => s.write(d));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => srv.close(() => r())));
    const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('error', () => {});
    cleanup.push(() => void c.destroy());
    return { srv, served, c, connections: () => new Promise((r) => srv.getConnections((_e, n) => r(n))) };
  }

  it('a new socket that throws before taking the handle leaves the accepted socket served as it was', async () => {
    const { served, c } = await echoing(() => {
      throw new Error('no reads');
    });
    c.write('ping');
    const echo = await new Promise<string>((r) => c.once('data', (d) => r(d.toString())));
    expect(echo).toBe('ping');
    expect(served[0]!.destroyed).toBe(false);
  });

  it('a new socket that throws after Node pointed the handle at it closes the connection instead of serving a socket that gets no bytes', async () => {
    // Node calls `buffer()` in its handle setup, after the handle names the new socket as its reader.
    const { served, c, connections } = await echoing((max, deliver) => ({
      ...acceptedReads(max, deliver),
      buffer: () => {
        throw new Error('no buffer');
      },
    }));
    c.write('ping');
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    await new Promise<void>((r) => c.once('close', () => r()));
    expect(got).toBe('');
    expect(served[0]!.destroyed).toBe(true);
    expect(await connections()).toBe(0);
  });

  it("without Node's fields as expected the socket is served as it is", () => {
    const client = new net.Socket(); // no handle, no server: not an accepted socket
    expect(readIntoOwnBuffers(client, SHARED_READ_BYTES)).toBe(client);
    const fake = Object.assign(new net.Socket(), { _handle: { readStart() {} }, _server: {} }); // no useUserBuffer
    expect(readIntoOwnBuffers(fake, SHARED_READ_BYTES)).toBe(fake);
  });
});

describe('listenTCP and listenUNIX read into their own buffers', () => {
  async function listen(
    protocol: () => IProtocol,
    options: { readBufferSize?: number } = {},
    unix = false,
  ): Promise<{ reactor: NodeReactor; connect: () => net.Socket }> {
    const reactor = new NodeReactor();
    reactor.run();
    cleanup.push(() => reactor.stop().asPromise());
    const factory = { buildProtocol: protocol, doStart() {}, doStop() {} };
    let port: IListeningPort;
    let connect: () => net.Socket;
    if (unix) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-accept-'));
      const file = path.join(dir, 's.sock');
      port = await reactor.listenUNIX(file, factory, options).asPromise();
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      connect = () => net.connect(file);
    } else {
      port = await reactor.listenTCP(0, factory, { host: '127.0.0.1', ...options }).asPromise();
      connect = () => net.connect(port.getHost().port, '127.0.0.1');
    }
    cleanup.push(() => port.stopListening().asPromise());
    return { reactor, connect };
  }

  /**
   * Upload `total` patterned bytes; the protocol keeps every chunk as given (no copy) or releases
   * each. It reads only once the client blocked (the kernel's buffers full), so reads are large.
   */
  async function upload(total: number, release: boolean, options: { readBufferSize?: number }, unix = false) {
    const views: Uint8Array[] = [];
    let transport!: ITransport;
    let ended = false;
    const { connect } = await listen(
      () => ({
        makeConnection(t) {
          transport = t;
          t.pauseProducing();
        },
        dataReceived(d) {
          views.push(d);
          if (release) releaseRead(d);
        },
        connectionLost: () => void (ended = true),
      }),
      options,
      unix,
    );
    const body = Buffer.from(pattern(total, 3));
    const c = connect();
    c.on('error', () => {});
    c.write('hi');
    const blocked = !c.write(body);
    c.end();
    await turnUntil(() => transport !== undefined, 'the connection');
    await turns(20);
    transport.resumeProducing();
    await turnUntil(() => ended, 'the upload to end');
    expect(blocked).toBe(true);
    return { views, body };
  }

  for (const unix of [false, true]) {
    const kind = unix ? 'listenUNIX' : 'listenTCP';
    it(`${kind}: a 16 MiB upload kept without a copy arrives whole; later reads never overwrite earlier chunks`, async () => {
      const { views, body } = await upload(16 * 1024 * KiB, false, {}, unix);
      const got = Buffer.concat(views);
      expect(got.subarray(0, 2).toString()).toBe('hi');
      expect(got.length).toBe(body.length + 2);
      expect(got.subarray(2).equals(body)).toBe(true);
    });

    it(`${kind}: released as they come, the reads of 16 MiB reuse a few buffers; with readBufferSize 0, one memory per read`, async () => {
      const ours = await upload(16 * 1024 * KiB, true, {}, unix);
      const mine = new Set(ours.views.map((v) => v.buffer));
      expect(ours.views.length).toBeGreaterThan(100);
      expect(mine.size).toBeLessThan(ours.views.length / 4);
      const nodes = await upload(16 * 1024 * KiB, true, { readBufferSize: 0 }, unix);
      expect(new Set(nodes.views.map((v) => v.buffer)).size).toBeGreaterThan(nodes.views.length / 2);
      expect(Buffer.concat(nodes.views).subarray(2).equals(nodes.body)).toBe(true);
    });
  }

  it("readBufferSize 256 KiB: with the kernel's buffers full, bulk reads grow past 64 KiB; every byte arrives", async () => {
    let transport!: ITransport;
    const views: Uint8Array[] = [];
    let ended = false;
    const { connect } = await listen(
      () => ({
        makeConnection(t) {
          transport = t;
          t.pauseProducing(); // let the kernel's buffers fill first
        },
        dataReceived: (d) => void views.push(d),
        connectionLost: () => void (ended = true),
      }),
      { readBufferSize: 256 * KiB },
    );
    const body = Buffer.from(pattern(16 * 1024 * KiB, 9));
    const c = connect();
    let blocked = false;
    if (!c.write(body)) blocked = true;
    c.end();
    await turnUntil(() => blocked && transport !== undefined, 'the client to block');
    await turns(20);
    transport.resumeProducing();
    await turnUntil(() => ended, 'the upload to end');
    expect(Buffer.concat(views).equals(body)).toBe(true);
    expect(Math.max(...views.map((v) => v.length))).toBeGreaterThan(64 * KiB);
  });

  it('a paused protocol stops the reads: a client that keeps sending blocks, nothing more is read, then all arrives', async () => {
    let transport!: ITransport;
    let received = 0;
    let ended = false;
    const { connect } = await listen(() => ({
      makeConnection(t) {
        transport = t;
        t.pauseProducing();
      },
      dataReceived: (d) => void (received += d.length),
      connectionLost: () => void (ended = true),
    }));
    const total = 64 * 1024 * KiB;
    const body = Buffer.alloc(total, 5);
    const c = connect();
    let sent = 0;
    let blocked = false;
    const more = (): void => {
      while (sent < total) {
        const ok = c.write(body.subarray(sent, sent + 64 * KiB));
        sent += 64 * KiB;
        if (!ok) {
          blocked = true;
          return void c.once('drain', more);
        }
      }
      c.end();
    };
    more();
    await turnUntil(() => blocked && transport !== undefined, 'the client to block');
    await turns(50);
    expect(received).toBe(0);
    expect(sent).toBeLessThan(total); // the kernel's buffers, not the 64 MiB
    transport.resumeProducing();
    await turnUntil(() => ended, 'the upload to end');
    expect(received).toBe(total);
  });

  it('listenTCP and listenUNIX refuse a readBufferSize other than 0 or 64 KiB to 64 MiB, naming the option', () => {
    const reactor = new NodeReactor();
    const p: IProtocol = { makeConnection() {}, dataReceived() {}, connectionLost() {} };
    for (const bad of [1, 1024, 64 * KiB - 1, 1.5, 65 * 1024 * KiB]) {
      expect(() => listenTCP(reactor, 0, oneShotFactory(p), { readBufferSize: bad })).toThrow(InvalidArgumentError);
      expect(() => reactor.listenUNIX('/nonexistent/x.sock', oneShotFactory(p), { readBufferSize: bad })).toThrow(
        /readBufferSize/,
      );
    }
  });
});
