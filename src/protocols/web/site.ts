/**
 * `site(root, options)`: serve a resource tree as a CPS app (Twisted's `Site`
 * plus `Request.process`/`render`), so it runs under `serve()`, `HTTPFactory`,
 * `toIterApp`, the Fetch and node:http hosts like any CPS app.
 *
 * Per request: the web extension (`prepath`, `postpath`) is put on the request
 * (`asWebRequest`), the tree is traversed (`getChildForRequest`), and the
 * resource's `render()` answer is delivered (`deliverRender`): a body is sent
 * with its Content-Length and the request finished; `NOT_DONE_YET` leaves the
 * request to the resource; a Deferred or Promise is waited for. A throw or a
 * failure is logged and answered 500 (or the connection aborted once headers
 * went out: the client must not mistake a cut body for a whole one).
 */
import { Buffer } from 'node:buffer';
import { Deferred, isDeferred } from '../../reactor/deferred.js';
import { Logger } from '../../reactor/log.js';
import type { CpsApp, IRequest } from '../http/interfaces.js';
import { RenderResultError } from './errors.js';
import { NOT_DONE_YET, type IResource, type IWebRequest, type RenderResult } from './interfaces.js';
import { ErrorPage } from './pages.js';
import { splitPath } from './path.js';

export interface SiteOptions {
  /** Where render failures are logged; default `new Logger('spindle.web')`. */
  logger?: Logger;
  /** Content-Type of a body answer whose resource set none; default 'text/html; charset=utf-8' (Twisted's default type); null sends none. */
  defaultContentType?: string | null;
}

const defaultLogger = new Logger('spindle.web');

/**
 * Give `request` the web extension: `prepath` [] and `postpath` the decoded
 * segments of its path (own properties added to the request object; the
 * server's Request is otherwise untouched). Returns the same object, typed.
 */
export function asWebRequest(request: IRequest): IWebRequest {
  const web = request as IWebRequest;
  web.prepath = [];
  web.postpath = splitPath(request.path);
  return web;
}

/** Walk from `root` while there is path left and the resource is not a leaf, moving one segment from postpath to prepath per step. */
export function getChildForRequest(root: IResource, request: IWebRequest): IResource {
  let resource = root;
  while (request.postpath.length > 0 && !resource.isLeaf) {
    const name = request.postpath.shift()!;
    request.prepath.push(name);
    resource = resource.getChildWithDefault(name, request);
  }
  return resource;
}

/** Serve the tree under `root` as a CPS app. */
export function site(root: IResource, options: SiteOptions = {}): CpsApp {
  const ctx: RenderContext = {
    log: options.logger ?? defaultLogger,
    defaultContentType:
      options.defaultContentType === undefined ? 'text/html; charset=utf-8' : options.defaultContentType,
  };
  return (request: IRequest): void => {
    const web = asWebRequest(request);
    let result: RenderResult;
    let where = 'render()';
    try {
      const resource = getChildForRequest(root, web);
      where = `render() of ${resource.constructor?.name ?? 'a resource'} for ${request.method} ${request.path}`;
      result = resource.render(web);
    } catch (err) {
      return processingFailed(web, err, ctx);
    }
    deliverRender(web, result, where, ctx);
  };
}

export interface RenderContext {
  log: Logger;
  defaultContentType: string | null;
}

/** Deliver what `render()` returned (see the file comment). */
function deliverRender(request: IWebRequest, result: unknown, where: string, ctx: RenderContext): void {
  if (result === NOT_DONE_YET) return;
  if (typeof result === 'string' || result instanceof Uint8Array) return sendBody(request, result, ctx);
  if (
    isDeferred(result) ||
    (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function')
  ) {
    const d = isDeferred(result) ? result : Deferred.fromPromise(result as PromiseLike<unknown>);
    d.addCallbacks(
      (later: unknown) => {
        if (isDeferred(later) || later instanceof Promise)
          return processingFailed(request, new RenderResultError(`the Deferred/Promise of ${where}`, later), ctx);
        deliverRender(request, later, where, ctx);
      },
      (failure) => processingFailed(request, failure.value, ctx),
    );
    return;
  }
  processingFailed(request, new RenderResultError(where, result), ctx);
}

function sendBody(request: IWebRequest, body: string | Uint8Array, ctx: RenderContext): void {
  if (request.disconnected) return;
  if (request.finished) {
    ctx.log.error(
      `${request.method} ${request.uri}: render returned a body, but the request was already finished; return NOT_DONE_YET when the resource finishes the request itself`,
    );
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (!request.startedWriting) {
    if (request.getResponseHeader('content-length') === undefined)
      request.setHeader('Content-Length', String(bytes.length));
    if (ctx.defaultContentType !== null && bytes.length > 0 && request.getResponseHeader('content-type') === undefined)
      request.setHeader('Content-Type', ctx.defaultContentType);
  }
  request.write(bytes);
  request.finish();
}

/** A render failed: log it; answer 500 if nothing went out yet, else abort the connection. */
function processingFailed(request: IWebRequest, error: unknown, ctx: RenderContext): void {
  ctx.log.failure(`${request.method} ${request.uri}: rendering failed`, error, 'error');
  if (request.finished || request.disconnected) return;
  if (request.startedWriting) return request.abort();
  for (const name of ['Content-Length', 'Content-Type', 'Location', 'Allow']) request.removeHeader(name);
  const body = Buffer.from(
    new ErrorPage(
      500,
      'Processing Failed',
      'The server failed while producing this page; the error is in its log.',
    ).render(request) as string,
    'utf8',
  );
  request.setHeader('Content-Length', String(body.length));
  request.write(body);
  request.finish();
}
