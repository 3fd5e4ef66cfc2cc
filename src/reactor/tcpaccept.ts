/**
 * Accepted sockets that read into spindle's own buffers (readbuffer.ts).
 *
 * `net.Server` builds each accepted socket itself and takes no `onread` option,
 * but Node's `Socket` constructor takes `onread` together with a `handle`. So the
 * accepted socket's handle moves to a new `Socket` built with both, inside the
 * server's 'connection' event: the same call that accepted it, before libuv
 * read anything (it reads only once control is back in its loop).
 *
 * That uses underscore fields of Node's: the socket's `_handle` and `_server`.
 * It is done only when they have the shape Node 18 to 22 gives them, and the
 * socket the server built is served as it is otherwise (Node's own reads).
 *
 * What the server did for its socket moves with the handle: the count of open
 * connections (`getConnections()`, `maxConnections`, and `close()`, whose
 * callback waits for it to reach 0) is taken back when the socket whose
 * `_server` is set is destroyed, so `_server` moves to the new socket and the
 * old one, left without handle or server, is garbage; `noDelay` was set on the
 * handle, so the new socket is told it is set; half-open and the high-water
 * marks are copied.
 *
 * If building the new socket throws, the handle goes back to the old one when the
 * throw came before Node's handle setup (the handle still names the old socket as
 * its owner). After that setup (it points the handle's reads at the new socket and
 * hands libuv the read buffer, which cannot be undone) the old socket would never
 * get a byte: it is destroyed instead, so the peer sees the connection closed and
 * the server's count goes down, rather than a connection that hangs. With Node 20
 * and the options given here nothing after the setup throws; the check guards
 * against a Node that differs.
 */
import { Socket } from 'node:net';
import { acceptedReads } from './readbuffer.js';

/** Node's `onread` option for an accepted socket: `acceptedReads` (a test passes its own). */
export type AcceptedReads = typeof acceptedReads;

/** The underscore fields used, as far as they are used. */
interface NodeSocketFields {
  _handle?: { readStart?: unknown; useUserBuffer?: unknown } | null;
  _server?: { noDelay?: unknown } | null;
  server?: unknown;
}

/** Node's handle names the socket it reads for under a symbol of its own: is that still `socket`? */
function ownedBy(handle: object, socket: Socket): boolean {
  return Object.getOwnPropertySymbols(handle).some((key) => (handle as Record<symbol, unknown>)[key] === socket);
}

/** The new socket could not take the handle: it goes back to `raw`, which is closed if the handle no longer reads for it. */
function giveBack(raw: Socket & NodeSocketFields, handle: object): Socket {
  raw._handle = handle;
  if (!ownedBy(handle, raw)) raw.destroy();
  return raw;
}

/** `raw`, an accepted socket no byte was read from, as a socket reading through `acceptedReads(max)`; `raw` if Node's fields are not as expected. */
export function readIntoOwnBuffers(raw: Socket, max: number, reads: AcceptedReads = acceptedReads): Socket {
  const old = raw as Socket & NodeSocketFields;
  const handle = old._handle;
  const server = old._server;
  if (
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStart !== 'function' ||
    server === null ||
    typeof server !== 'object' ||
    raw.readableLength !== 0 ||
    raw.destroyed
  )
    return raw;
  old._handle = null;
  let socket: Socket & NodeSocketFields;
  try {
    socket = new Socket({
      handle,
      allowHalfOpen: raw.allowHalfOpen,
      readable: true,
      writable: true,
      noDelay: server.noDelay === true,
      readableHighWaterMark: raw.readableHighWaterMark,
      writableHighWaterMark: raw.writableHighWaterMark,
      onread: reads(max, (chunk) => socket.emit('data', chunk)),
    } as ConstructorParameters<typeof Socket>[0]) as Socket & NodeSocketFields;
  } catch {
    return giveBack(old, handle);
  }
  if (socket._handle !== handle) return giveBack(old, handle);
  socket._server = server;
  socket.server = old.server;
  old._server = null;
  old.server = null;
  return socket;
}
