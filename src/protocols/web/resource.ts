/**
 * `Resource`: a node of the resource tree (Twisted's `twisted.web.resource.Resource`).
 *
 * Method handlers are named `render_GET`, `render_POST`, ... as in Twisted,
 * not camelCase: a handler's name is `render_` plus the method token exactly as
 * it arrives (RFC 9110 §9.1: methods are case-sensitive tokens), so PROPFIND or
 * any extension method maps with no case rule to learn, and a twisted.web
 * resource ports line by line. Handlers are found by name at render time (a
 * method or an arrow-function field), so a subclass declares them without
 * `override`.
 *
 * `render(request)` dispatches on `request.method`; HEAD falls back to
 * `render_GET` (the server sends no body for HEAD, RFC 9110 §9.3.2); a method
 * with no handler is answered 405 with `Allow` listing the ones there are
 * (RFC 9110 §15.5.6), or 501 when the resource has none at all.
 */
import type { IWebRequest, IResource, RenderResult } from './interfaces.js';
import { ChildNameError } from './errors.js';
import { ErrorPage, NoResource } from './pages.js';

type Handler = (this: Resource, request: IWebRequest) => RenderResult;

export class Resource implements IResource {
  /** A leaf is rendered with the rest of the path left in `request.postpath`. */
  isLeaf = false;
  /** Static children, by decoded segment name ('' is the child for a trailing '/'). */
  readonly children = new Map<string, IResource>();

  /** Add a static child at `name` (one decoded path segment). */
  putChild(name: string, child: IResource): void {
    if (name.includes('/')) throw new ChildNameError(name);
    this.children.set(name, child);
  }

  /** The dynamic child for `name` when there is no static one. Default: 404. Override to build children on demand. */
  getChild(_name: string, _request: IWebRequest): IResource {
    return new NoResource();
  }

  /** A static child if there is one, else `getChild`. */
  getChildWithDefault(name: string, request: IWebRequest): IResource {
    return this.children.get(name) ?? this.getChild(name, request);
  }

  /** The names of the static children. */
  listNames(): string[] {
    return [...this.children.keys()];
  }

  /** Dispatch to `render_<METHOD>`; HEAD falls back to GET; else 405 (or 501 with no handler at all). */
  render(request: IWebRequest): RenderResult {
    const handler = this.handlerFor(request.method);
    if (handler !== undefined) return handler.call(this, request);
    const allowed = this.allowedMethods();
    if (allowed.length === 0)
      return new ErrorPage(501, 'Not Implemented', `${request.method} is not implemented by this resource.`).render(
        request,
      );
    request.setHeader('Allow', allowed.join(', '));
    return new ErrorPage(
      405,
      'Method Not Allowed',
      `${request.method} is not allowed here; this resource answers ${allowed.join(', ')}.`,
    ).render(request);
  }

  /** The methods this resource answers: every `render_TOKEN` it has, plus HEAD when it has GET. */
  allowedMethods(): string[] {
    const names = new Set<string>();
    for (let o: object | null = this; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const key of Object.getOwnPropertyNames(o)) {
        if (
          key.startsWith('render_') &&
          key.length > 7 &&
          typeof (this as unknown as Record<string, unknown>)[key] === 'function'
        )
          names.add(key.slice(7));
      }
    }
    if (names.has('GET')) names.add('HEAD');
    return [...names].sort();
  }

  private handlerFor(method: string): Handler | undefined {
    const own = (this as unknown as Record<string, unknown>)[`render_${method}`];
    if (typeof own === 'function') return own as Handler;
    const get = (this as unknown as Record<string, unknown>).render_GET;
    if (method === 'HEAD' && typeof get === 'function') return get as Handler;
    return undefined;
  }
}
