/**
 * Release after flush in the tunnel (reactor/readbuffer.ts, client/flushed.ts),
 * on real sockets: a patterned stream after a 101 goes through reverseProxy to a
 * client that stops reading now and then, over TCP and over TLS to the client.
 * Every byte must arrive exact (a read reused while the client's socket still
 * held it would put bytes at the wrong offsets), and the upstream side's reads
 * must come back to the same memory rather than fresh memory per read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IProtocol } from '../src/reactor/interfaces.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import { reverseProxy } from '../src/protocols/http/client/proxy.js';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import type { IAgent } from '../src/protocols/http/client/interfaces.js';
import { CA, serverTLS } from './tls-fixtures.js';
import { settled } from './ws-client-helpers.js';
import { writeAllThenEnd } from './http-proxy-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/**
 * The Agent's default 256 KiB reads over TCP and TLS to the client, and 64 KiB reads over TCP: with
 * those a write the client's socket took only in part often leaves less than the transport's high
 * water behind, so reading on goes on, into the same memory if it were given back too early.
 */
describe.each([
  { front: false, readBufferSize: undefined, name: 'TCP, 256 KiB reads' },
  { front: true, readBufferSize: undefined, name: 'TLS to the client, 256 KiB reads' },
  { front: false, readBufferSize: 64 * 1024, name: 'TCP, 64 KiB reads' },
])('the tunnel gives its reads back once the client’s socket took them ($name)', ({ front, readBufferSize }) => {
  it('a 24 MiB stream after a 101 arrives exact at a client that reads slowly; the reads reuse their memory', async () => {
    const total = 24 * 1024 * 1024;
    const body = Buffer.alloc(total);
    for (let i = 0; i < total; i++) body[i] = i % 251;
    const upstream = http.createServer();
    upstream.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n');
      writeAllThenEnd(socket, body);
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (upstream.closeAllConnections(), upstream.close(() => r()))));
    const reactor = new NodeReactor();
    reactor.run();
    cleanups.push(() => reactor.stop());
    const agent = new Agent(reactor, { pool: new HTTPConnectionPool(reactor), readBufferSize });
    // See which memory each chunk the tunnel relays from the upstream lives in.
    const memory = new Set<ArrayBufferLike>();
    let chunks = 0;
    const watching: IAgent = {
      request: (...args) =>
        agent.request(...args).addCallback((response) => {
          const switchTo = response.switchProtocols!.bind(response);
          response.switchProtocols = (p: IProtocol & { readConnectionLost?(): void }) =>
            switchTo({
              makeConnection: (t) => p.makeConnection(t),
              dataReceived: (d) => {
                chunks++;
                memory.add(d.buffer);
                p.dataReceived(d);
              },
              readConnectionLost: () => p.readConnectionLost?.(),
              connectionLost: (r) => p.connectionLost(r),
            } as IProtocol);
          return response;
        }),
    };
    const app = reverseProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, { agent: watching });
    const factory = new HTTPFactory(app, { reactor });
    const listening = front
      ? await reactor.listenTLS(0, factory, { ...serverTLS, host: '127.0.0.1' })
      : await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
    cleanups.push(() => listening.stopListening());
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const where = { port: listening.getHost().port, host: '127.0.0.1' };
      const sock = front ? tls.connect({ ...where, servername: 'localhost', ca: CA }) : net.connect(where);
      // A client that reads slowly: after each read it stops for a turn, so the proxy's socket to
      // it is nearly full and writes are often taken only in part.
      sock.on('data', (d: Buffer) => {
        got.push(d);
        sock.pause();
        setImmediate(() => sock.resume());
      });
      sock.on('end', resolve);
      sock.on('error', reject);
      sock.write('GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n');
    });
    const all = Buffer.concat(got);
    const start = all.indexOf('\r\n\r\n') + 4;
    expect(all.subarray(0, start).toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    expect(all.length - start).toBe(total);
    expect(all.subarray(start).equals(body)).toBe(true);
    // Without release after flush every large read has fresh memory (one per chunk).
    expect(chunks).toBeGreaterThan(20);
    expect(memory.size).toBeLessThan(chunks / 4);
    await settled(reactor);
  });
});
