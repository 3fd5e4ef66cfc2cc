/**
 * The Agent on real sockets (127.0.0.1, port 0) against spindle's own server
 * and against node:http: keep-alive reuse, uploads from a file with
 * FileBodyProducer (and its backpressure: a server that stops reading pauses
 * it), downloads, and a connection refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { ConnectError } from '../src/reactor/errors.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { FileBodyProducer } from '../src/protocols/http/client/fileproducer.js';
import { turnUntil } from './transport-suite.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function reactorAndAgent(poolOptions = {}) {
  const reactor = new NodeReactor();
  reactor.run();
  const pool = new HTTPConnectionPool(reactor, poolOptions);
  cleanups.push(() => reactor.stop());
  cleanups.push(() => pool.closeCachedConnections());
  return { reactor, pool, agent: new Agent(reactor, { pool }) };
}

async function spindleServer(reactor: NodeReactor, app: CpsApp): Promise<number> {
  const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return port.getHost().port;
}

async function nodeServer(handler: http.RequestListener): Promise<{ port: number; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

function tempFile(size: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-client-'));
  const file = path.join(dir, 'body.bin');
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 7) & 0xff;
  fs.writeFileSync(file, buf);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}

describe("Agent against spindle's server", () => {
  it('reuses one kept-alive connection for N sequential requests', async () => {
    const { reactor, agent } = reactorAndAgent();
    const peers = new Set<number>();
    const port = await spindleServer(reactor, (req) => {
      peers.add(req.client.port);
      req.write('hello, world');
      req.finish();
    });
    for (let i = 0; i < 5; i++) {
      const r = await agent.request('GET', `http://127.0.0.1:${port}/${i}`);
      expect(Buffer.from(await readBody(r)).toString()).toBe('hello, world');
    }
    expect(peers.size).toBe(1);
  });

  it('uploads a file with Content-Length and gets it back byte for byte', async () => {
    const { reactor, agent } = reactorAndAgent();
    const port = await spindleServer(reactor, (req) => {
      req.readBody({ limit: 1 << 22 }).addCallback((body) => {
        req.setHeader('X-Length', req.headers.get('content-length') ?? 'none');
        req.write(body);
        req.finish();
      });
    });
    const file = tempFile(1_000_003);
    const producer = new FileBodyProducer(file);
    const r = await agent.request('PUT', `http://127.0.0.1:${port}/`, null, producer);
    expect(r.headers.get('x-length')).toBe('1000003');
    expect(Buffer.from(await readBody(r, { limit: 1 << 22 })).equals(fs.readFileSync(file))).toBe(true);
    // The server answered once it had every byte; the file stream's own end may come a turn later.
    await turnUntil(() => producer.state === 'done', 'the producer to finish');
    expect(producer.produced).toBe(1_000_003);
  });
});

describe('Agent against node:http', () => {
  it('keep-alive: one connection for N requests; chunked download; HEAD', async () => {
    const { agent } = reactorAndAgent();
    const srv = await nodeServer((req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'Content-Length': '5' }).end();
      res.write('chunk1;');
      res.end('chunk2');
    });
    for (let i = 0; i < 4; i++) {
      const r = await agent.request('GET', `http://127.0.0.1:${srv.port}/`);
      expect(r.headers.get('transfer-encoding')).toBe('chunked');
      expect(Buffer.from(await readBody(r)).toString()).toBe('chunk1;chunk2');
    }
    const head = await agent.request('HEAD', `http://127.0.0.1:${srv.port}/`);
    expect((await readBody(head)).length).toBe(0);
    expect(srv.connections()).toBe(1);
  });

  it('upload backpressure: a server that stops reading pauses the FileBodyProducer', async () => {
    const { agent } = reactorAndAgent();
    let serverReq: http.IncomingMessage | null = null;
    let gotRequest!: () => void;
    const requested = new Promise<void>((r) => (gotRequest = r));
    const srv = await nodeServer((req, res) => {
      serverReq = req;
      req.pause();
      gotRequest();
      req.on('end', () => res.end('thanks'));
    });
    const file = tempFile(64 * 1024 * 1024);
    const producer = new FileBodyProducer(file);
    let paused!: () => void;
    const pausedOnce = new Promise<void>((r) => (paused = r));
    const pause = producer.pauseProducing.bind(producer);
    producer.pauseProducing = () => {
      pause();
      paused();
    };
    const d = agent.request('POST', `http://127.0.0.1:${srv.port}/`, null, producer);
    await requested;
    await pausedOnce;
    expect(producer.state).toBe('paused');
    // Bounded: the producer stopped long before the 64 MiB file was read.
    expect(producer.produced).toBeLessThan(16 * 1024 * 1024);
    serverReq!.resume();
    const r = await d;
    expect(Buffer.from(await readBody(r)).toString()).toBe('thanks');
    expect(producer.produced).toBe(64 * 1024 * 1024);
  });

  it('a refused connection errbacks with ConnectError', async () => {
    const { agent } = reactorAndAgent();
    const srv = await nodeServer(() => undefined);
    const port = srv.port;
    await new Promise<void>((r) => setImmediate(r));
    cleanups.pop()!();
    await expect(agent.request('GET', `http://127.0.0.1:${port}/`).asPromise()).rejects.toBeInstanceOf(ConnectError);
  });
});

describe('Agent reads large bodies in large reads', () => {
  async function download(readBufferSize?: number) {
    const total = 8 * 1024 * 1024;
    const body = Buffer.alloc(total);
    for (let i = 0; i < total; i++) body[i] = (i * 13) & 0xff;
    let blocked!: () => void;
    const serverBlocked = new Promise<void>((r) => (blocked = r));
    const { port } = await nodeServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': total });
      let off = 0;
      const more = () => {
        while (off < total) {
          const ok = res.write(body.subarray(off, off + 65536));
          off += 65536;
          if (!ok) return void (blocked(), res.once('drain', more));
        }
        res.end();
      };
      more();
    });
    const { reactor, pool } = reactorAndAgent();
    const agent = new Agent(reactor, { pool, readBufferSize });
    const response = await agent.request('GET', `http://127.0.0.1:${port}/`);
    await serverBlocked; // the body waits in the kernel's buffers: the reads can be large
    const chunks: Uint8Array[] = [];
    await new Promise<void>((resolve) =>
      response.deliverBody({
        makeConnection() {},
        dataReceived: (d) => void chunks.push(d),
        connectionLost: () => resolve(),
      }),
    );
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    return Math.max(...chunks.map((c) => c.length));
  }

  it('by default a read brings up to DEFAULT_CLIENT_READ_BUFFER (256 KiB), Node alone 64 KiB; the bytes are exact', async () => {
    expect(await download()).toBeGreaterThan(64 * 1024);
    expect(await download()).toBeLessThanOrEqual(256 * 1024);
    expect(await download(64 * 1024)).toBeLessThanOrEqual(64 * 1024);
  });
});
