/**
 * `serve(app, { style, port, host, reactor })`: the one call that puts an app
 * of any of the three styles on spindle's HTTP server (`reactor.listenTCP` +
 * `HTTPFactory`). An iterator app goes through the gateway (`toCpsApp`), a
 * Fetch handler through `fromFetchHandler`; a CPS app is served as it is.
 *
 * The reactor: library code takes its reactor as a parameter and never
 * imports the shared one. `serve()` is the exception on purpose, as the
 * one-call entry point for applications (like the CLI): when `reactor` is
 * omitted it uses the shared `NodeReactor` from src/reactor/shared.ts, created
 * lazily on that first call. Everything below `serve()` gets the reactor
 * passed in, and a test passes its own (`MemoryReactor`, a `NodeReactor`).
 */
import type { Deferred } from '../reactor/deferred.js';
import type { IListeningPort, IReactor } from '../reactor/interfaces.js';
import { getReactor } from '../reactor/shared.js';
import { HTTPFactory } from '../protocols/http/factory.js';
import { LimitConnectionsFactory } from '../protocols/policies.js';
import type { HTTPServerOptions } from '../protocols/http/options.js';
import type { CpsApp } from '../protocols/http/interfaces.js';
import { ServeStyleError } from './errors.js';
import { asCpsApp, fromFetchHandler, type FetchHandler } from './fetch.js';
import type { GatewayOptions } from './gateway.js';
import type { IterApp } from './interfaces.js';

/** The port `serve()` listens on when none is given. */
export const DEFAULT_SERVE_PORT = 8080;
/** The interface `serve()` binds when no host is given: loopback only, never all interfaces by surprise. */
export const DEFAULT_SERVE_HOST = '127.0.0.1';

export type ServeStyle = 'iter' | 'cps' | 'fetch';

export interface ServeOptions extends Partial<Omit<HTTPServerOptions, 'reactor'>> {
  style: ServeStyle;
  /** Default `DEFAULT_SERVE_PORT`; 0 picks a free port (read it from `getHost()`). */
  port?: number;
  /** Default `DEFAULT_SERVE_HOST` ('127.0.0.1'). */
  host?: string;
  /** Default: the shared reactor (see the module comment). */
  reactor?: IReactor;
  backlog?: number;
  /**
   * Most connections open at once; past it a new connection is closed at once,
   * logged and counted (`LimitConnectionsFactory`). Default: no limit.
   */
  maxConnections?: number;
  /** Options for the gateway that hosts an iterator app. */
  gateway?: Omit<GatewayOptions, 'reactor'>;
}

/** The CPS app the HTTP server hosts for `app` in `style`. */
export function servedApp(app: IterApp | CpsApp | FetchHandler, style: ServeStyle, reactor: IReactor, gateway: Omit<GatewayOptions, 'reactor'> = {}): CpsApp {
  if (style === 'fetch') return fromFetchHandler(app as FetchHandler);
  if (style === 'iter' || style === 'cps') return asCpsApp(app as IterApp | CpsApp, style, reactor, gateway);
  throw new ServeStyleError(style);
}

export function serve(app: IterApp | CpsApp | FetchHandler, options: ServeOptions): Deferred<IListeningPort> {
  if (typeof app !== 'function') throw new TypeError(`serve(app, options): app must be a function, got ${typeof app}`);
  const { style, port = DEFAULT_SERVE_PORT, host = DEFAULT_SERVE_HOST, reactor = getReactor(), backlog, gateway, maxConnections, ...http } = options ?? ({} as ServeOptions);
  const http1 = new HTTPFactory(servedApp(app, style, reactor, gateway), { ...http, reactor });
  const factory = maxConnections === undefined ? http1 : new LimitConnectionsFactory(http1, { maxConnections });
  return reactor.listenTCP(port, factory, backlog === undefined ? { host } : { host, backlog });
}
