/**
 * One benchmark server for bench/peers.ts (child process): `KIND MODE [ARG]`
 * serves the same responses from each peer, and prints `listening PORT`.
 *
 * KIND: node (node:http), fastify, hono (@hono/node-server), net (a bare
 * node:net responder that counts `\r\n\r\n`), cps (spindle, CPS app), iter
 * (spindle, iterator app through the gateway), bridge (spindle,
 * `toCpsApp(toIterApp(cpsApp))`), threaded (spindle, `threadedIterApp`, 4 workers).
 * MODE: hello (12 bytes, keep-alive); fresh (ARG bytes in FRESH 64 KiB buffers,
 * with Content-Length); shared (ARG bytes, one shared 64 KiB buffer); rows (ARG
 * rows of 16 bytes, each a separate write or yield). Streams carry Content-Length.
 */
import { createServer as httpServer, type ServerResponse } from 'node:http';
import { createServer as httpsServer } from 'node:https';
import { createServer as netServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IterApp } from '../../src/bridge/interfaces.js';
import type { CpsApp } from '../../src/protocols/http/interfaces.js';
import type { IPushProducer } from '../../src/reactor/interfaces.js';
import { HeadEndCounter } from '../harness.js';
import { benchTLS, DIST_ENV, spindleModule } from './dist.js';

/** Run at SIGTERM, before the exit. */
const atExit: (() => void)[] = [];

const [kind = 'node', mode = 'hello', argText = '0'] = process.argv.slice(2);
const arg = Number(argText);
const BODY = Buffer.from('hello world!');
const CHUNK = 64 * 1024;
const SHARED = Buffer.alloc(CHUNK, 0x61);
const ROW = Buffer.from('0123456789abcde\n');

/** The body for the streaming modes, one Buffer per step. */
function* body(): Generator<Buffer> {
  if (mode === 'rows') {
    for (let i = 0; i < arg; i++) yield ROW;
    return;
  }
  for (let sent = 0; sent < arg; sent += CHUNK) {
    const n = Math.min(CHUNK, arg - sent);
    const b = mode === 'fresh' ? Buffer.alloc(CHUNK, 0x62) : SHARED;
    yield n === CHUNK ? b : b.subarray(0, n);
  }
}
/**
 * Content-Length for the streaming modes (so a client counts body bytes whatever the framing);
 * PEER_CHUNKED=1 leaves it out, so HTTP/1.1 responses go chunked (a client then waits for the last chunk);
 * the bare node:net responder ignores it.
 */
const length =
  process.env.PEER_CHUNKED === '1'
    ? null
    : mode === 'rows'
      ? String(arg * ROW.length)
      : mode === 'fresh' || mode === 'shared'
        ? String(arg)
        : null;

/** `headers` with the stream's Content-Length, when it has one. */
function withLength(headers: Record<string, string>): Record<string, string> {
  return length === null ? headers : { ...headers, 'Content-Length': length };
}

function listening(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}

async function nodeHttp(): Promise<void> {
  const tls = benchTLS(); // SPINDLE_BENCH_TLS=1: node:https with the test certificate
  const handler = (_req: unknown, res: ServerResponse): void => {
    if (mode === 'hello') {
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('Content-Length', BODY.length);
      res.end(BODY);
    } else if (mode === 'rows') writeRows(res);
    else {
      res.writeHead(200, withLength({ 'Content-Type': 'application/octet-stream' }));
      pipeline(Readable.from(body()), res).catch(() => {});
    }
  };
  const server = tls ? httpsServer(tls, handler) : httpServer(handler);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => listening((server.address() as { port: number }).port));
}

/** node:http writing each row with res.write (what a hand-written node app does). */
function writeRows(res: ServerResponse): void {
  res.writeHead(200, withLength({ 'Content-Type': 'text/plain' }));
  const it = body();
  const more = (): void => {
    for (let r = it.next(); !r.done; r = it.next()) if (!res.write(r.value)) return void res.once('drain', more);
    res.end();
  };
  more();
}

async function fastify(): Promise<void> {
  const name = 'fastify';
  const { default: make } = (await import(name)) as { default: (o: object) => any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const app = make({ logger: false });
  app.get('/', (_req: unknown, reply: any) => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    if (mode === 'hello') return reply.header('Content-Type', 'text/plain').send(BODY);
    return reply.headers(withLength({ 'Content-Type': 'application/octet-stream' })).send(Readable.from(body()));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  listening(app.server.address().port);
}

async function hono(): Promise<void> {
  const honoName = 'hono';
  const serverName = '@hono/node-server';
  const { Hono } = (await import(honoName)) as { Hono: new () => any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const { serve } = (await import(serverName)) as {
    serve: (o: object, cb: (info: { port: number }) => void) => unknown;
  };
  const app = new Hono();
  app.get('/', (c: any) => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    if (mode === 'hello') return c.body(BODY, 200, { 'Content-Type': 'text/plain' });
    const it = body();
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        const r = it.next();
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      },
    });
    return c.body(stream, 200, withLength({ 'Content-Type': 'application/octet-stream' }));
  });
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => listening(info.port));
}

