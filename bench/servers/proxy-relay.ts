/**
 * The floor for any proxy written on Node: a bare TCP relay in front of
 * 127.0.0.1:argv[2], no HTTP at all. Each client connection gets its own
 * upstream connection; the client's bytes are piped up, and the upstream's are
 * read 256 KiB at a time (Node's `onread`) and written to the client, the read
 * buffer used again when the write went to the kernel at once, the upstream
 * paused while the client's socket is full. Prints its port.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

const READ_BYTES = 256 * 1024;
const upstreamPort = Number(process.argv[2]);
const server = net.createServer({ noDelay: true }, (client) => {
  let buf = Buffer.allocUnsafeSlow(READ_BYTES);
  const upstream = net.connect({
    port: upstreamPort,
    host: '127.0.0.1',
    noDelay: true,
    onread: {
      buffer: () => buf,
      callback(n: number) {
        const ok = client.write(buf.subarray(0, n));
        if (client.writableLength > 0) buf = Buffer.allocUnsafeSlow(READ_BYTES); // the socket still holds it
        if (!ok) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
        return true;
      },
    },
  });
  client.pipe(upstream);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) s.on('error', close).on('close', close);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
