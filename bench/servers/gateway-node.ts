/**
 * Baseline benchmark server (child process): the same apps on plain node:http.
 * 'stream' and 'infinite' use `pipeline(Readable.from(gen()), res)` (node's own
 * backpressure). Prints `listening PORT` on stdout once ready.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { benchTLS } from './dist.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const [mode = 'hello', totalArg = '0'] = process.argv.slice(2);
const total = Number(totalArg);
const CHUNK = 64 * 1024;
const shared = Buffer.alloc(CHUNK, 0x61);

function* stream(): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK)
    yield sent + CHUNK <= total ? shared : shared.subarray(0, total - sent);
}
function* infinite(): Generator<Buffer> {
  for (;;) yield Buffer.alloc(CHUNK, 0x62);
}

const tls = benchTLS(); // SPINDLE_BENCH_TLS=1: node:https (bench/https.ts)
const handler = (_req: IncomingMessage, res: ServerResponse) => {
  if (mode === 'hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('Hello, world!');
    return;
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
  if (mode === 'stream') headers['Content-Length'] = String(total);
  res.writeHead(200, headers);
  pipeline(Readable.from(mode === 'stream' ? stream() : infinite()), res).catch(() => {});
};
const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});

// A clean exit on SIGTERM (lets --cpu-prof write its profile when profiling a run).
process.on('SIGTERM', () => process.exit(0));
