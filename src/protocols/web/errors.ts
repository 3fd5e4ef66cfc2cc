/**
 * Errors of the web layer (resources, site, static files). Every class has a
 * stable `code`; each message says what was expected and how to fix it.
 */
import { SpindleError } from '../../reactor/errors.js';

/** `render()` (or a `render_METHOD`) returned something that is not an answer. */
export class RenderResultError extends SpindleError {
  constructor(where: string, got: unknown) {
    const what = got === null ? 'null' : typeof got === 'object' ? (Object.getPrototypeOf(got)?.constructor?.name ?? 'an object') : typeof got;
    super(
      'ERR_WEB_RENDER_RESULT',
      `${where} returned ${what}; return the body (a string or Uint8Array), NOT_DONE_YET (and call request.finish() later), or a Deferred/Promise of one of those`,
    );
  }
}

/** `putChild(name, ...)` with a name that traversal can never reach. */
export class ChildNameError extends SpindleError {
  constructor(name: string) {
    super('ERR_WEB_CHILD_NAME', `putChild(${JSON.stringify(name)}): a child name is one decoded path segment and cannot contain '/'; nest resources for deeper paths`);
  }
}
