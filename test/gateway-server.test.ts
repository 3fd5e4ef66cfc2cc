/**
 * The gateway behind spindle's real HTTP server: deterministic tests through
 * HTTPFactory + StringTransport + MemoryReactor, and real-socket tests for
 * what only a socket shows (keep-alive, pipelining, chunked upload,
 * disconnect).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse, WsgiInput } from '../src/bridge/interfaces.js';
import { memoryServer, readResponses, tcpServer } from './gateway-hosts.js';

const TEXT: [string, string][] = [['Content-Type', 'text/plain']];
const GET = 'GET / HTTP/1.1\r\nHost: t\r\n\r\n';

/** Let `n` event-loop turns pass (I/O included): a yield, not a clock. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An infinite generator of fresh 64 KiB chunks that counts its pulls and closes. */
function infinite(chunk = 64 * 1024) {
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const log = { pulls: 0, closes: 0, /** Resolves at the first close(). */ closed };
  const app: IterApp = (_e, sr) => {
    sr('200 OK', [['Content-Type', 'application/octet-stream']]);
    const it: AppIterable = {
      [Symbol.iterator]: () => ({
        next: () => {
          log.pulls++;
          return { done: false, value: new Uint8Array(chunk) };
        },
      }),
      close: () => {
        log.closes++;
        onClose();
      },
    };
    return it;
  };
  return { app, log };
}

