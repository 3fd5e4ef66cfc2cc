/**
 * `listenTCP`: a listening port that builds a protocol per accepted connection.
 * The factory's `doStart` runs once the bind succeeded, `doStop` once the port
 * is closed; connections accepted earlier stay open after `stopListening`.
 *
 * `StreamPort` is shared by every kind of socket port (TCP, TLS, Unix): the
 * kinds differ in how they bind, in what happens between accepting a socket
 * and building its protocol (TLS shakes hands there) and in what is left to
 * clean up once the port closed (a Unix socket's file).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Deferred } from './deferred.js';
import { CannotListenError, InvalidArgumentError } from './errors.js';
import type { IAddress, IListeningPort, IProtocol, IProtocolFactory, IReactor, ListenOptions } from './interfaces.js';
import { Logger } from './log.js';
import { SHARED_READ_BYTES } from './readbuffer.js';
import { readIntoOwnBuffers } from './tcpaccept.js';
import { TCPConnection, type ConnectionKind, type TransportOptions } from './tcpconnection.js';
import { closeAtShutdown, type ShutdownClosable } from './tcpshutdown.js';

export interface TCPListenOptions extends ListenOptions, TransportOptions {}

/** Default `readBufferSize` of a listener: Node's read size (a connection's bulk reads go into 64 KiB of its own). */
export const DEFAULT_SERVER_READ_BUFFER = SHARED_READ_BYTES;
/** The largest `readBufferSize` (as `connectTCP`'s). */
const MAX_READ_BUFFER = 64 * 1024 * 1024;

/** A listener's `readBufferSize`: 0 (Node's own reads) or 64 KiB to 64 MiB. */
export function checkServerReadBuffer(size: number | undefined, what: string): number {
  if (size === undefined) return DEFAULT_SERVER_READ_BUFFER;
  if (size === 0 || (Number.isInteger(size) && size >= SHARED_READ_BYTES && size <= MAX_READ_BUFFER)) return size;
  throw new InvalidArgumentError(
    `${what} readBufferSize must be 0 (Node's own reads) or a whole number of bytes from 64 KiB to 64 MiB, got ${String(size)}`,
  );
}

/** What a port passes to each connection it accepts. */
interface PortOptions extends TransportOptions {
  /** Bytes of the largest read (0: the socket reads as Node does); see `ListenOptions.readBufferSize`. */
  readBufferSize: number;
}

/** What makes one kind of port differ from plain TCP. */
export interface PortHooks {
  /** How connections on this port are described (a Unix socket's path). */
  kind?: ConnectionKind;
  /**
   * Between accepting `raw` and building its protocol: call `start(socket)`
   * with the socket to serve (TLS: once the handshake is done), or never.
   */
  accept?(raw: Socket, start: (socket: Socket, kind: ConnectionKind) => void): void;
  /** The port stopped listening (before the factory's `doStop`). */
  stopped?(): void;
}

const log = new Logger('spindle.tcp');

export class StreamPort implements IListeningPort, ShutdownClosable {
  private stopped: Deferred<void> | null = null;
  private readonly forgetAtShutdown: () => void;

  constructor(
    private readonly reactor: IReactor,
    private readonly server: Server,
    private readonly factory: IProtocolFactory,
    private readonly address: IAddress,
    private readonly options: PortOptions,
    private readonly hooks: PortHooks = {},
  ) {
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('error', (err) =>
      log.failure(`error on the port listening at ${describeAddress(this.address)}`, err, 'error'),
    );
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
        this.hooks.stopped?.();
      } catch (err) {
        log.failure(`cleaning up after the port at ${describeAddress(this.address)} failed`, err, 'error');
      }
      try {
        this.factory.doStop();
      } catch (err) {
        log.failure('factory.doStop() raised an exception', err, 'error');
      }
      d.callback(undefined);
    });
    return d;
  }

  private accept(raw: Socket): void {
    if (this.hooks.accept !== undefined) this.hooks.accept(raw, (socket, kind) => this.serve(socket, kind));
    else {
      const size = this.options.readBufferSize;
      this.serve(size === 0 ? raw : readIntoOwnBuffers(raw, size), this.hooks.kind ?? {});
    }
  }

  private serve(socket: Socket, kind: ConnectionKind): void {
    const peer: IAddress =
      kind.unix !== undefined
        ? { host: '', port: 0, family: 'unix', path: '' }
        : {
            host: socket.remoteAddress ?? '',
            port: socket.remotePort ?? 0,
            family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
          };
    let protocol: IProtocol | null;
    try {
      protocol = this.factory.buildProtocol(peer);
    } catch (err) {
      log.failure(
        `buildProtocol raised an exception for a connection from ${describeAddress(peer)}; closing it`,
        err,
        'error',
      );
      protocol = null;
    }
    if (protocol === null) {
      socket.destroy();
      return;
    }
    new TCPConnection(this.reactor, socket, protocol, { highWater: this.options.highWater }, undefined, kind).start();
  }
}

