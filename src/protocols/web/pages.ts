/**
 * The ready-made resources of twisted.web: `ErrorPage` (any status with a small
 * HTML page), `NoResource` (404), `ForbiddenResource` (403) and `Redirect`.
 * An error page is its own child for any name, so a whole subtree can answer
 * with it (as Twisted's do).
 */
import type { IResource, IWebRequest, RenderResult } from './interfaces.js';

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class ErrorPage implements IResource {
  readonly isLeaf = true;
  constructor(
    readonly code: number,
    readonly brief: string,
    readonly detail: string,
  ) {}

  getChildWithDefault(_name: string, _request: IWebRequest): IResource {
    return this;
  }
  putChild(): void {}

  render(request: IWebRequest): RenderResult {
    request.setResponseCode(this.code);
    request.setHeader('Content-Type', 'text/html; charset=utf-8');
    const brief = escapeHtml(this.brief);
    return `<!DOCTYPE html>\n<html><head><title>${this.code} - ${brief}</title></head><body><h1>${brief}</h1><p>${escapeHtml(this.detail)}</p></body></html>\n`;
  }
}

/** 404 Not Found. */
export class NoResource extends ErrorPage {
  constructor(message = 'Nothing is served at this path.') {
    super(404, 'No Such Resource', message);
  }
}

/** 403 Forbidden. */
export class ForbiddenResource extends ErrorPage {
  constructor(message = 'This path may not be read.') {
    super(403, 'Forbidden Resource', message);
  }
}

/**
 * Redirects every request to `url` (302 Found by default; pass 301, 303, 307 or
 * 308). `url` may be relative; it goes out in `Location` as given (RFC 9110 §10.2.2).
 */
export class Redirect implements IResource {
  readonly isLeaf = true;
  constructor(
    readonly url: string,
    readonly code: 301 | 302 | 303 | 307 | 308 = 302,
  ) {}

  getChildWithDefault(): IResource {
    return this;
  }
  putChild(): void {}

  render(request: IWebRequest): RenderResult {
    return redirectTo(this.url, request, this.code);
  }
}

/** Answer `request` with a redirect to `url`: sets the status and Location, returns a small HTML body (Twisted's `redirectTo`). */
export function redirectTo(url: string, request: IWebRequest, code: 301 | 302 | 303 | 307 | 308 = 302): string {
  request.setResponseCode(code);
  request.setHeader('Location', url);
  request.setHeader('Content-Type', 'text/html; charset=utf-8');
  const href = escapeHtml(url);
  return `<!DOCTYPE html>\n<html><head><title>Moved</title></head><body><p>This page is at <a href="${href}">${href}</a>.</p></body></html>\n`;
}
