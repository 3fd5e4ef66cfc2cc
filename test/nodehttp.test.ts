import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { ConnectionLost } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { toNodeListener } from '../src/bridge/nodehttp.js';

const servers: http.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(listener: http.RequestListener): Promise<number> {
  const server = http.createServer(listener);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function get(
  port: number,
  options: http.RequestOptions = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('toNodeListener: apps on node:http', () => {
  it('serves an iterator app through the gateway', async () => {
    const reactor = new NodeReactor();
    const app: IterApp = (environ, start) => {
      start('200 OK', [
        ['Content-Type', 'text/plain'],
        ['X-Path', String(environ.PATH_INFO)],
      ]);
      return ['hello ', '', 'node'];
    };
    const port = await listen(toNodeListener(app, { reactor }));
    const res = await get(port, { path: '/a/b?c=d' });
    expect(res.status).toBe(200);
    expect(res.headers['x-path']).toBe('/a/b');
    expect(res.body).toBe('hello node');
  });

  it('serves a CPS app that reads its upload', async () => {
    const reactor = new NodeReactor();
    const app: CpsApp = (req) => {
      req.readBody().addCallback((body) => {
        req.setResponseCode(201, 'Made');
        req.addHeader('Set-Cookie', 'a=1');
        req.addHeader('Set-Cookie', 'b=2');
        req.write(`${req.method} ${req.uri} ${req.headers.get('x-test')} `);
        req.write(body);
        req.finish();
      });
    };
    const port = await listen(toNodeListener(app, { reactor, style: 'cps' }));
    const res = await get(port, { method: 'POST', path: '/up?q', headers: { 'X-Test': 't' } }, 'the body');
    expect(res.status).toBe(201);
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.body).toBe('POST /up?q t the body');
  });

  it('a client that stops reading bounds the pulls; its disconnect closes the iterable once (G5, G7, G14)', async () => {
    const reactor = new NodeReactor();
    let pulls = 0;
    let closed = 0;
    let onClosed: () => void = () => {};
    const closedP = new Promise<void>((r) => {
      onClosed = r;
    });
    let onPulls: () => void = () => {};
    const manyPulls = new Promise<void>((r) => {
      onPulls = r;
    });
    const app: IterApp = (_environ, start) => {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      const chunk = new Uint8Array(64 * 1024);
      return {
        [Symbol.iterator]() {
          return this;
        },
        next: () => {
          if (++pulls === 4) onPulls();
          return { value: chunk, done: false };
        },
        close: () => {
          closed++;
          onClosed();
        },
      } as Iterable<Uint8Array> & Iterator<Uint8Array> & { close(): void };
    };
    const port = await listen(toNodeListener(app, { reactor }));
    const client = net.connect(port, '127.0.0.1');
    sockets.push(client);
    client.pause();
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await manyPulls;
    // Give the server many turns to overfill if it ignored backpressure.
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    const stalledAt = pulls;
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    expect(pulls).toBe(stalledAt);
    // Kernel socket buffers plus node's 16 KiB high-water mark: far below 64 MiB.
    expect(pulls * 64).toBeLessThan(64 * 1024);
    client.destroy();
    await closedP;
    expect(closed).toBe(1);
  });

  it("a client that goes away errbacks the CPS app's notifyFinish with ConnectionLost and stops its producer", async () => {
    const reactor = new NodeReactor();
    let stopped = 0;
    let lostWith: unknown = null;
    let onLost: () => void = () => {};
    const lost = new Promise<void>((r) => {
      onLost = r;
    });
    let onStarted: () => void = () => {};
    const started = new Promise<void>((r) => {
      onStarted = r;
    });
    const app: CpsApp = (req) => {
      req.notifyFinish().addErrback((f: Failure) => {
        lostWith = f.value;
        onLost();
      });
      req.registerProducer(
        {
          pauseProducing() {},
          resumeProducing() {},
          stopProducing() {
            stopped++;
          },
        },
        true,
      );
      req.write('started');
      onStarted();
    };
    const port = await listen(toNodeListener(app, { reactor, style: 'cps' }));
    const client = net.connect(port, '127.0.0.1');
    sockets.push(client);
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await started;
    client.destroy();
    await lost;
    expect(lostWith).toBeInstanceOf(ConnectionLost);
    expect(stopped).toBe(1);
  });

  it('pauses reading the upload while the CPS app pauses its body protocol', async () => {
    const reactor = new NodeReactor();
    let received = 0;
    let onSome: () => void = () => {};
    const some = new Promise<void>((r) => {
      onSome = r;
    });
    const app: CpsApp = (req) => {
      req.deliverBody({
        makeConnection: (t) => {
          (req as unknown as { t: unknown }).t = t;
        },
        dataReceived: (d) => {
          received += d.byteLength;
          (req as unknown as { t: { pauseProducing(): void } }).t.pauseProducing();
          onSome();
        },
        connectionLost: () => {},
      });
    };
    const port = await listen(toNodeListener(app, { reactor, style: 'cps' }));
    const client = net.connect(port, '127.0.0.1');
    sockets.push(client);
    client.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n');
    const block = Buffer.alloc(64 * 1024);
    let writes = 0;
    const pump = (): void => {
      while (writes < 1024 && client.write(block)) writes++;
    };
    client.on('drain', () => {
      writes++;
      pump();
    });
    pump();
    await some;
    for (let i = 0; i < 300; i++) await new Promise((r) => setImmediate(r));
    // Paused after the first chunk: the app saw only what node had read before the pause.
    expect(received).toBeLessThan(1024 * 1024);
    expect(writes).toBeLessThan(1024);
  });

  it('a CPS app writing without a producer to a stalled client gets ERR_BRIDGE_QUEUE_OVERFLOW past maxBuffered', async () => {
    const reactor = new NodeReactor();
    let onCaught: (e: unknown) => void = () => {};
    const caught = new Promise<unknown>((r) => {
      onCaught = r;
    });
    const app: CpsApp = (req) => {
      try {
        for (let i = 0; i < 10_000; i++) req.write(new Uint8Array(64 * 1024));
        onCaught(null);
      } catch (err) {
        onCaught(err);
      }
    };
    const port = await listen(toNodeListener(app, { reactor, style: 'cps', maxBuffered: 1024 * 1024 }));
    const client = net.connect(port, '127.0.0.1');
    sockets.push(client);
    client.pause();
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(((await caught) as { code?: string })?.code).toBe('ERR_BRIDGE_QUEUE_OVERFLOW');
  });

  it("asks a CPS app's pull producer for data, one piece per turn, until it finishes", async () => {
    const reactor = new NodeReactor();
    let asked = 0;
    const app: CpsApp = (req) => {
      req.registerProducer(
        {
          resumeProducing: () => {
            asked++;
            if (asked <= 5) req.write(`piece${asked};`);
            else {
              req.unregisterProducer();
              req.finish();
            }
          },
          stopProducing: () => {},
        },
        false,
      );
    };
    const port = await listen(toNodeListener(app, { reactor, style: 'cps' }));
    expect((await get(port)).body).toBe('piece1;piece2;piece3;piece4;piece5;');
    expect(asked).toBe(6);
  });

  it('works with no options: an iterator app on a NodeReactor of its own', async () => {
    const port = await listen(
      toNodeListener(((_e, start) => {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return ['plain call'];
      }) as IterApp),
    );
    expect((await get(port)).body).toBe('plain call');
  });
});
