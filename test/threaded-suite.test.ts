/**
 * The gateway conformance suite with every app hosted through threadedIterApp:
 * the suite's apps run on worker threads (loaded by name from SUITE_APPS),
 * behind spindle's gateway and HTTP server on a real socket.
 */
import { afterAll } from 'vitest';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ThreadPool } from '../src/reactor/threadpool.js';
import { threadedIterApp } from '../src/bridge/threaded.js';
import { readResponses, tcpServer } from './gateway-hosts.js';
import { rawRequest, runGatewaySuite, type GatewayHost, type SuiteRequest } from './gateway-suite.js';

const suiteUrl = pathToFileURL(fileURLToPath(new URL('./gateway-suite.ts', import.meta.url))).href;
// One warm pool for the whole suite: a worker starts once, not once per case.
const pool = new ThreadPool(null, { size: 2 });
afterAll(() => pool.stop());

const threadedHost: GatewayHost = {
  async start(_app, appName) {
    const server = await tcpServer(threadedIterApp(suiteUrl, `SUITE_APPS.${appName}`, { pool }));
    return {
      async fetch(req: SuiteRequest) {
        const s = await server.connect();
        s.write(rawRequest(req));
        const [r] = await readResponses(s, 1, req.method ?? 'GET');
        s.destroy();
        if (!r) throw new Error('no response');
        return r;
      },
      close: () => server.close(),
    };
  },
};

runGatewaySuite('worker threads via threadedIterApp', threadedHost);
