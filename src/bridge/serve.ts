/**
 * `serve(app, { style, port, host, reactor })`: the one call that puts an app
 * of any of the three styles on spindle's HTTP server (`reactor.listenTCP` +
 * `HTTPFactory`). An iterator app goes through the gateway (`toCpsApp`), a
 * Fetch handler through `fromFetchHandler`; a CPS app is served as it is.
 *
 * Where: `port`/`host` (TCP, the default 127.0.0.1:8080), or `listen`, one
 * endpoint string or several (`'tls:8443:privateKey=k.pem:certKey=c.pem'`,
 * `'unix:/run/app.sock'`; see src/protocols/endpoints.ts), all serving the
 * same app with one HTTP server. `port`/`host` are the short form of
 * `listen: 'tcp:PORT:interface=HOST'`.
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
import { gatherResults } from '../reactor/deferredlist.js';
import {
  listenOn,
  parseServerEndpoint,
  type EndpointReactor,
  type ServerEndpointSpec,
} from '../protocols/endpoints.js';
import { getReactor } from '../reactor/shared.js';
import { HTTPFactory } from '../protocols/http/factory.js';
import { LimitConnectionsFactory } from '../protocols/policies.js';
import type { HTTPServerOptions } from '../protocols/http/options.js';
import type { CpsApp } from '../protocols/http/interfaces.js';
import { ServeListenError, ServeStyleError } from './errors.js';
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
  /**
   * Endpoint strings to listen on instead of `port`/`host` (Twisted's syntax:
   * `tcp:8080:interface=0.0.0.0`, `tls:8443:privateKey=k.pem:certKey=c.pem`,
   * `unix:/run/app.sock:mode=660`). An array listens on each and fires with
   * the ports in the same order.
   */
  listen?: string | readonly string[];
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
export function servedApp(
  app: IterApp | CpsApp | FetchHandler,
  style: ServeStyle,
  reactor: IReactor,
  gateway: Omit<GatewayOptions, 'reactor'> = {},
): CpsApp {
  if (style === 'fetch') return fromFetchHandler(app as FetchHandler);
  if (style === 'iter' || style === 'cps') return asCpsApp(app as IterApp | CpsApp, style, reactor, gateway);
  throw new ServeStyleError(style);
}

export function serve(
  app: IterApp | CpsApp | FetchHandler,
  options: ServeOptions & { listen: readonly string[] },
): Deferred<IListeningPort[]>;
export function serve(
  app: IterApp | CpsApp | FetchHandler,
  options: ServeOptions & { listen?: string },
): Deferred<IListeningPort>;
export function serve(
  app: IterApp | CpsApp | FetchHandler,
  options: ServeOptions,
): Deferred<IListeningPort> | Deferred<IListeningPort[]>;
export function serve(
  app: IterApp | CpsApp | FetchHandler,
  options: ServeOptions,
): Deferred<IListeningPort> | Deferred<IListeningPort[]> {
  if (typeof app !== 'function') throw new TypeError(`serve(app, options): app must be a function, got ${typeof app}`);
  const {
    style,
    port,
    host,
    listen,
    reactor = getReactor(),
    backlog,
    gateway,
    maxConnections,
    ...http
  } = options ?? ({} as ServeOptions);
  const specs = listenSpecs(listen, port, host, backlog);
  const needs = specs.find((s) => s.kind !== 'tcp');
  if (
    needs !== undefined &&
    typeof (reactor as Partial<EndpointReactor>)[needs.kind === 'tls' ? 'listenTLS' : 'listenUNIX'] !== 'function'
  ) {
    throw new ServeListenError(
      `serve(): the reactor cannot listen on ${needs.kind} endpoints; pass a NodeReactor (or MemoryReactor) as reactor`,
    );
  }
  const http1 = new HTTPFactory(servedApp(app, style, reactor, gateway), { ...http, reactor });
  const factory = maxConnections === undefined ? http1 : new LimitConnectionsFactory(http1, { maxConnections });
  const ports = specs.map((spec) => listenOn(reactor as EndpointReactor, spec, factory));
  if (!Array.isArray(listen)) return ports[0]!;
  return gatherResults<IListeningPort>(ports).addErrback((f) => {
    // One listener failed: close the others, and fail with the first error.
    for (const d of ports) d.addCallback((p: IListeningPort) => void p?.stopListening?.()).addErrback(() => undefined);
    throw (f.value as { subFailure?: { value: unknown } }).subFailure?.value ?? f.value;
  });
}

/** The endpoints `serve()` listens on: `listen`, or `port`/`host` as TCP. */
function listenSpecs(
  listen: ServeOptions['listen'],
  port: number | undefined,
  host: string | undefined,
  backlog: number | undefined,
): ServerEndpointSpec[] {
  if (listen === undefined) {
    return [
      {
        kind: 'tcp',
        port: port ?? DEFAULT_SERVE_PORT,
        host: host ?? DEFAULT_SERVE_HOST,
        ...(backlog !== undefined ? { backlog } : {}),
      },
    ];
  }
  if (port !== undefined || host !== undefined) {
    throw new ServeListenError(
      'serve(): give listen or port/host, not both (port/host are the short form of listen: "tcp:PORT:interface=HOST")',
    );
  }
  const list: readonly string[] = typeof listen === 'string' ? [listen] : listen;
  if (list.length === 0)
    throw new ServeListenError(
      'serve(): listen is an empty list; give at least one endpoint, e.g. "tcp:8080:interface=127.0.0.1"',
    );
  return list.map((desc) => {
    const spec = parseServerEndpoint(desc);
    return backlog !== undefined && spec.backlog === undefined ? { ...spec, backlog } : spec;
  });
}
