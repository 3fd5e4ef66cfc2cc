/**
 * Benchmark baseline: node:http answering the same 12-byte hello. Prints its
 * port on stdout, then serves until killed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = Buffer.from('hello world!');
const server = http.createServer((_req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', BODY.length);
  res.end(BODY);
});
server.keepAliveTimeout = 15_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
