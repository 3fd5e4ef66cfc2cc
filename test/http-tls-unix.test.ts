/**
 * HTTP over TLS and over a Unix socket: the gateway conformance suite over
 * TLS (with wsgi.url_scheme https), what a request and an environ say about
 * the connection (isSecure, HTTPS=on, a Unix client with an empty
 * REMOTE_ADDR), and Fetch apps building https: URLs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IListeningPort, IProtocolFactory } from '../src/reactor/interfaces.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import { fromFetchHandler } from '../src/bridge/fetch.js';
import type { Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { exchange, quietLogger } from './gateway-hosts.js';
import { runGatewaySuite, type GatewayHost, type SuiteRequest } from './gateway-suite.js';
import { CA, serverTLS } from './tls-fixtures.js';

/** An HTTP server for `factory` on TLS (127.0.0.1:0) or a Unix socket, and a way to send it one request. */
async function httpServer(reactor: NodeReactor, factory: IProtocolFactory, kind: 'tls' | 'unix', path = '') {
  const port: IListeningPort =
    kind === 'tls'
      ? await reactor.listenTLS(0, factory, { ...serverTLS, host: '127.0.0.1' })
      : await reactor.listenUNIX(path, factory);
  const sockets = new Set<net.Socket>();
  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s =
        kind === 'tls'
          ? tlsConnect({ host: '127.0.0.1', port: port.getHost().port, ca: CA, servername: 'localhost' }, () =>
              resolve(s),
            )
          : net.connect({ path }, () => resolve(s));
      sockets.add(s);
      s.on('error', reject);
      s.on('close', () => sockets.delete(s));
    });
  return {
    fetch: async (req: SuiteRequest) => exchange(await connect(), req),
    async close() {
      for (const s of sockets) s.destroy();
      await port.stopListening();
      await reactor.stop();
    },
  };
}

const tlsHost: GatewayHost = {
  urlScheme: 'https',
  async start(app: IterApp) {
    const reactor = new NodeReactor();
    reactor.run();
    const cps = toCpsApp(app, { reactor, logger: quietLogger() });
    return httpServer(reactor, new HTTPFactory(cps, { reactor, logger: quietLogger() }), 'tls');
  },
};

runGatewaySuite('spindle HTTPFactory on NodeReactor + TLS', tlsHost);

const dir = mkdtempSync(join(tmpdir(), 'spindle-http-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('what a request says about its connection', () => {
  const environOf = async (kind: 'tls' | 'unix') => {
    const reactor = new NodeReactor();
    reactor.run();
    let seen: { environ: Record<string, unknown>; secure: boolean; client: unknown } | null = null;
    const app = ((environ: Environ, sr: StartResponse) => {
      seen = { environ: { ...environ }, secure: false, client: null };
      sr('200 OK', [['Content-Type', 'text/plain']]);
      return ['ok'];
    }) as IterApp;
    const gateway = toCpsApp(app, { reactor, logger: quietLogger() });
    const cps = (req: IRequest) => {
      const r = gateway(req);
      seen!.secure = req.isSecure();
      seen!.client = req.client;
      return r;
    };
    const server = await httpServer(
      reactor,
      new HTTPFactory(cps, { reactor, logger: quietLogger() }),
      kind,
      join(dir, `${kind}-${Math.random()}.sock`),
    );
    const res = await server.fetch({ method: 'GET', path: '/x' });
    await server.close();
    expect(res.status).toBe(200);
    return seen!;
  };

  it('over TLS: isSecure() is true, wsgi.url_scheme is https and HTTPS is on', async () => {
    const seen = await environOf('tls');
    expect(seen.secure).toBe(true);
    expect(seen.environ['wsgi.url_scheme']).toBe('https');
    expect(seen.environ.HTTPS).toBe('on');
    expect(seen.environ.REMOTE_ADDR).toBe('127.0.0.1');
  });

  it('over a Unix socket: the client says unix, REMOTE_ADDR is empty, SERVER_NAME and SERVER_PORT come from Host', async () => {
    const seen = await environOf('unix'); // the suite's requests say Host: suite.test
    expect(seen.secure).toBe(false);
    expect(seen.client).toMatchObject({ family: 'unix', host: '' });
    expect(seen.environ.REMOTE_ADDR).toBe('');
    expect(seen.environ.REMOTE_PORT).toBe('');
    expect(seen.environ.SERVER_NAME).toBe('suite.test');
    expect(seen.environ.SERVER_PORT).toBe('80');
    expect(seen.environ['wsgi.url_scheme']).toBe('http');
    expect('HTTPS' in seen.environ).toBe(false);
  });

  it('over plain TCP: isSecure() is false and there is no HTTPS key', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    let secure: boolean | null = null;
    const factory = new HTTPFactory(
      (req) => {
        secure = req.isSecure();
        req.finish();
      },
      { reactor, logger: quietLogger() },
    );
    const port = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
    const s = await new Promise<net.Socket>((r) => {
      const c = net.connect(port.getHost().port, '127.0.0.1', () => r(c));
    });
    const res = await exchange(s, { method: 'GET', path: '/', headers: [] });
    expect(res.status).toBe(200);
    expect(secure).toBe(false);
    await port.stopListening();
    await reactor.stop();
  });

  it('a Fetch app over TLS sees an https: URL', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const cps = fromFetchHandler(async (request: Request) => new Response(request.url));
    const server = await httpServer(reactor, new HTTPFactory(cps, { reactor, logger: quietLogger() }), 'tls');
    const res = await server.fetch({ method: 'GET', path: '/p?q=1', headers: [] });
    await server.close();
    expect(Buffer.from(res.body).toString()).toMatch(/^https:\/\/[^/]+\/p\?q=1$/);
  });
});
