/**
 * `listenUNIX`: a port on a Unix socket file. A file left by a process that
 * died is replaced: if binding finds the path taken, a probe connection tells
 * a live server (it accepts: `CannotListenError`) from a stale file (refused:
 * the file is removed and the bind tried once more). A path that exists but
 * is not a socket is never removed. The file is removed when the port stops.
 */
import { existsSync, lstatSync, unlinkSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import cluster from 'node:cluster';
import { connect, createServer, type Server } from 'node:net';
import { Deferred } from '../deferred.js';
import { CannotListenError, InvalidArgumentError } from '../errors.js';
import type { IListeningPort, IProtocolFactory, IReactor, UNIXListenOptions } from '../interfaces.js';
import { Logger } from '../log.js';
import { bindServer, checkServerReadBuffer, failListen, startPort } from '../tcpport.js';

const log = new Logger('spindle.unix');

/** Listen on the Unix socket `path`; errbacks with `CannotListenError` naming the path. */
export function listenUNIX(
  reactor: IReactor,
  path: string,
  factory: IProtocolFactory,
  options: UNIXListenOptions = {},
): Deferred<IListeningPort> {
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError(
      `listenUNIX path must be a file path such as /run/app.sock, got ${JSON.stringify(path)}`,
    );
  if (options.mode !== undefined && (!Number.isInteger(options.mode) || options.mode < 0 || options.mode > 0o777)) {
    throw new InvalidArgumentError(
      `listenUNIX mode must be a file mode from 0 to 0o777 (e.g. 0o660), got ${String(options.mode)}`,
    );
  }
  checkServerReadBuffer(options.readBufferSize, 'listenUNIX');
  const d = new Deferred<IListeningPort>();
  const fail = (err: unknown) => failListen(d, new CannotListenError(path, 0, err, path));
  const bind = (retry: boolean): void => {
    const server = createServer({ allowHalfOpen: true });
    bindServer(server, { path, backlog: options.backlog }).addCallbacks(
      () => {
        try {
          if (options.mode !== undefined) chmodSync(path, options.mode);
        } catch (err) {
          server.close();
          fail(err);
          return;
        }
        d.callback(listening(reactor, server, path, factory, options));
      },
      (f) => {
        const err = f.value as Error & { code?: string };
        // Node (libuv) reports a missing directory as EACCES: say which it is.
        if (err.code === 'EACCES' && !existsSync(dirname(path))) {
          return fail(
            Object.assign(
              new Error(
                `the directory ${dirname(path)} does not exist; create it first (under systemd, RuntimeDirectory=)`,
              ),
              { code: 'ENOENT' },
            ),
          );
        }
        if (err.code !== 'EADDRINUSE' || !retry) return fail(err);
        if (!isSocketFile(path))
          return fail(
            Object.assign(new Error(`${path} exists and is not a socket file; remove it or pick another path`), {
              code: 'ENOTSOCK',
            }),
          );
        probe(path, (live) => {
          if (live) return fail(err);
          try {
            unlinkSync(path);
          } catch (unlinkErr) {
            return fail(unlinkErr);
          }
          log.info(`replaced the stale socket file ${path} (nothing accepted on it)`);
          bind(false);
        });
      },
    );
  };
  bind(true);
  return d;
}

function listening(
  reactor: IReactor,
  server: Server,
  path: string,
  factory: IProtocolFactory,
  options: UNIXListenOptions,
): IListeningPort {
  const inode = lstatSync(path).ino;
  return startPort(reactor, server, factory, { host: '', port: 0, family: 'unix', path }, options, {
    kind: { unix: { path, accepted: true } },
    stopped() {
      // libuv removes the file when the server closes; make sure, but never remove another
      // server's file, nor the file a cluster's primary still serves for the other workers.
      if (cluster.isWorker) return;
      try {
        if (lstatSync(path).ino === inode) unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  });
}

function isSocketFile(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Does a live server accept on `path`? */
function probe(path: string, done: (live: boolean) => void): void {
  const socket = connect({ path });
  socket.once('connect', () => {
    socket.destroy();
    done(true);
  });
  socket.once('error', () => done(false));
}
