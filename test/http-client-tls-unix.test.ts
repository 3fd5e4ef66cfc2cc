/**
 * The Agent over TLS (https:, against spindle's server and node:https) and
 * over a Unix socket (http+unix: URLs, and an endpoint from clientFromString),
 * with keep-alive reuse on each; an untrusted certificate fails the request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { clientFromString } from '../src/protocols/endpoints.js';
import { Agent, type AgentOptions } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { CA, serverTLS } from './tls-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function setup(options: Omit<AgentOptions, 'pool'> = {}) {
  const reactor = new NodeReactor();
  reactor.run();
  const pool = new HTTPConnectionPool(reactor);
  cleanups.push(() => reactor.stop());
  cleanups.push(() => pool.closeCachedConnections());
  return { reactor, agent: new Agent(reactor, { pool, ...options }) };
}

const app: CpsApp = (req) => {
  req.write(`${(req.isSecure?.() ?? req.secure) ? 'secure' : 'plain'} ${req.client.port} ${req.headers.get('host')}`);
  req.finish();
};

const text = async (d: PromiseLike<Parameters<typeof readBody>[0]>) => Buffer.from(await readBody(await d)).toString();

describe('https:', () => {
  it("against spindle's TLS server: secure, one connection for several requests", async () => {
    const { reactor, agent } = setup({ tls: { ca: CA } });
    const port = await reactor.listenTLS(0, new HTTPFactory(app, { reactor }), { ...serverTLS, host: '127.0.0.1' });
    cleanups.push(() => port.stopListening());
    const url = `https://localhost:${port.getHost().port}/`;
    const a = await text(agent.request('GET', url));
    const b = await text(agent.request('GET', url));
    expect(a.startsWith('secure ')).toBe(true);
    expect(a).toBe(b);
    expect(a.endsWith(`localhost:${port.getHost().port}`)).toBe(true);
  });

  it('against node:https; an untrusted certificate fails the request', async () => {
    const srv = https.createServer(serverTLS as https.ServerOptions, (_req, res) => res.end('from node'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))));
    const url = `https://localhost:${(srv.address() as AddressInfo).port}/`;
    expect(await text(setup({ tls: { ca: CA } }).agent.request('GET', url))).toBe('from node');
    await expect(setup().agent.request('GET', url).asPromise()).rejects.toMatchObject({
      code: expect.stringMatching(/TLS|CERT|CONNECT/),
    });
  });
});

describe('Unix sockets', () => {
  async function unixServer(reactor: NodeReactor) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-agent-'));
    const sock = path.join(dir, 's.sock');
    const port = await reactor.listenUNIX(sock, new HTTPFactory(app, { reactor }));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => port.stopListening());
    return sock;
  }

  it('http+unix: URLs reach the socket and reuse the connection', async () => {
    const { reactor, agent } = setup();
    const sock = await unixServer(reactor);
    const url = `http+unix://${encodeURIComponent(sock)}/x`;
    const a = await text(agent.request('GET', url));
    const b = await text(agent.request('GET', url));
    expect(a).toMatch(/^plain .* localhost$/);
    expect(a).toBe(b);
  });

  it('an endpointFactory from clientFromString sends http: URLs over the socket', async () => {
    let sock = '';
    let r: NodeReactor | null = null;
    const { reactor, agent } = setup({ endpointFactory: () => clientFromString(r!, `unix:path=${sock}`) });
    r = reactor;
    sock = await unixServer(reactor);
    expect(await text(agent.request('GET', 'http://app.internal/'))).toMatch(/^plain .* app.internal$/);
  });
});
