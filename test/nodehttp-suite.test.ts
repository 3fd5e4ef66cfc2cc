/** The gateway conformance suite with node:http as the host, through toNodeListener. */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { toNodeListener } from '../src/bridge/nodehttp.js';
import { quietLogger, readResponses } from './gateway-hosts.js';
import { rawRequest, runGatewaySuite, type GatewayHost, type SuiteRequest } from './gateway-suite.js';

export const nodeHttpHost: GatewayHost = {
  async start(app) {
    const reactor = new NodeReactor();
    const server = http.createServer(toNodeListener(app, { reactor, gateway: { logger: quietLogger() } }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    return {
      async fetch(req: SuiteRequest) {
        const s = net.connect(port, '127.0.0.1');
        s.write(rawRequest(req));
        const [r] = await readResponses(s, 1, req.method ?? 'GET');
        s.destroy();
        if (!r) throw new Error('no response');
        return r;
      },
      async close() {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      },
    };
  },
};

runGatewaySuite('node:http via toNodeListener', nodeHttpHost);
