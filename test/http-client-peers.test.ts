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
import { captureLogs } from '../src/reactor/log.js';

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