describe('gateway behind HTTPFactory (memory, deterministic)', () => {
  it('G5: a stalled client bounds the pulls: under high-water / chunk size + 2', async () => {
    const { app, log } = infinite();
    const server = memoryServer(app);
    const hwm = 1024 * 1024;
    const conn = server.connect(hwm);
    conn.send(GET);
    await conn.settle(() => false, 50);
    expect(log.pulls).toBeLessThan(hwm / (64 * 1024) + 2);
    expect(server.cps.gatewayStats.pausedResponses).toBe(1);
    // The client reads everything: the transport resumes the gateway, which pulls again, boundedly.
    const before = log.pulls;
    conn.transport.clear();
    conn.transport.resumeRegisteredProducer();
    await conn.settle(() => false, 50);
    expect(log.pulls - before).toBeLessThan(hwm / (64 * 1024) + 2);
    expect(log.pulls - before).toBeGreaterThan(0);
    conn.protocol.connectionLost(new Failure(new ConnectionLost()));
    expect(log.closes).toBe(1);
    expect(server.cps.gatewayStats.activeResponses).toBe(0);
  });

  it('an array the app returns is sent as an array iterator would: its own close() runs once, an own iterator is used, items pushed while paused are sent', async () => {
    let closes = 0;
    const withClose = Object.assign(['a', 'b'], { close: () => void closes++ });
    class Reversed extends Array<string> {
      override *[Symbol.iterator](): ArrayIterator<string> {
        for (let i = this.length - 1; i >= 0; i--) yield this[i]!;
      }
    }
    const growing: string[] = ['x'];
    const apps: Array<[IterApp, string]> = [
      [(_e, sr) => (sr('200 OK', TEXT), withClose), 'ab'],
      [(_e, sr) => (sr('200 OK', TEXT), Reversed.from(['1', '2', '3']) as Reversed), '321'],
      [
        (_e, sr) => {
          sr('200 OK', TEXT);
          return growing;
        },
        'xyz',
      ],
    ];
    for (const [app, body] of apps) {
      const server = memoryServer((e, sr) => {
        const r = app(e, sr);
        if (r === growing) {
          // Paused before the first pull: items added meanwhile are read, as an array iterator reads the length each step.
          const resume = e['wsgi.pause_output']!();
          e['spindle.reactor']!.callLater(0, () => void (growing.push('y', 'z'), resume()));
        }
        return r;
      });
      const conn = server.connect();
      conn.send(GET);
      await conn.settle(() => conn.response() !== null);
      expect(conn.response()!.body.toString()).toBe(body);
    }
    expect(closes).toBe(1);
  });

  it("G3: an app that yields '' and pauses puts zero bytes on the socket", async () => {
    let resume!: () => void;
    const server = memoryServer(function* (e, sr) {
      sr('200 OK', TEXT);
      resume = e['wsgi.pause_output']!();
      yield '';
      yield 'now';
    });
    const conn = server.connect();
    conn.send(GET);
    await conn.settle(() => false, 20);
    expect(conn.transport.value().length).toBe(0);
    resume();
    await conn.settle(() => conn.response() !== null);
    expect(conn.response()!.body.toString()).toBe('now');
  });

  it('G6: a 10-byte server-sent event reaches the transport before the app yields again', async () => {
    const resumes: Array<() => void> = [];
    const server = memoryServer(function* (e, sr) {
      sr('200 OK', [['Content-Type', 'text/event-stream']]);
      for (let i = 0; i < 2; i++) {
        yield `data: ${i}\n\n\n`.slice(0, 10);
        resumes.push(e['wsgi.pause_output']!());
        yield '';
      }
    });
    const conn = server.connect();
    conn.send(GET);
    await conn.settle(() => false, 10);
    expect(conn.transport.valueString()).toContain('data: 0');
    expect(conn.transport.valueString()).not.toContain('data: 1');
    resumes[0]!();
    await conn.settle(() => false, 10);
    expect(conn.transport.valueString()).toContain('data: 1');
    resumes[1]!();
    await conn.settle(() => conn.response() !== null);
    // G4: the '' yields made no frame: the chunked body has exactly the two events.
    expect(conn.response()!.frames).toEqual([10, 10]);
  });

  it('G11: 100 Continue goes out on the first read of wsgi.input, not before', async () => {
    let env!: Environ;
    const server = memoryServer(function* (e, sr) {
      env = e;
      sr('200 OK', TEXT);
      e['wsgi.pause_output']!();
      yield '';
    });
    const conn = server.connect();
    conn.send('POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await conn.settle(() => false, 10);
    expect(conn.transport.valueString()).not.toContain('100 Continue');
    env['wsgi.input'].read();
    expect(conn.transport.valueString()).toContain('100 Continue');
    conn.close();
  });

  describe('G14: disconnect in every state closes the iterable once and ends the response', () => {
    type Make = (e: Environ, sr: StartResponse) => Iterator<Chunk> | AsyncIterator<Chunk>;
    const states: Array<[string, Make, boolean]> = [
      [
        'app paused its output',
        function* (e: Environ, sr: StartResponse) {
          sr('200 OK', TEXT);
          e['wsgi.pause_output']!();
          yield '';
        } as Make,
        false,
      ],
      [
        'transport paused (client not reading)',
        function* (_e: Environ, sr: StartResponse) {
          sr('200 OK', TEXT);
          for (;;) yield new Uint8Array(64 * 1024);
        } as Make,
        false,
      ],
      [
        'async next() pending',
        (_e, sr) => {
          sr('200 OK', TEXT);
          return { next: () => new Promise<IteratorResult<Chunk>>(() => {}) };
        },
        true,
      ],
      [
        'waiting for the request body',
        function* (e: Environ, sr: StartResponse) {
          sr('200 OK', TEXT);
          const input = e['wsgi.input'];
          while (!input.atEOF && !input.clientGone) {
            if (input.read().length > 0) continue;
            e['wsgi.input_handler']!(input, e['wsgi.pause_output']!());
            yield '';
          }
          yield 'whole body read';
        } as Make,
        false,
      ],
    ];
    for (const [name, make, isAsync] of states) {
      it(`G14: ${name}`, async () => {
        const log = { closes: 0 };
        const app: IterApp = (e, sr) => {
          const it = make(e, sr);
          const iterable = (
            isAsync ? { [Symbol.asyncIterator]: () => it } : { [Symbol.iterator]: () => it }
          ) as AppIterable;
          iterable.close = () => void log.closes++;
          return iterable;
        };
        const server = memoryServer(app);
        const conn = server.connect(256 * 1024);
        conn.send(name.includes('body') ? 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc' : GET);
        await conn.settle(() => false, 10);
        expect(server.cps.gatewayStats.activeResponses).toBe(1);
        conn.protocol.connectionLost(new Failure(new ConnectionLost()));
        await conn.settle(() => false, 5);
        expect(log.closes).toBe(1);
        expect(server.cps.gatewayStats.activeResponses).toBe(0);
        expect(server.cps.gatewayStats.pausedResponses).toBe(0);
      });
    }
  });

  it('G7: a reactor shutdown ends the responses still running and closes their iterables once', async () => {
    const { app, log } = infinite();
    const server = memoryServer(app);
    server.reactor.run();
    const conns = [server.connect(128 * 1024), server.connect(128 * 1024)];
    for (const c of conns) c.send(GET);
    await conns[0]!.settle(() => false, 5);
    expect(server.cps.gatewayStats.activeResponses).toBe(2);
    const stopped = server.reactor.stop();
    server.reactor.advance(0);
    await stopped;
    expect(log.closes).toBe(2);
    expect(server.cps.gatewayStats.activeResponses).toBe(0);
    expect(conns.every((c) => c.transport.disconnecting)).toBe(true);
  });

  it('G15: a slow app reads a 100 MiB upload with bounded memory: the server stops reading the socket meanwhile', async () => {
    let total = 0;
    let maxHeld = 0;
    const server = memoryServer(function* (e, sr) {
      const input = e['wsgi.input'] as WsgiInput & { bufferedBytes: number };
      while (!input.atEOF) {
        maxHeld = Math.max(maxHeld, input.bufferedBytes);
        const got = input.read(32 * 1024); // a slow reader: one 32 KiB read per wake-up
        total += got.length;
        const resume = e['wsgi.pause_output']!();
        if (got.length > 0) e['spindle.reactor']!.callLater(0.001, resume);
        else e['wsgi.input_handler']!(e['wsgi.input'], resume);
        yield '';
      }
      sr('200 OK', TEXT);
      yield `read ${total}`;
    });
    const conn = server.connect();
    const size = 100 * 1024 * 1024;
    conn.send(`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`);
    const piece = new Uint8Array(64 * 1024);
    let sent = 0;
    let stalls = 0;
    while (sent < size) {
      if (conn.transport.producerState === 'paused') {
        stalls++;
        server.reactor.advance(0.001);
        continue;
      }
      conn.send(piece);
      sent += piece.length;
    }
    for (let i = 0; i < 10000 && conn.response() === null; i++) server.reactor.advance(0.001);
    expect(conn.response()!.body.toString()).toBe(`read ${size}`);
    expect(stalls).toBeGreaterThan(0);
    // Held by the gateway: at most its high-water mark plus one piece in flight.
    expect(maxHeld).toBeLessThanOrEqual(64 * 1024 + piece.length);
  });

  it('G12: write() from timers while the client stalls stays bounded and then throws WriteBufferOverflowError', async () => {
    const errors: unknown[] = [];
    const server = memoryServer(
      function* (e, sr) {
        const write = sr('200 OK', TEXT);
        const reactor = e['spindle.reactor']!;
        const resume = e['wsgi.pause_output']!();
        const tick = (): void => {
          try {
            write(new Uint8Array(16 * 1024));
            reactor.callLater(0.001, tick);
          } catch (err) {
            errors.push(err);
            resume();
          }
        };
        tick();
        yield '';
      },
      { writeBufferLimit: 256 * 1024 },
    );
    const conn = server.connect(64 * 1024);
    conn.send(GET);
    for (let i = 0; i < 100 && errors.length === 0; i++) server.reactor.advance(0.001);
    expect((errors[0] as { code?: string }).code).toBe('ERR_GATEWAY_WRITE_BUFFER_OVERFLOW');
    expect(server.cps.gatewayStats.writeBuffered).toBeLessThanOrEqual(256 * 1024);
    expect(conn.transport.value().length).toBeLessThanOrEqual(64 * 1024 + 256 * 1024 + 16 * 1024 + 1024);
    conn.close();
  });

  it('bufferInput: the app runs once the body is whole; past the limit the server answers 413', async () => {
    const app: IterApp = (e, sr) => {
      sr('200 OK', TEXT);
      return [`got ${e['wsgi.input'].read().length}`];
    };
    const server = memoryServer(app, { bufferInput: { limit: 10 } });
    const ok = server.connect();
    ok.send('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc');
    await ok.settle(() => false, 5);
    expect(ok.transport.value().length).toBe(0);
    ok.send('def');
    await ok.settle(() => ok.response() !== null);
    expect(ok.response()!.body.toString()).toBe('got 6');
    const big = server.connect();
    big.send('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n' + 'x'.repeat(50));
    await big.settle(() => big.response() !== null);
    expect(big.response()!.status).toBe(413);
    expect(server.cps.gatewayStats.activeResponses).toBe(0);
  });
});

describe('gateway on real sockets', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });
  async function start(app: IterApp) {
    const server = await tcpServer(app);
    closers.push(() => server.close());
    return server;
  }
  const echoPath: IterApp = (e, sr) => {
    sr('200 OK', TEXT);
    return [`path=${e.PATH_INFO}`];
  };

  it('keep-alive: two requests answered on one connection', async () => {
    const server = await start(echoPath);
    const s = await server.connect();
    s.write('GET /one HTTP/1.1\r\nHost: t\r\n\r\n');
    const [a] = await readResponses(s, 1);
    s.write('GET /two HTTP/1.1\r\nHost: t\r\n\r\n');
    const [b] = await readResponses(s, 1);
    expect([a!.body.toString(), b!.body.toString()]).toEqual(['path=/one', 'path=/two']);
    expect(server.factory.stats.totalChannels).toBe(1);
  });

  it('pipelining: requests sent in one write are answered in order, even when the first is slow', async () => {
    const server = await start(function* (e, sr) {
      sr('200 OK', TEXT);
      if (e.PATH_INFO === '/slow') {
        const resume = e['wsgi.pause_output']!();
        e['spindle.reactor']!.callLater(0.02, resume);
        yield '';
      }
      yield `path=${e.PATH_INFO}`;
    });
    const s = await server.connect();
    s.write(
      'GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast HTTP/1.1\r\nHost: t\r\n\r\nGET /last HTTP/1.1\r\nHost: t\r\n\r\n',
    );
    const rs = await readResponses(s, 3);
    expect(rs.map((r) => r.body.toString())).toEqual(['path=/slow', 'path=/fast', 'path=/last']);
  });

  it('chunked upload: a body sent in pieces over time is decoded and echoed', async () => {
    const server = await start(function* (e, sr) {
      const input = e['wsgi.input'];
      const parts: Uint8Array[] = [];
      while (!input.atEOF) {
        const got = input.read();
        if (got.length > 0) parts.push(got);
        else {
          e['wsgi.input_handler']!(input, e['wsgi.pause_output']!());
          yield '';
        }
      }
      sr('200 OK', TEXT);
      yield Buffer.concat(parts);
    });
    const s = await server.connect();
    s.write('POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
    const pieces = ['5\r\nhello\r\n', '1', '\r\n \r\n', '6\r\nchunks', '\r\n', '0\r\n\r\n'];
    const done = readResponses(s, 1);
    for (const p of pieces) {
      // Each piece handed to the kernel, then turns for the server (this process) to read it:
      // separate reads, ordered by events rather than a sleep.
      await new Promise<void>((resolve, reject) => s.write(p, (err) => (err ? reject(err) : resolve())));
      await turns(3);
    }
    const [r] = await done;
    expect(r!.body.toString()).toBe('hello chunks');
  });

  it('disconnect: the client leaving mid-stream closes the iterable once and ends the response', async () => {
    const { app, log } = infinite(16 * 1024);
    const server = await start(app);
    const s = await server.connect();
    s.write(GET);
    await new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.destroy();
    await log.closed; // the event, bounded by the test's timeout
    await turns(10); // room for a wrong second close()
    expect(log.closes).toBe(1);
    expect(server.cps.gatewayStats.activeResponses).toBe(0);
  });

  it('a stalled client on a real socket: the pulls stop while it reads nothing', async () => {
    const { app, log } = infinite();
    const server = await start(app);
    const s = await server.connect();
    s.pause(); // read nothing
    s.write(GET);
    // Wait (bounded by the test's timeout) until the socket and kernel buffers are full:
    // the gateway paused and the pulls unchanged over three polls in a row. Each poll
    // ends with event-loop turns, so pending socket I/O runs before the reading (a poll
    // that woke late on a loaded machine sees the I/O first, not a stale count).
    let last = -1;
    for (let stable = 0; stable < 3;) {
      last = log.pulls;
      await new Promise((r) => setTimeout(r, 20));
      await turns(3);
      stable = log.pulls === last && server.cps.gatewayStats.pausedResponses === 1 ? stable + 1 : 0;
    }
    // The stall holds while the client reads nothing...
    await turns(50);
    expect(log.pulls).toBe(last);
    expect(server.cps.gatewayStats.pausedResponses).toBe(1);
    // ...and it was the client: once it reads, the gateway pulls again.
    s.resume();
    while (log.pulls === last) await turns(1);
    expect(log.pulls).toBeGreaterThan(last);
    s.destroy();
  });
});
