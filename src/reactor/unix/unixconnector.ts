/** `connectUNIX`: the socket connector on a Unix socket path. */
import { connect } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import type { ConnectOptions, IClientFactory, IConnector, IReactor } from '../interfaces.js';
import type { TransportOptions } from '../tcpconnection.js';
import { dial } from '../tcpconnector.js';

/**
 * Connect to the Unix socket at `path`. No file there, or a stale one:
 * `clientConnectionFailed` with `ConnectionRefusedError`.
 */
export function connectUNIX(
  reactor: IReactor,
  path: string,
  factory: IClientFactory,
  options: ConnectOptions & TransportOptions = {},
): IConnector {
  if (typeof path !== 'string' || path === '')
    throw new InvalidArgumentError(
      `connectUNIX path must be a socket file path such as /run/app.sock, got ${JSON.stringify(path)}`,
    );
  return dial(
    reactor,
    {
      destination: { host: '', port: 0, family: 'unix', path },
      label: `unix:${path}`,
      open: () => connect({ path, allowHalfOpen: true }),
      kind: { unix: { path, accepted: false } },
    },
    factory,
    options,
  );
}
