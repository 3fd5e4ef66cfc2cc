/**
 * The client and the proxy against peers nobody here wrote, on real sockets:
 * python3's http.server (HTTP/1.0 answers) read by the Agent; reverseProxy in
 * front of a node:http upstream, where a client that leaves mid-download makes
 * the upstream see its response closed, and an upstream that is gone gets 502.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { reverseProxy } from '../src/protocols/http/client/proxy.js';
import type { IAgent } from '../src/protocols/http/client/interfaces.js';
import { captureLogs } from '../src/reactor/log.js';
import { writeAllThenEnd } from './http-proxy-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function reactorAndPool() {
  const reactor = new NodeReactor();
  reactor.run();
  const pool = new HTTPConnectionPool(reactor);
  cleanups.push(() => reactor.stop());
  cleanups.push(() => pool.closeCachedConnections());
  return { reactor, pool };
}

describe('Agent against python3 http.server', () => {
  it('reads its HTTP/1.0 answers: a file, a 404, a directory listing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-py-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello from python\n');
    const py = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cleanups.push(
      () => new Promise<void>((r) => (py.exitCode !== null ? r() : (py.once('exit', () => r()), py.kill()))),
    );
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      py.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      py.once('exit', () => reject(new Error('python3 http.server exited')));
    });
    const { reactor, pool } = reactorAndPool();
    const agent = new Agent(reactor, { pool });
    const file = await agent.request('GET', `http://127.0.0.1:${port}/hello.txt`);
    expect(file.version).toBe('HTTP/1.0');
    expect(Buffer.from(await readBody(file)).toString()).toBe('hello from python\n');
    const missing = await agent.request('GET', `http://127.0.0.1:${port}/nope`);
    expect(missing.code).toBe(404);
    await readBody(missing);
    const listing = await agent.request('GET', `http://127.0.0.1:${port}/`);
    expect(Buffer.from(await readBody(listing)).toString()).toContain('hello.txt');
    expect(pool.cachedCount()).toBe(0);
  });
});

describe('reverseProxy on real sockets', () => {
  async function setup(handler: http.RequestListener) {
    const upstream = http.createServer(handler);
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));
    const upPort = (upstream.address() as AddressInfo).port;
    const { reactor, pool } = reactorAndPool();
    const app = reverseProxy(`http://127.0.0.1:${upPort}`, { agent: new Agent(reactor, { pool }), timeout: 5 });
    const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
    cleanups.push(() => port.stopListening());
    return { upstream, upPort, port: port.getHost().port };
  }

  it('a client leaving mid-download: the upstream sees its response closed, having written a bounded amount', async () => {
    let written = 0;
    let onClose!: () => void;
    const closed = new Promise<void>((r) => (onClose = r));
    const { port } = await setup((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(1 << 30) });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const more = (): void => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', more);
      };
      res.on('close', onClose);
      more();
    });
    const sock = net.connect(port, '127.0.0.1');
    let got = 0;
    let onFirst!: () => void;
    const first = new Promise<void>((r) => (onFirst = r));
    sock.on('data', (d) => {
      got += d.length;
      sock.pause(); // a client that stops reading
      onFirst();
    });
    sock.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await first;
    sock.destroy();
    await closed;
    expect(got).toBeGreaterThan(0);
    // The upstream never got far ahead of a client that stopped: socket buffers, not the GiB.
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('a download through the proxy reuses its read buffers once written (release after flush), and every byte is exact', async () => {
    // i % 251: a read that overwrote memory a client write still held would put bytes at the wrong offsets.
    const total = 24 * 1024 * 1024;
    const body = Buffer.alloc(total);
    for (let i = 0; i < total; i++) body[i] = i % 251;
    const upstream = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(total) });
      writeAllThenEnd(res, body);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));
    const { reactor, pool } = reactorAndPool();
    const agent = new Agent(reactor, { pool });
    // See which memory each body chunk the proxy relays lives in.
    const memory = new Set<ArrayBufferLike>();
    let chunks = 0;
    const watching: IAgent = {
      request: (...args) =>
        agent.request(...args).addCallback((response) => {
          const deliver = response.deliverBody.bind(response);
          response.deliverBody = (p) =>
            deliver({
              makeConnection: (t) => p.makeConnection(t),
              dataReceived: (d) => {
                chunks++;
                memory.add(d.buffer);
                p.dataReceived(d);
              },
              connectionLost: (r) => p.connectionLost(r),
            });
          return response;
        }),
    };
    const app = reverseProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, { agent: watching });
    const listening = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
    cleanups.push(() => listening.stopListening());
    // A client that stops reading for a turn now and then, so some writes wait in the proxy's socket.
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(listening.getHost().port, '127.0.0.1');
      let n = 0;
      sock.on('data', (d: Buffer) => {
        got.push(d);
        if (++n % 8 === 0) {
          sock.pause();
          setImmediate(() => sock.resume());
        }
      });
      sock.on('end', resolve);
      sock.on('error', reject);
      sock.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    const all = Buffer.concat(got);
    const start = all.indexOf('\r\n\r\n') + 4;
    expect(all.length - start).toBe(total);
    expect(all.subarray(start).equals(body)).toBe(true);
    // Without release after flush every large read has fresh memory (one per chunk).
    expect(chunks).toBeGreaterThan(20);
    expect(memory.size).toBeLessThan(chunks / 4);
  });

  it('a chunked download to a client that stalls until the upstream is blocked, again and again: every byte is exact', async () => {
    // Small chunks: one read holds many, so a pause mid-read leaves the rest of it in the parser,
    // whose memory must not be read into again (keepRead) even when the bytes before it are released.
    const total = 12 * 1024 * 1024;
    const body = Buffer.alloc(total);
    for (let i = 0; i < total; i++) body[i] = i % 251;
    let blocked: (() => void) | null = null;
    let waiting = false; // the upstream's socket is full: it waits for 'drain'
    const upstream = http.createServer((_req, res) => {
      let off = 0;
      const more = (): void => {
        waiting = false;
        while (off < total && !res.destroyed) {
          const ok = res.write(body.subarray(off, off + 3000));
          off += 3000;
          if (!ok) {
            waiting = true;
            blocked?.();
            return void res.once('drain', more);
          }
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));
    const { reactor, pool } = reactorAndPool();
    const app = reverseProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, {
      agent: new Agent(reactor, { pool }),
    });
    const listening = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
    cleanups.push(() => listening.stopListening());
    const got: Buffer[] = [];
    let stalls = 0;
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(listening.getHost().port, '127.0.0.1');
      sock.on('data', (d: Buffer) => {
        got.push(d);
        if (stalls >= 6 || blocked !== null) return;
        // Stop reading until everything between here and the upstream is full.
        sock.pause();
        stalls++;
        blocked = () => {
          blocked = null;
          sock.resume();
        };
        if (waiting) setImmediate(() => blocked?.());
      });
      sock.on('end', resolve);
      sock.on('error', reject);
      sock.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    const all = Buffer.concat(got);
    const head = all.indexOf('\r\n\r\n') + 4;
    expect(all.subarray(0, head).toString('latin1')).toMatch(/transfer-encoding: chunked/i);
    // De-chunk.
    const out: Buffer[] = [];
    let pos = head;
    for (;;) {
      const eol = all.indexOf('\r\n', pos);
      const size = parseInt(all.subarray(pos, eol).toString('latin1'), 16);
      if (size === 0) break;
      out.push(all.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
    expect(stalls).toBe(6);
    expect(Buffer.concat(out).equals(body)).toBe(true);
  });

  it('an upstream that is gone gets 502 with a generic body that does not name it', async () => {
    const { upstream, upPort, port } = await setup((_req, res) => res.end('x'));
    await new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r())));
    const logs = captureLogs();
    cleanups.push(() => logs.restore());
    const res = await fetch(`http://127.0.0.1:${port}/gone`);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toBe('Bad Gateway: the upstream server could not be reached.\n');
    expect(text).not.toContain(String(upPort));
    // The operator gets the details: the upstream URL, the path and the error.
    const e = logs.events.find((x) => x.namespace === 'spindle.http.proxy')!;
    expect(e.upstream).toBe(`http://127.0.0.1:${upPort}/gone`);
    expect(e.path).toBe('/gone');
    expect(e.failure?.value).toBeDefined();
  });
});