function describeAddress(a: IAddress): string {
  return a.family === 'unix' ? `unix:${a.path ?? ''}` : `${a.host}:${a.port}`;
}

/** Bind `server`; fires once it listens, or errbacks with Node's error. */
export function bindServer(
  server: Server,
  args: { port: number; host?: string; backlog?: number } | { path: string; backlog?: number },
): Deferred<void> {
  const d = new Deferred<void>();
  const onError = (err: Error) => {
    server.close();
    d.errback(err);
  };
  server.once('error', onError);
  server.listen(args, () => {
    server.off('error', onError);
    d.callback(undefined);
  });
  return d;
}

/** The port is bound: count it, start the factory, and serve. */
export function startPort(
  reactor: IReactor,
  server: Server,
  factory: IProtocolFactory,
  address: IAddress,
  options: TransportOptions & { readBufferSize?: number },
  hooks?: PortHooks,
): IListeningPort {
  reactor.stats.listeningPorts++;
  const readBufferSize = options.readBufferSize ?? DEFAULT_SERVER_READ_BUFFER;
  const listening = new StreamPort(
    reactor,
    server,
    factory,
    address,
    { highWater: options.highWater, readBufferSize },
    hooks,
  );
  try {
    factory.doStart();
  } catch (err) {
    log.failure('factory.doStart() raised an exception', err, 'error');
  }
  return listening;
}

/** The address a TCP server is bound to. */
function boundAddress(server: Server, host: string | undefined, port: number): IAddress {
  const bound = server.address();
  return bound !== null && typeof bound === 'object'
    ? { host: bound.address, port: bound.port, family: bound.family === 'IPv6' ? 'IPv6' : 'IPv4' }
    : { host: host ?? '', port };
}

export function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`${what} port must be an integer from 0 to 65535, got ${String(port)}`);
  }
}

/** Bind a TCP server on `port`, with `hooks` for what differs (TLS); errbacks with `CannotListenError`. */
export function listenStream(
  reactor: IReactor,
  port: number,
  factory: IProtocolFactory,
  options: TCPListenOptions,
  hooks?: PortHooks,
): Deferred<IListeningPort> {
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const d = new Deferred<IListeningPort>();
  bindServer(server, { port, host: options.host, backlog: options.backlog }).addCallbacks(
    () => d.callback(startPort(reactor, server, factory, boundAddress(server, options.host, port), options, hooks)),
    (f) => failListen(d, new CannotListenError(options.host ?? '0.0.0.0', port, f.value)),
  );
  return d;
}

/**
 * Errback a listen with `err`. If nobody handled it (serve(...) then
 * reactor.run(), as the README shows), say so now, or a port clash passes in
 * silence and the process exits 0.
 */
export function failListen(d: Deferred<IListeningPort>, err: Error): void {
  d.errback(err);
  d.logUnhandledNow();
}

/**
 * Listen on `port` (0 picks a free one) and serve `factory`'s protocols. The
 * Deferred fires with the port once it is bound, or errbacks with
 * `CannotListenError` naming host and port.
 */
export function listenTCP(
  reactor: IReactor,
  port: number,
  factory: IProtocolFactory,
  options: TCPListenOptions = {},
): Deferred<IListeningPort> {
  checkPort(port, 'listenTCP');
  checkServerReadBuffer(options.readBufferSize, 'listenTCP');
  return listenStream(reactor, port, factory, options);
}
