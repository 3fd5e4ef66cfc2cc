/**
 * Benchmark baseline: node:http answering the same 12-byte hello. Prints its
 * port on stdout, then serves until killed.
 */
import http from 'node:http';
import https from 'node:https';
import { benchTLS } from './dist.js';
import type { AddressInfo } from 'node:net';

const BODY = Buffer.from('hello world!');
const tls = benchTLS(); // SPINDLE_BENCH_TLS=1: node:https (bench/https.ts)
const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', BODY.length);
  res.end(BODY);
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.keepAliveTimeout = 15_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
