/**
 * Upstream for the proxy benchmarks (node:http, child process): `GET /bytes/N`
 * streams N bytes in 64 KiB chunks with node's backpressure; any request with a
 * body is read and counted, answered `got N`. `?rate=BYTES_PER_S` paces either
 * direction (a slow upstream). Prints its port on stdout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const CHUNK = 64 * 1024;
const shared = Buffer.alloc(CHUNK, 0x61);

function pace(rate: number, bytes: number): number {
  return rate > 0 ? (bytes / rate) * 1000 : 0;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  const rate = Number(url.searchParams.get('rate') ?? 0);
  const m = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (m && req.method === 'GET') {
    const total = Number(m[1]);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
    let sent = 0;
    const more = (): void => {
      while (sent < total) {
        const n = Math.min(CHUNK, total - sent);
        sent += n;
        const ok = res.write(n === CHUNK ? shared : shared.subarray(0, n));
        if (rate > 0) return void setTimeout(more, pace(rate, n));
        if (!ok) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => (sent = total));
    return more();
  }
  let got = 0;
  req.on('data', (d: Buffer) => {
    got += d.length;
    if (rate > 0) {
      req.pause();
      setTimeout(() => req.resume(), pace(rate, d.length));
    }
  });
  req.on('end', () => res.end(`got ${got}`));
});
server.keepAliveTimeout = 60_000;
// node:http ends a request that takes longer than 5 minutes to arrive (requestTimeout): a paced upload
// of the soak's slow rows (a GiB at 100 KiB/s takes 3 hours) must not be cut.
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
