/**
 * Porting an async handler to an iterator app, before and after side by side.
 *
 * BEFORE is a node:http handler: it awaits, then writes. AFTER is the same
 * logic as an iterator (WSGI-shaped) app: an async generator that awaits,
 * calls startResponse, and yields the body. The gateway pulls it only while
 * the client wants data. `legacy` shows the other way to wait, with no async:
 * pause output, yield '', resume when the Deferred fires.
 *
 *     node --import tsx examples/port-async-to-iter.ts     then: curl http://127.0.0.1:8081/users/7
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Deferred, serve, type Environ, type IterApp, type StartResponse } from '../src/index.js'; // 'spindle'
import reactor from '../src/reactor/index.js'; // 'spindle/reactor'

/** The shared business logic: a lookup that takes a little while. */
function findUser(id: string): Deferred<{ id: string; name: string }> {
  const d = new Deferred<{ id: string; name: string }>();
  reactor.callLater(0.02, () => d.callback({ id, name: `user ${id}` }));
  return d;
}

// BEFORE: node:http, async/await.
export async function before(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = (req.url ?? '').split('/').pop() ?? '';
  const user = await findUser(id); // a Deferred is awaitable
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(user));
}

// AFTER: an iterator app. Same steps; the request line is in the environ.
export const after: IterApp = (environ: Environ, startResponse: StartResponse) =>
  (async function* () {
    const id = environ.PATH_INFO.split('/').pop() ?? '';
    const user = await findUser(id);
    startResponse('200 OK', [['content-type', 'application/json']]);
    yield JSON.stringify(user);
  })();

// AFTER, without async: wait with wsgi.pause_output (works on any gateway offering it).
export const legacy: IterApp = (environ, startResponse) => {
  const id = environ.PATH_INFO.split('/').pop() ?? '';
  let user: { id: string; name: string } | undefined;
  const resume = environ['wsgi.pause_output']!();
  findUser(id).addCallback((u) => {
    user = u;
    resume();
  });
  return (function* () {
    if (user === undefined) yield ''; // paused: no next() until resume()
    startResponse('200 OK', [['content-type', 'application/json']]);
    yield JSON.stringify(user);
  })();
};

// Serve AFTER at /users/ID and LEGACY at /legacy/users/ID.
const app: IterApp = (environ, startResponse) =>
  environ.PATH_INFO.startsWith('/legacy/') ? legacy(environ, startResponse) : after(environ, startResponse);

const port = Number(process.env.PORT ?? 8081);
serve(app, { style: 'iter', port, host: process.env.HOST ?? '127.0.0.1', reactor }).addCallback((listening) => {
  const { host, port: p } = listening.getHost();
  console.log(`listening on http://${host}:${p}`);
  reactor.addSystemEventTrigger('before', 'shutdown', () => listening.stopListening());
});
reactor.run({ installSignalHandlers: true });
