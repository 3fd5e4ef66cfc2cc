/**
 * The demo's resource tree (twisted.web style): one `Resource` per path
 * segment, served by `site()`. `demoSite` wraps the site to stamp every
 * response with `X-Spindle-Pid` (which process answered: useful with
 * `--processes N`) and to count requests for the statistics page.
 */
import { Resource, site, type CpsApp, type IRequest, type IResource, type IWebRequest } from '../../src/index.js';

export interface RequestStats {
  /** Requests received since the process started. */
  requests: number;
  /** Requests whose responses have not ended yet. */
  inFlight: number;
  /** Requests per top-level child ('(none)' for a 404). */
  byRoute: Record<string, number>;
}

/** A 404 in plain text that points back to the index. */
class NotFound extends Resource {
  override isLeaf = true;
  override render(request: IWebRequest): string {
    request.setResponseCode(404);
    request.setHeader('content-type', 'text/plain; charset=utf-8');
    return `no page at ${request.path}; the index is at /\n`;
  }
}

/** The root: its static children are the demo's parts; any other name is the plain 404. */
export class DemoRoot extends Resource {
  override getChild(): IResource {
    return new NotFound();
  }
}

export function demoSite(root: DemoRoot, stats: RequestStats): CpsApp {
  const app = site(root);
  return (request: IRequest) => {
    stats.requests++;
    stats.inFlight++;
    request.notifyFinish().addBoth(() => {
      stats.inFlight--;
    });
    request.setHeader('x-spindle-pid', String(process.pid));
    const first = request.path.split('/')[1] ?? '';
    const route = root.children.has(decodeURIComponent(first)) ? `/${first}` : '(none)';
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    return app(request);
  };
}
