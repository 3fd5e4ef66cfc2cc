/**
 * The spindle demo: ONE CPS app, a Resource tree served by site(), one child
 * per part: iterator apps mounted with WSGIResource (SCRIPT_NAME is their
 * path), CPS apps with resourceFromCps, examples/ as a StaticFile, and
 * server-sent events.
 *
 *     npm start     (spindle serve examples/demo/app.ts:app --style cps --port 8080)
 *
 * Iterator apps are hosted through the gateway, sharing one set of gateway
 * counters that the statistics page shows.
 */
import { fileURLToPath } from 'node:url';
import { resourceFromCps, StaticFile, toCpsApp, toIterApp, WSGIResource, type CpsApp } from '../../src/index.js';
import type { GatewayStats } from '../../src/bridge/index.js';
import { cpsHello, iterHello } from './apps.js';
import { clockApp } from './clock.js';
import { Events } from './events.js';
import { INDEX } from './pages.js';
import { statsApp } from './stats.js';
import { DemoRoot, demoSite, type RequestStats } from './tree.js';
import { uploadApp } from './upload.js';

/** Read by `spindle serve` when --style is not given. */
export const style = 'cps';

export interface DemoOptions {
  /** Seconds between clock ticks and events (1; tests pass less). */
  tickSeconds?: number;
}

export interface Demo {
  app: CpsApp;
  root: DemoRoot;
  requestStats: RequestStats;
  gatewayStats: GatewayStats;
}

const indexApp: CpsApp = (request) => {
  request.setHeader('content-type', 'text/html; charset=utf-8');
  request.write(INDEX);
  request.finish();
};

/** examples/, served read-only under /files/. */
const EXAMPLES = fileURLToPath(new URL('..', import.meta.url));

export function createDemo(options: DemoOptions = {}): Demo {
  const tick = options.tickSeconds ?? 1;
  // Every iterator app below shares one set of gateway counters (taken from a first gateway).
  const gatewayStats = toCpsApp(iterHello).gatewayStats;
  const mount = (app: Parameters<typeof toCpsApp>[0]) => new WSGIResource(app, { stats: gatewayStats });
  const requestStats: RequestStats = { requests: 0, inFlight: 0, byRoute: {} };
  const stats = resourceFromCps(statsApp(gatewayStats, requestStats));
  const root = new DemoRoot();
  root.putChild('', resourceFromCps(indexApp));
  root.putChild('iter', mount(iterHello));
  root.putChild('cps', resourceFromCps(cpsHello));
  // The CPS app as an iterator app, hosted again by the gateway: same bytes as /cps.
  root.putChild('cps-via-iter', mount(toIterApp(cpsHello)));
  root.putChild('clock', mount(clockApp(tick)));
  root.putChild('upload', mount(uploadApp));
  root.putChild('stats', stats);
  root.putChild('stats.json', stats);
  root.putChild('files', new StaticFile(EXAMPLES, { allowDirectoryListing: true }));
  root.putChild('events', new Events(tick));
  return { app: demoSite(root, requestStats), root, requestStats, gatewayStats };
}

/** The demo app `npm start` serves. */
export const app: CpsApp = createDemo().app;
