/**
 * A twisted.web app ported line by line: the three resources of Twisted's
 * web-in-60-seconds pages, "Interrupted Responses" (a delayed answer that is
 * cancelled when the client goes away), "Handling POSTs" (a form) and
 * "Redirects". The Python is kept above each TypeScript line it became.
 *
 *     node --import tsx src/cli.ts serve examples/twisted-web-port.ts:app --style cps --port 8080
 *     curl localhost:8080/delayed        (answers after 5 s; ?seconds=0.1 for less)
 *     curl -d the-field=hi localhost:8080/form
 *     curl -i localhost:8080/old
 *
 * What differs from the Python, and why:
 * - `reactor.callLater` is `request.reactor.callLater`: library code and apps
 *   take the reactor they run on (tests drive it with a Clock), never a global.
 * - `request.args` does not exist: the form body is read with `readBody()`,
 *   and render_POST returns the Deferred of the page (site() answers when it
 *   fires) instead of a string.
 * - `cgi.escape` is `escapeHtml`; bytes literals are strings (sent as UTF-8).
 */
import { escapeHtml } from '../src/protocols/index.js'; // 'spindle/protocols'
import { NOT_DONE_YET, Redirect, Resource, site } from '../src/index.js'; // 'spindle'
import type { Deferred, Failure, IDelayedCall, IWebRequest } from '../src/index.js';

/** Seconds the delayed page waits, as in the Twisted example; `?seconds=N` changes it. */
export const DELAY = 5;

// class DelayedResource(Resource):
export class DelayedResource extends Resource {
  //   def _delayedRender(self, request):
  _delayedRender(request: IWebRequest): void {
    //     request.write(b"<html><body>Sorry to keep you waiting.</body></html>")
    request.write('<html><body>Sorry to keep you waiting.</body></html>');
    //     request.finish()
    request.finish();
  }

  //   def _responseFailed(self, err, call):
  _responseFailed(_err: Failure, call: IDelayedCall): void {
    //     call.cancel()
    call.cancel();
  }

  //   def render_GET(self, request):
  render_GET(request: IWebRequest): typeof NOT_DONE_YET {
    const seconds = Number(new URLSearchParams(request.query).get('seconds') ?? DELAY);
    //     call = reactor.callLater(5, self._delayedRender, request)
    const call = request.reactor.callLater(seconds, () => this._delayedRender(request));
    //     request.notifyFinish().addErrback(self._responseFailed, call)
    request.notifyFinish().addErrback((err) => this._responseFailed(err, call));
    //     return NOT_DONE_YET
    return NOT_DONE_YET;
  }
}

// class FormPage(Resource):
export class FormPage extends Resource {
  //   def render_GET(self, request):
  render_GET(): string {
    //     return b'<html><body><form method="POST"><input name="the-field" type="text" /></form></body></html>'
    return '<html><body><form method="POST"><input name="the-field" type="text" /></form></body></html>';
  }

  //   def render_POST(self, request):
  render_POST(request: IWebRequest): Deferred<string> {
    //     args = request.args[b"the-field"][0].decode("utf-8")
    return request.readBody({ limit: 64 * 1024 }).addCallback((body) => {
      const args = new URLSearchParams(Buffer.from(body).toString('utf8')).get('the-field') ?? '';
      //     escapedArgs = cgi.escape(args)
      const escapedArgs = escapeHtml(args);
      //     return (b"<html><body>You submitted: " + escapedArgs.encode("utf-8") + b"</body></html>")
      return '<html><body>You submitted: ' + escapedArgs + '</body></html>';
    });
  }
}

// root = Resource()
export const root = new Resource();
// root.putChild(b"delayed", DelayedResource())
root.putChild('delayed', new DelayedResource());
// root.putChild(b"form", FormPage())
root.putChild('form', new FormPage());
// root.putChild(b"old", Redirect(b"/form"))
root.putChild('old', new Redirect('/form'));

// factory = Site(root)  (reactor.listenTCP(8880, factory) is `spindle serve` here)
export const app = site(root);
export const style = 'cps';
