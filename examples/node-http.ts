/**
 * Mounting spindle apps on node:http. `toNodeListener(app)` turns an iterator
 * app (or a CPS app, with { style: 'cps' }) into a `(req, res)` listener, so
 * it can live beside existing node:http code, Express middleware and the like.
 * The iterator is pulled only while `res` accepts data (its 'drain' event).
 *
 *     node --import tsx examples/node-http.ts     then: curl http://127.0.0.1:8081/spindle/hello
 */
import { createServer } from 'node:http';
import { toNodeListener, type CpsApp, type IterApp } from '../src/index.js'; // 'spindle'
import reactor from '../src/reactor/index.js'; // 'spindle/reactor'

const iterApp: IterApp = (environ, startResponse) => {
  startResponse('200 OK', [['content-type', 'text/plain; charset=utf-8']]);
  return (function* () {
    yield `iterator app, path ${environ.PATH_INFO}\n`;
    for (let i = 1; i <= 3; i++) yield `chunk ${i}\n`;
  })();
};

const cpsApp: CpsApp = (request) => {
  request.setHeader('content-type', 'text/plain; charset=utf-8');
  request.write(`CPS app, ${request.method} ${request.uri}\n`);
  request.reactor.callLater(0.01, () => request.finish());
};

const spindleIter = toNodeListener(iterApp, { reactor });
const spindleCps = toNodeListener(cpsApp, { reactor, style: 'cps' });

// Plain node:http routing; the spindle apps are just two more listeners.
const server = createServer((req, res) => {
  if (req.url?.startsWith('/spindle/')) return spindleIter(req, res);
  if (req.url?.startsWith('/cps/')) return spindleCps(req, res);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('plain node:http here; try /spindle/hello or /cps/hello\n');
});

reactor.run(); // the apps' timers run on the shared reactor
server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`listening on http://${address.address}:${address.port}`);
});

// Ctrl-C / SIGTERM: stop accepting, close idle keep-alive sockets, stop the reactor.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeIdleConnections();
    void reactor.stop();
  });
}
