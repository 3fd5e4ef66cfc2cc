/**
 * `request.client` / `request.host` on spindle's server: the transport is
 * asked once per connection (a TCP transport copies its addresses on each
 * call), and every request on the connection shares one frozen copy.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import { Logger, LogPublisher } from '../src/reactor/log.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';

function serve(peer = { host: '192.0.2.7', port: 40001 }, host = { host: '127.0.0.1', port: 8080 }) {
  const reactor = new MemoryReactor();
  const seen: IRequest[] = [];
  const factory = new HTTPFactory(
    (request) => {
      seen.push(request);
      request.write('ok');
      request.finish();
    },
    { reactor, logger: new Logger('test.addresses', new LogPublisher()) },
  );
  const transport = new StringTransport({ peer, host });
  const protocol = factory.buildProtocol(transport.getPeer())!;
  protocol.makeConnection(transport);
  return { transport, protocol, seen };
}

describe('request.client and request.host', () => {
  it('keep-alive requests on one connection share one frozen copy, read from the transport once', () => {
    const { transport, protocol, seen } = serve();
    const peers = vi.spyOn(transport, 'getPeer');
    const hosts = vi.spyOn(transport, 'getHost');
    protocol.dataReceived(Buffer.from('GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n'));
    expect(seen).toHaveLength(2);
    const [a, b] = seen as [IRequest, IRequest];
    expect(a.client).toEqual({ host: '192.0.2.7', port: 40001 });
    expect(a.host).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(b.client).toBe(a.client);
    expect(b.host).toBe(a.host);
    expect(peers).toHaveBeenCalledTimes(1);
    expect(hosts).toHaveBeenCalledTimes(1);
  });

  it('an app cannot change the address another request on the connection sees', () => {
    const { protocol, seen } = serve();
    protocol.dataReceived(Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n'));
    const client = seen[0]!.client;
    expect(Object.isFrozen(client)).toBe(true);
    expect(() => {
      (client as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(seen[0]!.client.port).toBe(40001);
  });

  it('the copy keeps the transport’s keys, in order, for each kind of address', () => {
    const kinds = [
      { host: '192.0.2.7', port: 40001, family: 'IPv4' as const },
      { host: '::1', port: 40002, family: 'IPv6' as const },
      { host: '', port: 0, family: 'unix' as const, path: '/run/app.sock' },
      { host: '192.0.2.8', port: 40003 },
    ];
    for (const peer of kinds) {
      const { protocol, seen } = serve(peer);
      protocol.dataReceived(Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n'));
      const client = seen[0]!.client;
      expect(Object.keys(client)).toEqual(Object.keys(peer));
      expect(client).toStrictEqual(peer);
    }
  });

  it('every connection’s frozen copy has the same hidden class (reads of request.client.host stay monomorphic)', () => {
    // V8 gives a frozen object spread a class of its own per object; the copy is made by a literal instead.
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const run = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', join(root, 'test', 'fixtures', 'address-shape.mjs'), root],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ client: true, host: true });
  });

  it('another connection gets its own addresses', () => {
    const one = serve({ host: '192.0.2.7', port: 40001 });
    const two = serve({ host: '198.51.100.9', port: 40002 });
    one.protocol.dataReceived(Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n'));
    two.protocol.dataReceived(Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n'));
    expect(one.seen[0]!.client).toEqual({ host: '192.0.2.7', port: 40001 });
    expect(two.seen[0]!.client).toEqual({ host: '198.51.100.9', port: 40002 });
  });
});
