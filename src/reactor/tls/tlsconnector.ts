/**
 * `connectTLS`: the TCP connector with a TLS socket. The protocol is built
 * once the handshake is done and the server's certificate checked; a
 * certificate that is not trusted fails the attempt with `TLSHandshakeError`
 * (the factory's `clientConnectionFailed`), as does a handshake that does not
 * finish within the connect `timeout`.
 */
import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import { InvalidArgumentError, TLSHandshakeError } from '../errors.js';
import type { IClientFactory, IConnector, IReactor, TLSConnectOptions } from '../interfaces.js';
import { markUnderlying, type TransportOptions } from '../tcpconnection.js';
import { dial } from '../tcpconnector.js';
import { clientConnectOptions } from './options.js';

/** Connect with TLS to `host:port`; the factory hears how it goes. Returns the connector at once. */
export function connectTLS(
  reactor: IReactor,
  host: string,
  port: number,
  factory: IClientFactory,
  options: TLSConnectOptions & TransportOptions = {},
): IConnector {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new InvalidArgumentError(`connectTLS port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const tlsOptions = clientConnectOptions(options, host);
  const label = `${host}:${port}`;
  return dial(
    reactor,
    {
      destination: { host, port },
      label,
      open: () => netConnect({ host, port, allowHalfOpen: true, noDelay: true }),
      upgrade(raw) {
        const socket = connect({ ...tlsOptions, socket: raw });
        markUnderlying(socket, raw); // so that an abort can reset the TCP socket (a TLS socket cannot be reset)
        return socket;
      },
      error(err) {
        const code = err.code ?? '';
        if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return undefined;
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
          return new TLSHandshakeError(
            `the certificate of ${label} was not trusted (${code}): ${err.message}; pass the CA that signed it as ca, or the name it was issued for as servername`,
            { cause: err },
          );
        }
        if (/^ERR_SSL|^ERR_TLS|EPROTO/.test(code))
          return new TLSHandshakeError(`the TLS handshake with ${label} failed (${code}): ${err.message}`, {
            cause: err,
          });
        return undefined;
      },
      kind: { secure: true },
    },
    factory,
    options,
  );
}
