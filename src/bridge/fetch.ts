/**
 * Fetch adapters. `toFetchHandler(app)` turns an iterator app (through the
 * gateway) or a CPS app into a WHATWG handler `(Request) => Promise<Response>`
 * whose body is pulled on demand; `fromFetchHandler(handler)` turns such a
 * handler into a CPS app for spindle's HTTP server, streaming both bodies with
 * backpressure in each direction.
 */
import { Deferred } from '../reactor/deferred.js';
import { ConnectionLost, ResponseDone } from '../reactor/errors.js';
import type { Failure } from '../reactor/failure.js';
import type { IPushProducer, IReactor, ITransport } from '../reactor/interfaces.js';
import { NodeReactor } from '../reactor/nodereactor.js';
import type { CpsApp, IRequest } from '../protocols/http/interfaces.js';
import { BRIDGE_HIGH_WATER } from './bridgequeue.js';
import { FetchRequest, type FetchRequestOptions } from './fetchrequest.js';
import { toCpsApp, type GatewayOptions } from './gateway.js';
import type { IterApp } from './interfaces.js';
import { ServeStyleError } from './errors.js';
import { runCpsApp } from '../protocols/http/requestcore.js';
import { HOP_BY_HOP_HEADERS } from '../protocols/http/rules.js';

export type FetchHandler = (request: Request) => Promise<Response>;

/** How an app passed to a host is written: an iterator app (default) or a CPS app. */
export type HostedStyle = 'iter' | 'cps';

export interface ToFetchHandlerOptions extends Omit<FetchRequestOptions, 'reactor'> {
  /**
   * The reactor the gateway's timers run on. Default: a `NodeReactor` of this
   * handler's own (never the shared one); pass one to share it or to test on a
   * `MemoryReactor`.
   */
  reactor?: IReactor;
  style?: HostedStyle;
  /** Options for the gateway that hosts an iterator app. */
  gateway?: Omit<GatewayOptions, 'reactor'>;
}

/**
 * An iterator app or CPS app as a CPS app (the gateway hosts the former).
 * `where` names the caller in the `ServeStyleError` an unknown style gets.
 */
export function asCpsApp(
  app: IterApp | CpsApp,
  style: HostedStyle,
  reactor: IReactor,
  gateway: Omit<GatewayOptions, 'reactor'> = {},
  where = 'toFetchHandler(app, { style })',
): CpsApp {
  switch (style) {
    case 'cps':
      return app as CpsApp;
    case 'iter':
      return toCpsApp(app as IterApp, { ...gateway, reactor });
    default:
      throw new ServeStyleError(style, where, ['iter', 'cps']);
  }
}

export function toFetchHandler(app: IterApp | CpsApp, options: ToFetchHandlerOptions = {}): FetchHandler {
  const reactor = options.reactor ?? new NodeReactor();
  const requestOptions: FetchRequestOptions = { ...options, reactor };
  const cps = asCpsApp(app, options.style ?? 'iter', reactor, options.gateway);
  return (request: Request): Promise<Response> => {
    const bridged = new FetchRequest(request, requestOptions);
    runCpsApp(cps, bridged);
    return bridged.response;
  };
}

/** The Request's body as a ReadableStream fed by `deliverBody`, pausing the upload while it is full. */
function requestBodyStream(request: IRequest): ReadableStream<Uint8Array> {
  let transport: ITransport | null = null;
  let paused = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        request.deliverBody({
          makeConnection: (t) => {
            transport = t;
          },
          dataReceived: (data) => {
            controller.enqueue(data);
            if ((controller.desiredSize ?? 0) <= 0 && !paused) {
              paused = true;
              transport?.pauseProducing();
            }
          },
          connectionLost: (reason: Failure) => {
            if (reason.check(ResponseDone)) controller.close();
            else controller.error(reason.value);
          },
        });
      },
      pull() {
        if (paused) {
          paused = false;
          transport?.resumeProducing();
        }
      },
      cancel() {
        transport?.stopProducing();
      },
    },
    { highWaterMark: BRIDGE_HIGH_WATER, size: (chunk) => chunk.byteLength },
  );
}

/** Write a Response body into the request, reading the stream only while the request is not paused. */
function pipeBody(body: ReadableStream<Uint8Array>, request: IRequest): Promise<void> {
  const reader = body.getReader();
  let paused = false;
  let stopped = false;
  let wake: (() => void) | null = null;
  const producer: IPushProducer = {
    pauseProducing: () => {
      paused = true;
    },
    resumeProducing: () => {
      paused = false;
      wake?.();
    },
    stopProducing: () => {
      stopped = true;
      reader.cancel().catch(() => {});
      wake?.();
    },
  };
  request.registerProducer(producer, true);
  return (async () => {
    try {
      for (;;) {
        while (paused && !stopped)
          await new Promise<void>((r) => {
            wake = r;
          });
        wake = null;
        if (stopped) return;
        const { done, value } = await reader.read();
        if (stopped) return;
        if (done) break;
        request.write(value);
      }
    } catch (err) {
      if (stopped) return;
      reader.cancel(err).catch(() => {});
      request.unregisterProducer();
      throw err;
    }
    request.unregisterProducer();
    request.finish();
  })();
}

function absoluteUrl(request: IRequest): string {
  const scheme = request.secure ? 'https' : 'http';
  const host =
    request.headers.get('host') ??
    (request.host.family === 'unix' ? 'localhost' : `${request.host.host}:${request.host.port}`);
  return `${scheme}://${host}${request.uri.startsWith('/') ? request.uri : `/${request.uri}`}`;
}

/** A WHATWG handler as a CPS app: the Request is built from the IRequest; the Response streamed back. */
export function fromFetchHandler(handler: FetchHandler): CpsApp {
  return (request: IRequest): Deferred<void> => {
    const abort = new AbortController();
    request.notifyFinish().addErrback((f: Failure) => {
      abort.abort(f.value);
    });
    // A WHATWG Request may not carry a body on GET/HEAD; any other method gets the (maybe empty) stream.
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    const headers = new globalThis.Headers();
    for (const [name, value] of request.headers.rawPairs()) headers.append(name, value);
    const init: RequestInit & { duplex?: 'half' } = { method: request.method, headers, signal: abort.signal };
    if (hasBody) {
      init.body = requestBodyStream(request);
      init.duplex = 'half';
    }
    const run = async (): Promise<void> => {
      const response = await handler(new Request(absoluteUrl(request), init));
      if (request.disconnected) {
        await response.body?.cancel(new ConnectionLost()).catch(() => {});
        return;
      }
      if (response.statusText) request.setResponseCode(response.status, response.statusText);
      else request.setResponseCode(response.status);
      for (const [name, value] of response.headers) {
        if (!HOP_BY_HOP_HEADERS.has(name)) request.addHeader(name, value);
      }
      if (!response.body) {
        request.finish();
        return;
      }
      await pipeBody(response.body, request);
    };
    return Deferred.fromPromise(run());
  };
}
