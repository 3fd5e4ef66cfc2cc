/**
 * `resourceFromCps(app)`: mount a plain CPS app `(request) => void` as a leaf
 * of a resource tree. The app sees the request as it is, with `prepath` (where
 * it is mounted) and `postpath` (the rest of the path) set; its Deferred or
 * Promise failing is answered 500 like any render failure.
 * (The iterator-app twin, `WSGIResource`, lives in src/bridge: it needs the gateway.)
 */
import { Deferred, isDeferred } from '../../reactor/deferred.js';
import type { CpsApp } from '../http/interfaces.js';
import { NOT_DONE_YET, type IWebRequest, type RenderResult } from './interfaces.js';
import { Resource } from './resource.js';

class CpsResource extends Resource {
  override isLeaf = true;
  constructor(private readonly app: CpsApp) {
    super();
  }
  override render(request: IWebRequest): RenderResult {
    const result = this.app(request);
    if (isDeferred(result)) return result.addCallback(() => NOT_DONE_YET);
    if (result instanceof Promise) return Deferred.fromPromise(result).addCallback(() => NOT_DONE_YET);
    return NOT_DONE_YET;
  }
}

export function resourceFromCps(app: CpsApp): Resource {
  return new CpsResource(app);
}
