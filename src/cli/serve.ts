/**
 * `spindle serve` in one process: load the app, bring its style to the CPS
 * shape the HTTP server hosts (`servedApp`, as `serve()` does; with
 * --threads, an iter app first becomes `threadedIterApp(url, export)`),
 * listen, and stop gracefully on a signal.
 *
 * Every style then passes through the same two wrappers: the in-flight
 * counter the graceful stop waits on, and the access log when asked for.
 */
import type { CpsApp, IRequest } from '../protocols/http/interfaces.js';
import type { IAddress, IListeningPort, IReactor } from '../reactor/interfaces.js';
import { listenOn, type EndpointReactor, type ServerEndpointSpec } from '../protocols/endpoints.js';
import { EndpointFileError } from '../protocols/errors.js';
import { HTTPFactory } from '../protocols/http/factory.js';
import { goingAwayNow } from '../protocols/goingaway.js';
import { toCpsApp } from '../bridge/gateway.js';
import { servedApp } from '../bridge/serve.js';
import { threadedIterApp } from '../bridge/threaded.js';
import { CannotListenError } from '../reactor/errors.js';
import type { ServeOptions } from './args.js';
import type { LoadedApp } from './load.js';
import { withAccessLog } from './accesslog.js';
import { ListenError } from './errors.js';
import { InvalidAppResultError } from '../bridge/errors.js';
import { drain, type DrainResult } from './shutdown.js';

export interface RunningServer {
  /** The first listener's bound address (the real port when 0 was asked for). */
  readonly address: IAddress;
  /** Every listener's URL, in the order given: `http://HOST:PORT`, `https://HOST:PORT`, `unix:/path`. */
  readonly urls: string[];
  /** Responses started and not yet finished or abandoned. */
  inFlight(): number;
  /**
   * Stop accepting and wait (bounded) for in-flight responses. 'stop' (the
   * default) answers later requests on open connections with 503; 'retire'
   * (a cluster worker replaced by a reload) serves them with `Connection:
   * close` and waits for the connections to close as well.
   */
  drain(mode?: 'stop' | 'retire'): Promise<DrainResult>;
}

/** Bring the loaded app, whatever its style, to the CPS shape. */
export function toServedApp(loaded: LoadedApp, options: Pick<ServeOptions, 'threads'>, reactor: IReactor): CpsApp {
  if (loaded.style === 'iter' && options.threads !== undefined) {
    return toCpsApp(threadedIterApp(loaded.url, loaded.exportName, { threads: options.threads, reactor }), { reactor });
  }
  let app = loaded.app as Parameters<typeof servedApp>[0];
  // An iterator app served with --style cps gets no startResponse and used to
  // fail with "startResponse is not a function": hand it one that says why.
  // (Not for fetch: Fetch frameworks take a second argument, their env.)
  if (typeof app === 'function' && loaded.style === 'cps') {
    const given = app as (first: never, startResponse: StartResponseHint) => ReturnType<CpsApp>;
    const hint = wrongStyleStartResponse(loaded.style);
    app = ((first: never) => given(first, hint)) as typeof app;
  }
  return servedApp(app, loaded.style, reactor);
}

type StartResponseHint = (...args: unknown[]) => never;

function wrongStyleStartResponse(style: string): StartResponseHint {
  return () => {
    throw new InvalidAppResultError(
      `the app called startResponse(), but it is served with --style ${style}, which passes only the ` +
        `request; an iterator app (environ, startResponse) is served with --style iter`,
    );
  };
}

/**
 * Count responses between arrival and their end (finished or client gone).
 * After `refuseNew()` (the stop signal) a request that still arrives on an
 * open keep-alive connection is refused with 503 and `Connection: close`
 * (RFC 9110 §15.6.4) instead of reaching the app: otherwise a client under
 * sustained load keeps the drain busy until the grace ends, and what is in
 * flight then is cut. After `closeAfterNext()` (a worker retired by a reload,
 * while other workers serve) such a request is served, with `Connection:
 * close` (RFC 9112 §9.6), as are the responses in flight whose head has not
 * gone out: the client then reconnects, to another worker, and no request fails.
 */
