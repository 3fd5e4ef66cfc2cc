/**
 * The spindle demo: ONE CPS app that mounts each part by path.
 *
 *     npm start     (spindle serve examples/demo/app.ts:app --style cps --port 8080)
 *
 * Iterator apps are hosted through the gateway (toCpsApp), sharing one set of
 * gateway counters that the statistics page shows.
 */
import { toCpsApp, toIterApp, type CpsApp, type IterApp } from '../../src/index.js';
import type { GatewayStats } from '../../src/bridge/index.js';
import { cpsHello, iterHello } from './apps.js';
import { clockApp } from './clock.js';
import { INDEX } from './pages.js';
import { Router } from './router.js';
import { statsApp } from './stats.js';
import { uploadApp } from './upload.js';

/** Read by `spindle serve` when --style is not given. */
export const style = 'cps';

export interface DemoOptions {
  /** Seconds between clock ticks (1; tests pass less). */
  tickSeconds?: number;
}

export interface Demo {
  app: CpsApp;
  router: Router;
  gatewayStats: GatewayStats;
}

const indexApp: CpsApp = (request) => {
  request.setHeader('content-type', 'text/html; charset=utf-8');
  request.write(INDEX);
  request.finish();
};

export function createDemo(options: DemoOptions = {}): Demo {
  // Every iterator app below shares the first gateway's counters.
  const iter = toCpsApp(iterHello);
  const gatewayStats = iter.gatewayStats;
  const host = (app: IterApp) => toCpsApp(app, { stats: gatewayStats });
  const router = new Router();
  const stats = statsApp(gatewayStats, router.stats);
  router
    .mount('/', indexApp, { exact: true })
    .mount('/iter', iter)
    .mount('/cps', cpsHello)
    // The CPS app as an iterator app, hosted again by the gateway: same bytes as /cps.
    .mount('/cps-via-iter', host(toIterApp(cpsHello)))
    .mount('/clock', host(clockApp(options.tickSeconds ?? 1)))
    .mount('/upload', host(uploadApp))
    .mount('/stats', stats, { exact: true })
    .mount('/stats.json', stats, { exact: true });
  return { app: router.app, router, gatewayStats };
}

/** The demo app `npm start` serves. */
export const app: CpsApp = createDemo().app;
