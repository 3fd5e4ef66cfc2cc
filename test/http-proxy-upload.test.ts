/**
 * reverseProxy's upload direction on real sockets: the client's body goes
 * upstream, and each read of the client's socket is given back once the
 * upstream's socket took its bytes (release after flush: client/flushed.ts;
 * the accepted socket reads into spindle's buffers, reactor/readbuffer.ts).
 * The body is patterned (i % 251), and the upstream stops reading now and
 * then, so writes wait in the proxy's socket: a read released before its
 * bytes were flushed would be read into again, and the upstream would get
 * bytes at the wrong offsets.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { reverseProxy } from '../src/protocols/http/client/proxy.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const MiB = 1024 * 1024;

function patterned(total: number): Buffer {
  const body = Buffer.alloc(total);
  for (let i = 0; i < total; i++) body[i] = i % 251;
  return body;
}

/**
 * An upstream that takes the body a piece at a time: after every 4th chunk it stops reading until
 * the proxy's socket to it is full (its client side sees no more bytes for a while), then goes on.
 * Answers with the body's length and sha256.
 */
async function stallingUpstream(): Promise<{ port: number; stalls: () => number }> {
  let stalls = 0;
  const upstream = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    let n = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      length += d.length;
      if (++n % 4 !== 0) return;
      req.pause();
      stalls++;
      // Resume on a later turn of the loop, once the proxy had a chance to fill the socket.
      setTimeout(() => req.resume(), 1);
    });
    req.on('end', () => {
      const text = `${length} ${hash.digest('hex')}`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(text.length) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));
  return { port: (upstream.address() as AddressInfo).port, stalls: () => stalls };
}

/** The proxy, with each body chunk it relays upstream noted (which memory it lives in). */
async function proxyTo(upPort: number, options: { releaseReads?: boolean; keep?: Uint8Array[] } = {}) {
  const reactor = new NodeReactor();
  reactor.run();
  const pool = new HTTPConnectionPool(reactor);
  cleanups.push(() => reactor.stop());
  cleanups.push(() => pool.closeCachedConnections());
  const proxy = reverseProxy(`http://127.0.0.1:${upPort}`, {
    agent: new Agent(reactor, { pool }),
    releaseReads: options.releaseReads,
  });
  const memory = new Set<ArrayBufferLike>();
  let chunks = 0;
  const app: CpsApp = (req) => {
    const deliver = req.deliverBody.bind(req);
    (req as { deliverBody: typeof req.deliverBody }).deliverBody = (p) =>
      deliver({
        makeConnection: (t) => p.makeConnection(t),
        dataReceived: (d) => {
          chunks++;
          memory.add(d.buffer);
          options.keep?.push(d); // a tap that keeps the chunks it passes on
          p.dataReceived(d);
        },
        connectionLost: (r) => p.connectionLost(r),
      });
    return proxy(req);
  };
  const listening = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => listening.stopListening());
  return { port: listening.getHost().port, memory, chunks: () => chunks };
}

/** Send `head` then `body` in 64 KiB writes (as fast as the proxy takes them); resolve with the whole answer. */
function upload(port: number, head: string, pieces: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('end', () => resolve(Buffer.concat(got).toString('latin1')));
    sock.on('error', reject);
    sock.write(head);
    let i = 0;
    const more = (): void => {
      while (i < pieces.length) if (!sock.write(pieces[i++]!)) return void sock.once('drain', more);
    };
    more();
  });
}

function slices(body: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < body.length; off += size) out.push(body.subarray(off, off + size));
  return out;
}

