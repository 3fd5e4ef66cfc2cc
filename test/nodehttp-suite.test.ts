/** The gateway conformance suite with node:http as the host, through toNodeListener. */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { toNodeListener } from '../src/bridge/nodehttp.js';
import { exchange, quietLogger } from './gateway-hosts.js';
import { runGatewaySuite, type GatewayHost, type SuiteRequest } from './gateway-suite.js';

export const nodeHttpHost: GatewayHost = {
  async start(app) {
    const reactor = new NodeReactor();
    const server = http.createServer(toNodeListener(app, { reactor, gateway: { logger: quietLogger() } }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    return {
      fetch: (req: SuiteRequest) => exchange(net.connect(port, '127.0.0.1'), req),
      async close() {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      },
    };
  },
};

runGatewaySuite('node:http via toNodeListener', nodeHttpHost);
