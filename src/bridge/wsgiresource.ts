/**
 * `WSGIResource(iterApp)`: mount an iterator (WSGI-shaped) app as a leaf of a
 * resource tree (Twisted's `twisted.web.wsgi.WSGIResource`). The app runs
 * through the gateway (`toCpsApp`), with its environ saying where it is
 * mounted, as PEP 3333 asks: SCRIPT_NAME is the path up to and including this
 * resource's segment, PATH_INFO the rest ('' when nothing follows, '/' for a
 * trailing slash). Both are decoded, one latin-1 char per byte, like the
 * gateway's PATH_INFO; they are cut from the request's own path, so
 * SCRIPT_NAME + PATH_INFO is always the decoded request path.
 */
import type { IRequest } from '../protocols/http/interfaces.js';
import { NOT_DONE_YET, type IWebRequest, type RenderResult } from '../protocols/web/interfaces.js';
import { Resource } from '../protocols/web/resource.js';
import { decodePathInfo } from './environ.js';
import { toCpsApp, type GatewayOptions } from './gateway.js';
import type { IterApp } from './interfaces.js';

/** SCRIPT_NAME / PATH_INFO for a request traversed down to a leaf (PEP 3333 "environ Variables"). */
function mountPoint(request: IRequest): { SCRIPT_NAME: string; PATH_INFO: string } {
  const web = request as Partial<IWebRequest>;
  const raw = request.path.charCodeAt(0) === 0x2f ? request.path.slice(1).split('/') : [];
  const n = web.prepath?.length ?? 0;
  const script = n === 0 ? '' : '/' + raw.slice(0, n).join('/');
  const rest = n >= raw.length ? '' : '/' + raw.slice(n).join('/');
  return { SCRIPT_NAME: decodePathInfo(script), PATH_INFO: decodePathInfo(rest) };
}

export class WSGIResource extends Resource {
  override isLeaf = true;
  private readonly cps: (request: IRequest) => void;

  /** `options` are the gateway's (`toCpsApp`), e.g. `bufferInput` or `writeBufferLimit`. */
  constructor(app: IterApp, options: Omit<GatewayOptions, 'mount'> = {}) {
    super();
    this.cps = toCpsApp(app, { ...options, mount: mountPoint });
  }

  override render(request: IWebRequest): RenderResult {
    this.cps(request);
    return NOT_DONE_YET;
  }
}
