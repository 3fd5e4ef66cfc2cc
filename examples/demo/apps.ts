/**
 * The demo's small apps, one per style, so the same greeting can be compared:
 * an iterator app, a CPS app, and (in app.ts) that CPS app run through
 * toIterApp and hosted again by the gateway.
 */
import { Deferred, type CpsApp, type Environ, type IterApp, type StartResponse } from '../../src/index.js';

const TEXT: [string, string] = ['content-type', 'text/plain; charset=utf-8'];

/** An iterator app: startResponse, then a generator the gateway pulls on demand. */
export const iterHello: IterApp = (environ: Environ, startResponse: StartResponse) => {
  startResponse('200 OK', [TEXT]);
  return (function* () {
    yield 'Hello from an iterator app (WSGI shape).\n';
    // Mounted by WSGIResource: SCRIPT_NAME is where, PATH_INFO what follows (PEP 3333).
    yield `You asked for ${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}${environ.PATH_INFO}`;
    yield environ.QUERY_STRING ? `?${environ.QUERY_STRING}\n` : '\n';
    // Each chunk goes to the socket when the gateway pulls it; nothing is buffered whole.
    for (const key of ['SERVER_PROTOCOL', 'REMOTE_ADDR', 'HTTP_USER_AGENT'])
      yield `${key} = ${String(environ[key] ?? '')}\n`;
  })();
};

/** Resolve after `seconds` on the request's reactor: a stand-in for a database call. */
function slowLookup(request: Parameters<CpsApp>[0], seconds: number): Deferred<string> {
  const d = new Deferred<string>();
  const call = request.reactor.callLater(seconds, () => d.callback(`looked up in ${seconds * 1000} ms`));
  // If the client goes away first, stop waiting: the timer is cancelled.
  request.notifyFinish().addErrback(() => {
    if (call.active()) call.cancel();
  });
  return d;
}

/** A CPS app: write through the request, finish when a Deferred fires. */
export const cpsHello: CpsApp = (request) => {
  request.setHeader(...TEXT);
  request.write('Hello from a CPS app (Twisted.web style).\n');
  request.write(`You asked for ${request.method} ${request.uri}\n`);
  return slowLookup(request, 0.05).addCallback((result) => {
    request.write(`The Deferred fired: ${result}.\n`);
    request.finish();
  });
};