describe('reverseProxy upload: release after flush', () => {
  it('a Content-Length upload to an upstream that stalls: every byte exact, and the reads reuse their memory', async () => {
    const total = 24 * MiB;
    const body = patterned(total);
    const up = await stallingUpstream();
    const proxy = await proxyTo(up.port);
    const answer = await upload(
      proxy.port,
      `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`,
      slices(body, 64 * 1024),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(
      `${total} ${createHash('sha256').update(body).digest('hex')}`,
    );
    expect(up.stalls()).toBeGreaterThan(10);
    // Without release after flush each large read has memory of its own (one per chunk).
    expect(proxy.chunks()).toBeGreaterThan(50);
    expect(proxy.memory.size).toBeLessThan(proxy.chunks() / 4);
  });

  it('a chunked upload (sent upstream chunked, with size lines around each chunk): every byte exact, memory reused', async () => {
    const total = 16 * MiB;
    const body = patterned(total);
    const up = await stallingUpstream();
    const proxy = await proxyTo(up.port);
    // Client chunks of 1 000 000 bytes: size lines land anywhere in the proxy's reads.
    const pieces: Buffer[] = [];
    for (const s of slices(body, 1_000_000))
      pieces.push(Buffer.from(`${s.length.toString(16)}\r\n`), s, Buffer.from('\r\n'));
    pieces.push(Buffer.from('0\r\n\r\n'));
    // First with Content-Length (warms the code up), then chunked: on warm code the proxy keeps
    // reading while a chunk is still in its socket to the upstream (a 64 KiB chunk with its framing
    // no longer pauses the client), so a read released before its bytes were flushed would be read
    // into again (checked: the chunked upload fails when the relay releases without the flush check).
    for (const framing of ['Content-Length: ' + total, 'Transfer-Encoding: chunked']) {
      const answer = await upload(
        proxy.port,
        `POST /up HTTP/1.1\r\nHost: x\r\n${framing}\r\nConnection: close\r\n\r\n`,
        framing.startsWith('Content') ? slices(body, 64 * 1024) : pieces,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(
        `${total} ${createHash('sha256').update(body).digest('hex')}`,
      );
    }
    expect(up.stalls()).toBeGreaterThan(10);
    expect(proxy.memory.size).toBeLessThan(proxy.chunks() / 4);
  });

  it('releaseReads: false for a tap that keeps the chunks it passes on: what it kept stays exact (with release it would not)', async () => {
    const total = 8 * MiB;
    const body = patterned(total);
    const digest = createHash('sha256').update(body).digest('hex');
    for (const releaseReads of [false, true]) {
      const up = await stallingUpstream();
      const keep: Uint8Array[] = [];
      const proxy = await proxyTo(up.port, { releaseReads, keep });
      const answer = await upload(
        proxy.port,
        `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`,
        slices(body, 64 * 1024),
      );
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(`${total} ${digest}`);
      const kept = createHash('sha256');
      for (const c of keep) kept.update(c);
      if (releaseReads) {
        // The contract the option exists for: released memory is read into again.
        expect(proxy.memory.size).toBeLessThan(proxy.chunks() / 4);
        expect(kept.digest('hex')).not.toBe(digest);
      } else {
        expect(proxy.memory.size).toBe(proxy.chunks());
        expect(kept.digest('hex')).toBe(digest);
      }
    }
  });

  it("two pipelined uploads in one stream: the second request's bytes in the first's last read are not lost or overwritten", async () => {
    const up = await stallingUpstream();
    const proxy = await proxyTo(up.port);
    const a = patterned(3 * MiB + 123);
    const b = Buffer.from(patterned(2 * MiB + 77).map((x) => 250 - x));
    const head = (n: number, last: boolean) =>
      Buffer.from(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${n}\r\n${last ? 'Connection: close\r\n' : ''}\r\n`);
    // One byte stream: A's head and body, then B's, written back to back.
    const stream = Buffer.concat([head(a.length, false), a, head(b.length, true), b]);
    const answer = await upload(proxy.port, '', slices(stream, 64 * 1024));
    const sha = (x: Buffer) => createHash('sha256').update(x).digest('hex');
    expect(answer).toContain(`${a.length} ${sha(a)}`);
    expect(answer).toContain(`${b.length} ${sha(b)}`);
    expect(answer.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  });
});
