/**
 * The demo's router: a CPS app that hands each request to the sub-app mounted
 * on the longest matching path prefix. It also stamps every response with
 * `X-Spindle-Pid` (which process answered: useful with `--processes N`) and
 * counts requests for the statistics page.
 */
import type { CpsApp, IRequest } from '../../src/index.js';

export interface RouterStats {
  /** Requests received since the process started. */
  requests: number;
  /** Requests whose responses have not ended yet. */
  inFlight: number;
  /** Requests per mount point ('(none)' for a 404). */
  byRoute: Record<string, number>;
}

interface Mount {
  prefix: string;
  app: CpsApp;
  /** True when only the exact path matches (no sub-paths). */
  exact: boolean;
}

export class Router {
  readonly stats: RouterStats = { requests: 0, inFlight: 0, byRoute: {} };
  private readonly mounts: Mount[] = [];

  /**
   * Route `prefix` (and, unless `exact`, everything under `prefix/`) to `app`.
   * Sub-apps see the whole path: spindle serves at the root (SCRIPT_NAME '').
   */
  mount(prefix: string, app: CpsApp, options: { exact?: boolean } = {}): this {
    this.mounts.push({ prefix, app, exact: options.exact ?? false });
    // Longest prefix first, so '/cps-via-iter' wins over '/cps'.
    this.mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  private match(path: string): Mount | undefined {
    return this.mounts.find((m) => path === m.prefix || (!m.exact && path.startsWith(m.prefix === '/' ? '/' : `${m.prefix}/`)));
  }

  /** The router as a CPS app. */
  readonly app: CpsApp = (request: IRequest) => {
    this.stats.requests++;
    this.stats.inFlight++;
    request.notifyFinish().addBoth(() => {
      this.stats.inFlight--;
    });
    request.setHeader('x-spindle-pid', String(process.pid));
    const mount = this.match(request.path);
    const route = mount?.prefix ?? '(none)';
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
    if (!mount) {
      request.setResponseCode(404);
      request.setHeader('content-type', 'text/plain; charset=utf-8');
      request.write(`no page at ${request.path}; the index is at /\n`);
      request.finish();
      return;
    }
    return mount.app(request);
  };
}
