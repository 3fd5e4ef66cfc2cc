/**
 * `serve(app, { listen })`: one app on several endpoints at once (TCP, TLS,
 * a Unix socket), each reached by a real client; and the mistakes it refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serve } from '../src/bridge/serve.js';
import { ServeListenError } from '../src/bridge/errors.js';
import { EndpointSyntaxError } from '../src/protocols/errors.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { CA, CERT_PATH, KEY_PATH } from './tls-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'spindle-serve-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function get(options: import('node:https').RequestOptions, tls = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)({ ...options, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const app = (req: IRequest) => {
  req.setHeader('Content-Type', 'text/plain');
  req.write(Buffer.from(`${req.isSecure() ? 'secure' : 'plain'} ${req.client.family ?? ''}`));
  req.finish();
};

describe('serve(app, { listen })', () => {
  it('serves one app on TCP, TLS and a Unix socket at once, each reached by a real client', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const sock = join(dir, 'app.sock');
    const ports = await serve(app, {
      style: 'cps',
      reactor,
      listen: [
        'tcp:0:interface=127.0.0.1',
        `tls:0:interface=127.0.0.1:privateKey=${KEY_PATH}:certKey=${CERT_PATH}`,
        `unix:${sock}`,
      ],
    });
    expect(ports).toHaveLength(3);
    expect(ports[2]!.getHost()).toMatchObject({ family: 'unix', path: sock });
    expect(await get({ host: '127.0.0.1', port: ports[0]!.getHost().port, path: '/' })).toBe('plain IPv4');
    expect(
      await get(
        { host: '127.0.0.1', port: ports[1]!.getHost().port, path: '/', ca: CA, servername: 'localhost' },
        true,
      ),
    ).toBe('secure IPv4');
    expect(await get({ socketPath: sock, path: '/' })).toBe('plain unix');
    for (const p of ports) await p.stopListening();
    await reactor.stop();
  });

  it('a single listen string fires with one port; port/host stay the short form of tcp:', () => {
    const reactor = new MemoryReactor();
    let host: unknown = null;
    serve(app, { style: 'cps', reactor, listen: 'unix:/run/app.sock:mode=660' }).addCallback(
      (p) => void (host = p.getHost()),
    );
    expect(host).toMatchObject({ family: 'unix', path: '/run/app.sock' });
    void serve(app, { style: 'cps', reactor, port: 9000, host: '0.0.0.0' });
    expect(reactor.tcpServers[0]).toMatchObject({ port: 9000, host: '0.0.0.0' });
    expect(reactor.unixServers[0]).toMatchObject({ mode: 0o660 });
  });

  it('refuses listen together with port/host, an empty list, and a malformed endpoint, before listening anywhere', () => {
    const reactor = new MemoryReactor();
    expect(() => serve(app, { style: 'cps', reactor, listen: 'tcp:1', port: 2 })).toThrow(ServeListenError);
    expect(() => serve(app, { style: 'cps', reactor, listen: [] })).toThrow(/at least one endpoint/);
    expect(() => serve(app, { style: 'cps', reactor, listen: ['tcp:1', 'tls:2'] })).toThrow(EndpointSyntaxError);
    expect(reactor.tcpServers).toHaveLength(0);
  });
});
