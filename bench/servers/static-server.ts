/**
 * Benchmark server: one static file tree served four ways, chosen by
 * STATIC_KIND (or argv[2]):
 *   spindle   — spindle's StaticFile under site() on HTTPFactory
 *   node      — node:http with fs.createReadStream(path).pipe(res)
 *   send      — node:http with `send` (what serve-static / Express use)
 *   static    — node:http with `serve-static`
 * STATIC_DIR (or argv[3]) is the directory; STATIC_CHUNK sets StaticFile's chunkSize. Prints its port on stdout, then
 * serves until killed.
 */
import fs from 'node:fs';
import http from 'node:http';
import { join, normalize } from 'node:path';
import send from 'send';
import serveStatic from 'serve-static';
import { spindleModule } from './dist.js';

const kind = process.env.STATIC_KIND ?? process.argv[2] ?? 'spindle';
const dir = process.env.STATIC_DIR ?? process.argv[3] ?? '.';

async function listenNode(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

let port: number;
if (kind === 'spindle') {
  const { NodeReactor } =
    await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
  const { HTTPFactory } =
    await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');
  const web = await spindleModule<typeof import('../../src/protocols/web/index.js')>('protocols/web/index.js');
  const reactor = new NodeReactor();
  const root = new web.Resource();
  root.putChild(
    'files',
    new web.StaticFile(dir, process.env.STATIC_CHUNK ? { chunkSize: Number(process.env.STATIC_CHUNK) } : {}),
  );
  const listening = await reactor.listenTCP(0, new HTTPFactory(web.site(root), { reactor }), { host: '127.0.0.1' });
  reactor.run();
  port = listening.getHost().port;
} else if (kind === 'node') {
  port = await listenNode((req, res) => {
    const path = join(dir, normalize(decodeURIComponent((req.url ?? '/').slice('/files/'.length))));
    fs.stat(path, (err, st) => {
      if (err !== null || !st.isFile()) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', st.size);
      fs.createReadStream(path).pipe(res);
    });
  });
} else if (kind === 'send') {
  port = await listenNode((req, res) => {
    send(req, (req.url ?? '/').slice('/files'.length), { root: dir }).pipe(res);
  });
} else {
  const serve = serveStatic(dir);
  port = await listenNode((req, res) => {
    req.url = (req.url ?? '/').slice('/files'.length);
    serve(req, res, () => {
      res.statusCode = 404;
      res.end();
    });
  });
}
process.stdout.write(`${port}\n`);