function counting(app: CpsApp): {
  app: CpsApp;
  inFlight: () => number;
  refuseNew: () => void;
  closeAfterNext: () => void;
} {
  let inFlight = 0;
  let refusing = false;
  let closing = false;
  const open = new Set<IRequest>();
  const markClose = (request: IRequest): void => {
    try {
      request.setHeader('Connection', 'close');
    } catch {
      // The head already went out: this connection closes when the drain ends.
    }
  };
  return {
    inFlight: () => inFlight,
    refuseNew: () => {
      refusing = true;
    },
    closeAfterNext: () => {
      closing = true;
      for (const request of open) markClose(request);
    },
    app: (request) => {
      if (closing) markClose(request);
      else if (refusing) {
        request.setResponseCode(503);
        request.setHeader('Connection', 'close');
        request.setHeader('Content-Type', 'text/plain; charset=utf-8');
        request.write('the server is shutting down\n');
        request.finish();
        return;
      }
      inFlight++;
      open.add(request);
      request.notifyFinish().addBoth(() => {
        inFlight--;
        open.delete(request);
      });
      return app(request);
    },
  };
}

export interface StartOptions {
  reactor: IReactor;
  /** Where access-log lines go, when --access-log was given. */
  accessLine?: (line: string) => void;
}

/** Listen with the loaded app; errbacks with `ListenError` if the bind fails. */
export async function startServer(
  loaded: LoadedApp,
  options: ServeOptions,
  start: StartOptions,
): Promise<RunningServer> {
  const { reactor } = start;
  let app = toServedApp(loaded, options, reactor);
  if (start.accessLine) app = withAccessLog(app, start.accessLine, options.logFormat);
  const counted = counting(app);
  const factory = new HTTPFactory(counted.app, {
    reactor,
    allowHalfOpen: options.allowHalfOpen === true,
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
  });
  const specs: ServerEndpointSpec[] = options.listen ?? [{ kind: 'tcp', port: options.port, host: options.host }];
  const ports: IListeningPort[] = [];
  for (const spec of specs) {
    try {
      ports.push(await listenOn(reactor as EndpointReactor, spec, factory));
    } catch (err) {
      for (const p of ports) await p.stopListening();
      if (err instanceof CannotListenError || err instanceof EndpointFileError)
        throw new ListenError(err.message, { cause: err });
      throw new ListenError(`cannot listen on ${describeSpec(spec)}: ${String((err as Error)?.message ?? err)}`, {
        cause: err,
      });
    }
  }
  return {
    address: ports[0]!.getHost(),
    urls: ports.map((p, i) => urlOf(p.getHost(), specs[i]!.kind === 'tls')),
    inFlight: counted.inFlight,
    drain: (mode = 'stop') => {
      // Event streams and WebSockets never end by themselves: end them now, not
      // after the grace period (the clients reconnect elsewhere).
      goingAwayNow(reactor);
      const stopListening = async () => void (await Promise.all(ports.map((p) => p.stopListening())));
      if (mode === 'retire') {
        counted.closeAfterNext();
        // Wait for the connections too: each closes after its next response, so
        // a client never sends a request into a connection being torn down.
        return drain({ stopListening, inFlight: () => counted.inFlight() + factory.stats.openChannels }, reactor);
      }
      counted.refuseNew();
      return drain({ stopListening, inFlight: counted.inFlight }, reactor);
    },
  };
}

function describeSpec(spec: ServerEndpointSpec): string {
  return spec.kind === 'unix' ? `unix:${spec.path}` : `${spec.host ?? '0.0.0.0'}:${spec.port}`;
}

/** `http://HOST:PORT` (`https://` for TLS), with IPv6 hosts in brackets; `unix:/path` for a Unix socket. */
export function urlOf(address: IAddress, secure = false): string {
  if (address.family === 'unix') return `unix:${address.path ?? ''}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${secure ? 'https' : 'http'}://${host}:${address.port}`;
}