/** The limit for JS on this core: no parsing beyond counting request ends. */
async function bareNet(): Promise<void> {
  const hello = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world!`);
  const server = netServer({ noDelay: true }, (socket: Socket) => {
    const ends = new HeadEndCounter();
    socket.on('data', (d: Buffer) => {
      const n = ends.feed(d);
      if (n === 0) return;
      if (mode === 'hello') socket.write(n === 1 ? hello : Buffer.concat(Array(n).fill(hello)));
      else streamNet(socket);
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => listening((server.address() as { port: number }).port));
}

function streamNet(socket: Socket): void {
  socket.write(
    `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${mode === 'rows' ? arg * ROW.length : arg}\r\n\r\n`,
  );
  const it = body();
  const more = (): void => {
    for (let r = it.next(); !r.done; r = it.next()) if (!socket.write(r.value)) return void socket.once('drain', more);
  };
  more();
}

/** A CPS app: hello, or the body written from a push producer (rows: one write per row). */
const cpsApp: CpsApp = (request) => {
  if (mode === 'hello') {
    request.setHeader('Content-Type', 'text/plain');
    request.write(BODY);
    request.finish();
    return;
  }
  const it = body();
  let paused = false;
  let done = false;
  const produce = (): void => {
    while (!paused && !done) {
      const r = it.next();
      if (r.done) {
        done = true;
        request.unregisterProducer();
        request.finish();
      } else request.write(r.value);
    }
  };
  const producer: IPushProducer = {
    pauseProducing: () => void (paused = true),
    resumeProducing: () => {
      if (!paused) return;
      paused = false;
      produce();
    },
    stopProducing: () => void (done = true),
  };
  request.setHeader('Content-Type', mode === 'rows' ? 'text/plain' : 'application/octet-stream');
  if (length !== null) request.setHeader('Content-Length', length);
  request.registerProducer(producer, true);
  produce();
};

/** An iterator app: a list for hello, a generator for the rest. */
const iterApp: IterApp = (_environ, startResponse) => {
  if (mode === 'hello') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [BODY];
  }
  const headers: Array<[string, string]> = [
    ['Content-Type', mode === 'rows' ? 'text/plain' : 'application/octet-stream'],
  ];
  if (length !== null) headers.push(['Content-Length', length]);
  startResponse('200 OK', headers);
  return body();
};

async function spindle(): Promise<void> {
  const { NodeReactor } =
    await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
  const { HTTPFactory } =
    await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');
  const { toCpsApp } = await spindleModule<typeof import('../../src/bridge/gateway.js')>('bridge/gateway.js');
  const reactor = new NodeReactor();
  reactor.run();
  // Each kind loads only the modules of the path it serves, as an app would: the threaded
  // modules cost ~0.4 MiB of heap, and this process's heap (node 3 MiB, tsx 2.5, spindle 2)
  // sits just under V8's 8 MiB old-generation threshold for starting incremental marking;
  // above it, the fresh-buffer stream runs a full GC every few scavenges (BENCHMARKS.md, rows).
  let app: CpsApp;
  if (kind === 'cps') app = cpsApp;
  else if (kind === 'iter') app = toCpsApp(iterApp, { reactor });
  else if (kind === 'bridge') {
    const { toIterApp } = await spindleModule<typeof import('../../src/bridge/toiterapp.js')>('bridge/toiterapp.js');
    app = toCpsApp(toIterApp(cpsApp), { reactor });
  } else {
    const { threadedIterApp } =
      await spindleModule<typeof import('../../src/bridge/threaded.js')>('bridge/threaded.js');
    const moduleUrl = new URL('./peer-threaded-app.mjs', import.meta.url).href;
    // PEER_THREADS: another pool size, for a look at how the figure scales (bench/peers.ts uses 4).
    const threads = Number(process.env.PEER_THREADS ?? 4);
    const threaded = threadedIterApp(moduleUrl, 'hello', { threads, reactor });
    app = toCpsApp(threaded, { reactor });
    // Cross-thread wake-ups per request, on stderr at the end (a base build without the counts prints nothing).
    const { Dispatcher } =
      await spindleModule<typeof import('../../src/bridge/threadeddispatch.js')>('bridge/threadeddispatch.js');
    atExit.push(() => {
      const s = threaded.pool && typeof Dispatcher.statsOf === 'function' ? Dispatcher.statsOf(threaded.pool) : null;
      if (!s || s.requests === 0) return;
      process.stderr.write(
        `peer threaded (${process.env[DIST_ENV] ?? 'sources'}): ${s.requests} requests; per request ` +
          `${(s.loopWakeups / s.requests).toFixed(4)} loop wake-ups, ${(s.reactorWakeups / s.requests).toFixed(4)} reactor wake-ups` +
          (typeof s.records === 'number' ? `, ${(s.records / s.requests).toFixed(2)} records read` : '') +
          '\n',
      );
    });
  }
  const tls = benchTLS(); // SPINDLE_BENCH_TLS=1: listenTLS with the test certificate
  const factory = new HTTPFactory(app, { reactor });
  const port = tls
    ? await reactor.listenTLS(0, factory, { ...tls, host: '127.0.0.1' })
    : await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
  listening(port.getHost().port);
}

const kinds: Record<string, () => Promise<void>> = {
  node: nodeHttp,
  fastify,
  hono,
  net: bareNet,
  cps: spindle,
  iter: spindle,
  bridge: spindle,
  threaded: spindle,
};
if (!kinds[kind]) throw new Error(`unknown server kind ${kind}; one of ${Object.keys(kinds).join(', ')}`);
await kinds[kind]!();
// A clean exit on SIGTERM (lets --cpu-prof write its profile when profiling a run).
process.on('SIGTERM', () => {
  for (const f of atExit) f();
  process.exit(0);
});
