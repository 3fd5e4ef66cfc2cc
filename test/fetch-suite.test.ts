/** The gateway conformance suite with a WHATWG Fetch handler as the host, driven by real `Request`s. */
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { toFetchHandler } from '../src/bridge/fetch.js';
import { quietLogger } from './gateway-hosts.js';
import { runGatewaySuite, type GatewayHost, type SuiteRequest } from './gateway-suite.js';

function toRequest(req: SuiteRequest): Request {
  const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers: req.headers ?? [] };
  if (req.chunked) {
    const parts = req.chunked.map((c) => new TextEncoder().encode(c));
    init.body = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = parts.shift();
        if (p) c.enqueue(p);
        else c.close();
      },
    });
    init.duplex = 'half';
  } else if (req.body !== undefined) {
    // A Request converted from the wire carries the Content-Length it came with.
    init.body = req.body;
    init.headers = [...(req.headers ?? []), ['Content-Length', String(new Blob([req.body]).size)]];
  }
  return new Request(`http://suite.test${req.path}`, init);
}

export const fetchHost: GatewayHost = {
  async start(app) {
    const handler = toFetchHandler(app, { reactor: new NodeReactor(), gateway: { logger: quietLogger() } });
    return {
      async fetch(req: SuiteRequest) {
        const res = await handler(toRequest(req));
        const headers = [...res.headers] as [string, string][];
        try {
          const body = new Uint8Array(await res.arrayBuffer());
          return { status: res.status, headers, body, complete: true };
        } catch {
          return { status: res.status, headers, body: new Uint8Array(0), complete: false };
        }
      },
      async close() {},
    };
  },
};

runGatewaySuite('WHATWG Fetch via toFetchHandler', fetchHost);
