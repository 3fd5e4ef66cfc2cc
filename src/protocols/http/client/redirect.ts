/**
 * `RedirectAgent`: follows redirects, at most `redirectLimit` of them, as a
 * wrapper around any agent (Twisted's `RedirectAgent`, RFC 9110 §15.4).
 *
 * - 303 See Other: the next request is a GET without a body;
 * - 301, 302, 307, 308: followed with the same method for GET and HEAD only;
 *   for other methods the redirect response is returned as it is (resending a
 *   body to a new place is the caller's decision);
 * - Location is resolved against the current URL (RFC 9110 §10.2.2); when
 *   the origin changes, Authorization, Cookie and Proxy-Authorization are not
 *   sent on.
 * Each redirect response's body is read and dropped (up to `REDIRECT_BODY_LIMIT`,
 * so its connection can be reused; past it the body is abandoned). The final
 * response's `previousResponse` links back through the chain.
 */
import { Deferred, fail } from '../../../reactor/deferred.js';
import type { ITransport } from '../../../reactor/interfaces.js';
import { headerPairs } from './requesthead.js';
import { RedirectWithNoLocation, TooManyRedirects } from './errors.js';
import type { IAgent, IResponse, RequestBody, RequestHeaders } from './interfaces.js';

export const DEFAULT_REDIRECT_LIMIT = 20;
/** Bytes of a redirect's own body read (and dropped) to keep its connection; past it the connection closes. */
export const REDIRECT_BODY_LIMIT = 64 * 1024;

const FOLLOW_SAME_METHOD = new Set([301, 302, 307, 308]);
const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export interface RedirectAgentOptions {
  redirectLimit?: number;
}

/** Read and drop a body, up to `limit`; abandon it past that. Fires when the body is over either way. */
function discardBody(response: IResponse, limit: number): Deferred<void> {
  let seen = 0;
  let transport: ITransport | null = null;
  const done = new Deferred<void>();
  response.deliverBody({
    makeConnection: (t) => void (transport = t),
    dataReceived: (d) => {
      seen += d.length;
      if (seen > limit) transport?.stopProducing();
    },
    connectionLost: () => done.callback(undefined),
  });
  return done;
}

export class RedirectAgent implements IAgent {
  readonly redirectLimit: number;

  constructor(
    private readonly agent: IAgent,
    options: RedirectAgentOptions = {},
  ) {
    this.redirectLimit = options.redirectLimit ?? DEFAULT_REDIRECT_LIMIT;
  }

  request(
    method: string,
    url: string,
    headers?: RequestHeaders | null,
    body?: RequestBody | null,
  ): Deferred<IResponse> {
    return this.follow(method, url, headers ?? null, body ?? null, 0, null);
  }

  private follow(
    method: string,
    url: string,
    headers: RequestHeaders | null,
    body: RequestBody | null,
    count: number,
    previous: IResponse | null,
  ): Deferred<IResponse> {
    return this.agent
      .request(method, url, headers, body)
      .addCallback((response: IResponse): IResponse | Deferred<IResponse> => {
        if (previous !== null) (response as { previousResponse: IResponse | null }).previousResponse = previous;
        const code = response.code;
        const redirect = code === 303 || (FOLLOW_SAME_METHOD.has(code) && (method === 'GET' || method === 'HEAD'));
        if (!redirect) return response;
        const location = response.headers.get('location');
        if (location === undefined || location === '') {
          discardBody(response, REDIRECT_BODY_LIMIT);
          return fail<IResponse>(new RedirectWithNoLocation(code, url));
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          discardBody(response, REDIRECT_BODY_LIMIT);
          return fail<IResponse>(new RedirectWithNoLocation(code, url));
        }
        if (count >= this.redirectLimit) {
          discardBody(response, REDIRECT_BODY_LIMIT);
          return fail<IResponse>(new TooManyRedirects(this.redirectLimit, next.href));
        }
        next.hash = '';
        const sameOrigin = new URL(url).origin === next.origin;
        const nextHeaders = sameOrigin
          ? headers
          : headerPairs(headers).filter(([n]) => !CREDENTIALS.has(n.toLowerCase()));
        const nextMethod = code === 303 && method !== 'HEAD' ? 'GET' : method;
        // Once the redirect's own body is over its connection is free for the next request.
        return discardBody(response, REDIRECT_BODY_LIMIT).addCallback(() =>
          this.follow(nextMethod, next.href, nextHeaders, code === 303 ? null : body, count + 1, response),
        ) as unknown as Deferred<IResponse>;
      }) as Deferred<IResponse>;
  }
}
