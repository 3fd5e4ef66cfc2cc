/**
 * The HTTP server on a real socket (127.0.0.1, port 0): keep-alive and
 * pipelining as a client sees them, and a node:http client against it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { parseResponses } from './http-channel-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(app: (req: IRequest) => void) {
  const reactor = new NodeReactor();
  const factory = new HTTPFactory(app, { reactor });
  const port: IListeningPort = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return { factory, port: port.getHost().port };
}

/** Open a raw connection; `read(n)` resolves once n responses have arrived. */
async function rawClient(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  cleanups.push(
    () => new Promise<void>((r) => (sock.destroyed ? r() : (sock.once('close', () => r()), sock.destroy()))),
  );
  await new Promise<void>((r) => sock.once('connect', () => r()));
  let text = '';
  let waiter: (() => void) | null = null;
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    text += d;
    waiter?.();
  });
  return {
    sock,
    write: (s: string) => sock.write(Buffer.from(s, 'latin1')),
    read(n: number) {
      return new Promise<ReturnType<typeof parseResponses>>((resolve) => {
        const check = () => {
          try {
            const rs = parseResponses(text);
            if (rs.length >= n && !rs.some((r) => r.framing === 'chunked-incomplete')) {
              waiter = null;
              resolve(rs);
            }
          } catch {
            // incomplete: wait for more
          }
        };
        waiter = check;
        check();
      });
    },
  };
}

const echoPath = (req: IRequest) => {
  req.write(`path=${req.path}`);
  req.finish();
};

describe('HTTP server over TCP', () => {
  it('serves two requests on one keep-alive connection', async () => {
    const { port, factory } = await serve(echoPath);
    const c = await rawClient(port);
    c.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.read(1);
    c.write('GET /two HTTP/1.1\r\nHost: x\r\n\r\n');
    const rs = await c.read(2);
    expect(rs.map((r) => r.body)).toEqual(['path=/one', 'path=/two']);
    expect(factory.stats.totalChannels).toBe(1);
  });

  it('answers pipelined requests in order, including slow ones', async () => {
    const reactorApp = (req: IRequest) => {
      if (req.path === '/slow') req.reactor.callLater(0.02, () => echoPath(req));
      else echoPath(req);
    };
    const { port } = await serve(reactorApp);
    const c = await rawClient(port);
    c.write(['/slow', '/a', '/b'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    const rs = await c.read(3);
    expect(rs.map((r) => r.body)).toEqual(['path=/slow', 'path=/a', 'path=/b']);
  });

  it('works with a node:http keep-alive client', async () => {
    const { port, factory } = await serve((req) => {
      void req.readBody().addCallback((b) => {
        req.setHeader('Content-Type', 'text/plain');
        req.write(`${req.method} ${b.length}`);
        req.finish();
      });
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const ask = (method: string, body?: string) =>
      new Promise<string>((resolve, reject) => {
        const r = http.request({ host: '127.0.0.1', port, method, path: '/', agent }, (res) => {
          let s = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (s += d));
          res.on('end', () => resolve(`${res.statusCode} ${s}`));
        });
        r.on('error', reject);
        r.end(body);
      });
    expect(await ask('GET')).toBe('200 GET 0');
    expect(await ask('POST', 'hello')).toBe('200 POST 5');
    expect(await ask('PUT', 'x'.repeat(100_000))).toBe('200 PUT 100000');
    expect(factory.stats.totalChannels).toBe(1);
  });

  it('closes after a bad request with a 400', async () => {
    const { port } = await serve(echoPath);
    const c = await rawClient(port);
    const closed = new Promise<void>((r) => c.sock.once('end', () => r()));
    c.write('GET / HTTP/1.1\r\nHost: x\r\nBad\x00: y\r\n\r\n');
    const rs = await c.read(1);
    expect(rs[0]!.status).toBe(400);
    await closed;
  });
});
