/**
 * The IRequest conformance suite (test/irequest-suite.ts) on every host a CPS
 * app can run on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import { toFetchHandler } from '../src/bridge/fetch.js';
import { toNodeListener } from '../src/bridge/nodehttp.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { Logger, LogPublisher } from '../src/reactor/log.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { DummyRequest } from '../src/testing/dummyrequest.js';
import { parseResponse } from './gateway-suite.js';
import { runRequestSuite, type ClientView, type RequestHost, type SuiteCall } from './irequest-suite.js';

const quiet = (): Logger => new Logger('test.irequest', new LogPublisher());

function rawRequest(call: SuiteCall): string {
  const body = call.body ?? '';
  const length = call.body !== undefined ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
  return `${call.method ?? 'GET'} ${call.path ?? '/'} HTTP/1.1\r\nHost: suite.test\r\n${length}\r\n${body}`;
}

/** spindle's HTTP server over StringTransport, the app wrapped by `wrap` (the identity, or a bridge). */
function serverHost(wrap: (app: CpsApp, reactor: MemoryReactor) => CpsApp): RequestHost {
  return {
    async serve(app, call = {}) {
      const reactor = new MemoryReactor();
      const factory = new HTTPFactory(wrap(app, reactor), { reactor, logger: quiet() });
      const transport = new StringTransport();
      const channel = factory.buildProtocol({ host: '192.0.2.1', port: 1 })!;
      channel.makeConnection(transport);
      channel.dataReceived(Buffer.from(rawRequest(call), 'latin1'));
      const method = call.method ?? 'GET';
      let parsed = parseResponse(transport.value(), method, transport.disconnecting);
      for (let i = 0; i < 50 && (parsed === null || !parsed.complete); i++) {
        reactor.advance(0);
        await new Promise((r) => setImmediate(r));
        parsed = parseResponse(transport.value(), method, transport.disconnecting);
      }
      if (parsed === null) throw new Error(`no response: ${Buffer.from(transport.value()).toString('latin1')}`);
      const headers: Record<string, string> = {};
      for (const [name, value] of parsed.headers) {
        const key = name.toLowerCase();
        headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
      }
      return { status: parsed.status, headers, body: Buffer.from(parsed.body).toString('latin1') };
    },
  };
}

async function fromResponse(res: Response): Promise<ClientView> {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, body: await res.text() };
}

const fetchReactor = new NodeReactor();
fetchReactor.run();
afterAll(() => fetchReactor.stop());

const fetchHost: RequestHost = {
  async serve(app, call = {}) {
    const handler = toFetchHandler(app, { reactor: fetchReactor, style: 'cps' });
    const init: RequestInit = { method: call.method ?? 'GET' };
    if (call.body !== undefined) init.body = call.body;
    return fromResponse(await handler(new Request(`http://suite.test${call.path ?? '/'}`, init)));
  },
};

const nodeHost: RequestHost = {
  async serve(app, call = {}) {
    const server = http.createServer(toNodeListener(app, { reactor: fetchReactor, style: 'cps' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as AddressInfo;
      const init: RequestInit = { method: call.method ?? 'GET' };
      if (call.body !== undefined) init.body = call.body;
      return await fromResponse(await fetch(`http://127.0.0.1:${port}${call.path ?? '/'}`, init));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  },
};

runRequestSuite(
  "spindle's HTTP server (Request)",
  serverHost((app) => app),
);
runRequestSuite('Fetch host (toFetchHandler, FetchRequest)', fetchHost);
runRequestSuite('node:http (toNodeListener, NodeRequest)', nodeHost);
runRequestSuite(
  "bridged (toCpsApp(toIterApp(app)) on spindle's server, EnvironRequest)",
  serverHost((app, reactor) => toCpsApp(toIterApp(app, { reactor }), { reactor, logger: quiet() })),
);

/** spindle/testing's DummyRequest: the request a unit test hands an app must keep the same rules. */
const dummyHost: RequestHost = {
  caps: { wire: false },
  async serve(app, call = {}) {
    const req = new DummyRequest({
      method: call.method ?? 'GET',
      uri: call.path ?? '/',
      ...(call.body !== undefined ? { body: call.body } : {}),
    });
    await app(req);
    const headers: Record<string, string> = {};
    for (const [name, value] of req.responseHeaders) {
      const key = name.toLowerCase();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    return { status: req.code, headers, body: req.text() };
  },
};

runRequestSuite('spindle/testing DummyRequest', dummyHost);
