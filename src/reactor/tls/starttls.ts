/**
 * STARTTLS: wrap a connected socket in TLS in place. The `TLSSocket` takes over
 * the same handle (and any bytes already read but not delivered), so the
 * transport only swaps which socket it listens to.
 */
import { connect, TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { TLSHandshakeError } from '../errors.js';
import type { IReactor, TLSClientOptions, TLSServerOptions } from '../interfaces.js';
import { markUnderlying } from '../tcpconnection.js';
import { awaitHandshake } from './handshake.js';
import { clientConnectOptions, handshakeTimeoutOf, serverContext, serverSocketOptions } from './options.js';

/** Wrap `raw` in TLS as server or client; `secured`/`failed` say how the handshake ended. */
export function upgradeToTLS(
  reactor: IReactor,
  raw: Socket,
  options: TLSServerOptions | TLSClientOptions,
  server: boolean,
  outcome: { secured(): void; failed(err: TLSHandshakeError): void },
): TLSSocket {
  const timeout = handshakeTimeoutOf(options, 'startTLS()');
  let socket: TLSSocket;
  if (server) {
    const o = options as TLSServerOptions;
    socket = new TLSSocket(raw, serverSocketOptions(o, serverContext(o, 'startTLS(options, { server: true })')));
  } else {
    socket = connect({ ...clientConnectOptions(options as TLSClientOptions, raw.remoteAddress), socket: raw });
  }
  markUnderlying(socket, raw);
  awaitHandshake(reactor, socket, server, timeout, outcome);
  return socket;
}
