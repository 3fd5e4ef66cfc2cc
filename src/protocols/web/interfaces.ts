/**
 * The web layer's contracts (Twisted's `twisted.web.resource` and `server`):
 * a tree of resources, traversed one path segment at a time, each able to
 * render a request.
 *
 * Traversal (`site()`): the request gets `prepath = []` and `postpath` = the
 * decoded segments of its path ('/a/b' → ['a', 'b'], '/' → ['']). Starting at
 * the root, while `postpath` is not empty and the resource is not a leaf, the
 * first segment moves from `postpath` to `prepath` and
 * `resource.getChildWithDefault(segment, request)` gives the next resource.
 * The last one's `render(request)` answers.
 *
 * Rendering: `render(request)` returns the whole body (string = UTF-8, or
 * bytes) to answer at once; or `NOT_DONE_YET`, after which the resource must
 * `request.finish()` itself (later, from a callback); or a Deferred (or
 * Promise) of a body or of `NOT_DONE_YET`, to answer when it fires. A throw, a
 * failed Deferred or a rejected Promise becomes a 500 (or an aborted connection
 * once the headers went out), logged.
 */
import type { Deferred } from '../../reactor/deferred.js';
import type { IRequest } from '../http/interfaces.js';

/** Returned by `render()` when the resource will finish the request itself, later. */
export const NOT_DONE_YET: unique symbol = Symbol('NOT_DONE_YET');
export type NotDoneYet = typeof NOT_DONE_YET;

/** A body to send now (Content-Length is set from it) or the promise to finish later. */
export type Body = string | Uint8Array;
export type RenderResult = Body | NotDoneYet | Deferred<Body | NotDoneYet> | Promise<Body | NotDoneYet>;

/**
 * The web extension of a request: where traversal stands. A request served by
 * `site()` carries both (site() adds them to the server's request object, see
 * `asWebRequest`); `DummyRequest` from spindle/testing has them too.
 *
 * `prepath`: the decoded segments already consumed, root first (the path of
 * the resource being rendered, under the site). `postpath`: the decoded
 * segments left ('/files/a/b.txt' rendering a leaf at /files: prepath
 * ['files'], postpath ['a', 'b.txt']).
 */
export interface IWebRequest extends IRequest {
  prepath: string[];
  postpath: string[];
}

/** A node of the resource tree (`Resource` implements it; so may any object). */
export interface IResource {
  /** A leaf gets the rest of the path in `request.postpath` instead of children. */
  readonly isLeaf: boolean;
  /** The child for `name`: a static child put with `putChild`, else `getChild(name, request)`. */
  getChildWithDefault(name: string, request: IWebRequest): IResource;
  putChild(name: string, child: IResource): void;
  render(request: IWebRequest): RenderResult;
}
