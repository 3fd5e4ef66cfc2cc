/**
 * A reverse proxy in plain node:http (http.request + pipe, a keep-alive Agent), in
 * front of 127.0.0.1:argv[2]: the yardstick for spindle's reverseProxy. An Upgrade
 * request (WebSocket) is passed on the way node:http leaves it to an app: the
 * request head is written to a fresh upstream socket and the two sockets are piped
 * into each other (so the upstream's 101 and everything after it go through as
 * bytes, unchecked). Prints its port.
 */
import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';

const upstreamPort = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const server = http.createServer((req, res) => {
  const up = http.request(
    { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent },
    (ur) => {
      res.writeHead(ur.statusCode!, ur.headers);
      ur.pipe(res);
    },
  );
  up.on('error', () => res.writeHead(502).end());
  req.pipe(up);
});
server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
  const up = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true }, () => {
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${lines}\r\n`);
    if (head.length > 0) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
