/**
 * `listenTCP`: a listening port that builds a protocol per accepted connection.
 * The factory's `doStart` runs once the bind succeeded, `doStop` once the port
 * is closed; connections accepted earlier stay open after `stopListening`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Deferred } from './deferred.js';
import { CannotListenError, InvalidArgumentError } from './errors.js';
import type { IAddress, IListeningPort, IProtocolFactory, IReactor, ListenOptions } from './interfaces.js';
import { Logger } from './log.js';
import { TCPConnection, type TransportOptions } from './tcpconnection.js';
import { closeAtShutdown, type ShutdownClosable } from './tcpshutdown.js';

export interface TCPListenOptions extends ListenOptions, TransportOptions {}

const log = new Logger('spindle.tcp');

class TCPPort implements IListeningPort, ShutdownClosable {
  private stopped: Deferred<void> | null = null;
  private readonly forgetAtShutdown: () => void;

  constructor(
    private readonly reactor: IReactor,
    private readonly server: Server,
    private readonly factory: IProtocolFactory,
    private readonly address: IAddress,
    private readonly options: TransportOptions,
  ) {
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('error', (err) => log.failure(`error on the port listening at ${this.address.host}:${this.address.port}`, err, 'error'));
    this.forgetAtShutdown = closeAtShutdown(reactor, this);
  }

  closeForShutdown(): void {
    void this.stopListening();
  }

  getHost(): IAddress {
    return { ...this.address };
  }

  stopListening(): Deferred<void> {
    if (this.stopped !== null) return this.stopped;
    const d = new Deferred<void>();
    this.stopped = d;
    this.forgetAtShutdown();
    // close() releases the port now; its callback would also wait for open connections.
    this.server.close();
    // As Twisted's Port: the port's connectionLost (and doStop) come in a later pass.
    this.reactor.callLater(0, () => {
      this.reactor.stats.listeningPorts--;
      try {
        this.factory.doStop();
      } catch (err) {
        log.failure('factory.doStop() raised an exception', err, 'error');
      }
      d.callback(undefined);
    });
    return d;
  }

  private accept(socket: Socket): void {
    const peer: IAddress = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4' };
    let protocol;
    try {
      protocol = this.factory.buildProtocol(peer);
    } catch (err) {
      log.failure(`buildProtocol raised an exception for a connection from ${peer.host}:${peer.port}; closing it`, err, 'error');
      protocol = null;
    }
    if (protocol === null) {
      socket.destroy();
      return;
    }
    new TCPConnection(this.reactor, socket, protocol, this.options).start();
  }
}

/**
 * Listen on `port` (0 picks a free one) and serve `factory`'s protocols. The
 * Deferred fires with the port once it is bound, or errbacks with
 * `CannotListenError` naming host and port.
 */
export function listenTCP(reactor: IReactor, port: number, factory: IProtocolFactory, options: TCPListenOptions = {}): Deferred<IListeningPort> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`listenTCP port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const d = new Deferred<IListeningPort>();
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const onError = (err: Error) => {
    server.close();
    d.errback(new CannotListenError(options.host ?? '0.0.0.0', port, err));
    // Nobody handled it (serve(...) then reactor.run(), as the README shows):
    // say so now, or a port clash passes in silence and the process exits 0.
    d.logUnhandledNow();
  };
  server.once('error', onError);
  server.listen({ port, host: options.host, backlog: options.backlog }, () => {
    server.off('error', onError);
    const bound = server.address();
    const address: IAddress =
      bound !== null && typeof bound === 'object'
        ? { host: bound.address, port: bound.port, family: bound.family === 'IPv6' ? 'IPv6' : 'IPv4' }
        : { host: options.host ?? '', port };
    reactor.stats.listeningPorts++;
    const listening = new TCPPort(reactor, server, factory, address, { highWater: options.highWater });
    try {
      factory.doStart();
    } catch (err) {
      log.failure('factory.doStart() raised an exception', err, 'error');
    }
    d.callback(listening);
  });
  return d;
}
