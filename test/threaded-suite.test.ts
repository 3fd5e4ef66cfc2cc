/**
 * The gateway conformance suite with every app hosted through threadedIterApp:
 * the suite's apps run on worker threads (loaded by name from SUITE_APPS),
 * behind spindle's gateway and HTTP server on a real socket.
 */
import { afterAll } from 'vitest';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ThreadPool } from '../src/reactor/threadpool.js';
import { threadedIterApp } from '../src/bridge/threaded.js';
import { tcpSuiteServer } from './gateway-hosts.js';
import { runGatewaySuite, type GatewayHost } from './gateway-suite.js';

const suiteUrl = pathToFileURL(fileURLToPath(new URL('./gateway-suite.ts', import.meta.url))).href;
// One warm pool for the whole suite: a worker starts once, not once per case.
const pool = new ThreadPool(null, { size: 2 });
afterAll(() => pool.stop());

const threadedHost: GatewayHost = {
  start: (_app, appName) => tcpSuiteServer(threadedIterApp(suiteUrl, `SUITE_APPS.${appName}`, { pool })),
};

runGatewaySuite('worker threads via threadedIterApp', threadedHost);
