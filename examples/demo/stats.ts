/**
 * The live statistics page: what the reactor, the gateway and the site are
 * holding right now. `/stats` is HTML that refreshes itself every second;
 * `/stats.json` is the same snapshot for scripts.
 */
import type { CpsApp, IRequest } from '../../src/index.js';
import type { GatewayStats } from '../../src/bridge/index.js';
import type { RequestStats } from './tree.js';
import { escapeHtml, page } from './pages.js';

export interface StatsSnapshot {
  pid: number;
  /** Seconds since the process started. */
  uptime: number;
  reactor: {
    pendingDelayedCalls: number;
    openConnections: number;
    listeningPorts: number;
    pausedProducers: number;
    totalConnections: number;
  };
  gateway: GatewayStats;
  requests: RequestStats;
  memory: { rssMiB: number; heapUsedMiB: number };
}

export function snapshot(request: IRequest, gateway: GatewayStats, router: RequestStats): StatsSnapshot {
  const r = request.reactor;
  const mem = process.memoryUsage();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return {
    pid: process.pid,
    uptime: Math.round(process.uptime() * 10) / 10,
    reactor: { pendingDelayedCalls: r.getDelayedCalls().length, ...r.stats },
    gateway: { ...gateway },
    requests: { ...router, byRoute: { ...router.byRoute } },
    memory: { rssMiB: mib(mem.rss), heapUsedMiB: mib(mem.heapUsed) },
  };
}

function table(title: string, rows: Record<string, unknown>): string {
  const cells = Object.entries(rows)
    .map(
      ([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'object' ? JSON.stringify(v) : String(v))}</td></tr>`,
    )
    .join('');
  return `<h2>${escapeHtml(title)}</h2><table>${cells}</table>`;
}

/** The stats app: HTML at /stats, JSON at /stats.json. */
export function statsApp(gateway: GatewayStats, router: RequestStats): CpsApp {
  return (request) => {
    const snap = snapshot(request, gateway, router);
    request.setHeader('cache-control', 'no-store');
    if (request.path.endsWith('.json')) {
      request.setHeader('content-type', 'application/json');
      request.write(`${JSON.stringify(snap, null, 2)}\n`);
    } else {
      request.setHeader('content-type', 'text/html; charset=utf-8');
      const body =
        `<p>Process ${snap.pid}, up ${snap.uptime} s. This page reloads every second.</p>` +
        table('Reactor', snap.reactor) +
        table('Gateway (iterator apps)', snap.gateway as unknown as Record<string, unknown>) +
        table('Requests', snap.requests as unknown as Record<string, unknown>) +
        table('Memory (MiB)', snap.memory);
      request.write(page('Reactor statistics', body, '<meta http-equiv="refresh" content="1">'));
    }
    request.finish();
  };
}
