/**
 * `connectTCP`: an `IConnector` that makes (and can remake) one client
 * connection, telling its factory each step as Twisted's `BaseConnector` does:
 * `startedConnecting`, then `buildProtocol` or `clientConnectionFailed`, then
 * `clientConnectionLost`. The factory's `doStart`/`doStop` bracket the time it
 * is in use; a factory that reconnects from a failure callback stays started.
 *
 * The connector is shared by every kind of socket (TCP, TLS, Unix): a `Dialer`
 * says how to open the socket, how to wrap it in TLS once it is connected (the
 * protocol is built after the handshake) and how its errors read.
 */
import { connect, type Socket } from 'node:net';
import {
  CancelledError,
  ConnectError,
  ConnectionRefusedError,
  ConnectorStateError,
  ConnectTimeoutError,
  InvalidArgumentError,
} from './errors.js';
import { Failure } from './failure.js';
import type {
  ConnectOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IProtocol,
  IReactor,
} from './interfaces.js';
import { Logger } from './log.js';
import { largeReads } from './readbuffer.js';
import { TCPConnection, type ConnectionKind, type TransportOptions } from './tcpconnection.js';
import { closeAtShutdown, type ShutdownClosable } from './tcpshutdown.js';

export interface TCPConnectOptions extends ConnectOptions, TransportOptions {}

/** Seconds `connectTCP` waits for a connection before `ConnectTimeoutError`. */
export const CONNECT_TIMEOUT = 30;

const log = new Logger('spindle.tcp');

type State = 'disconnected' | 'connecting' | 'connected';

/** How one kind of client socket is opened. */
export interface Dialer {
  /** Where it connects; `getDestination()` returns this. */
  destination: IAddress;
  /** How errors name the destination: `host:port`, `unix:/path`. */
  label: string;
  /** Start connecting; the socket emits 'connect' once connected. */
  open(): Socket;
  /** TLS: wrap the connected socket; the result emits 'secureConnect' once it shook hands. */
  upgrade?(raw: Socket): Socket;
  /** The error a failed attempt reports; undefined for the default (refused, or a `ConnectError`). */
  error?(err: Error & { code?: string }): Error | undefined;
  kind?: ConnectionKind;
}

export class StreamConnector implements IConnector, ShutdownClosable {
  state: State = 'disconnected';
  private socket: Socket | null = null;
  /** Identifies the attempt in progress: events of an older attempt are ignored. */
  private attempt: object | null = null;
  private connection: TCPConnection | null = null;
  private timeoutCall: IDelayedCall | null = null;
  private factoryStarted = false;
  private forgetAtShutdown: (() => void) | null = null;

  private readonly host: string;
  private readonly port: number;

  constructor(
    private readonly reactor: IReactor,
    private readonly dialer: Dialer,
    private readonly factory: IClientFactory,
    private readonly options: TCPConnectOptions,
  ) {
    this.host = dialer.destination.host;
    this.port = dialer.destination.port;
  }

  getDestination(): IAddress {
    return { ...this.dialer.destination };
  }

  connect(): void {
    if (this.state !== 'disconnected') {
      throw new ConnectorStateError(
        `connector.connect() while ${this.state}; call disconnect() and wait for the factory's clientConnectionLost/Failed first`,
      );
    }
    this.state = 'connecting';
    this.forgetAtShutdown = closeAtShutdown(this.reactor, this);
    if (!this.factoryStarted) {
      this.factoryStarted = true;
      this.call('doStart', () => this.factory.doStart());
    }
    const dialer = this.dialer;
    const raw = dialer.open();
    this.socket = raw;
    const attempt = (this.attempt = {});
    const onError = (err: Error & { code?: string }) => {
      if (this.attempt !== attempt) return;
      const refused = err.code === 'ECONNREFUSED' || (dialer.kind?.unix !== undefined && err.code === 'ENOENT');
      this.failed(
        dialer.error?.(err) ??
          (refused
            ? new ConnectionRefusedError(dialer.destination.path ?? this.host, this.port, err)
            : new ConnectError(`connecting to ${dialer.label} failed: ${err.code ?? err.message}`, { cause: err })),
      );
    };
    raw.once('error', onError);
    raw.once('connect', () => {
      if (this.attempt !== attempt) return;
      if (dialer.upgrade === undefined) return this.ready(raw, onError);
      // TLS: shake hands over the connected socket (wrapping it once connected keeps node:tls on its fast native path).
      raw.off('error', onError);
      raw.on('error', () => {}); // errors surface on the TLS socket from here on
      const secure = dialer.upgrade(raw);
      this.socket = secure;
      secure.once('error', onError);
      secure.once('secureConnect', () => {
        if (this.attempt === attempt) this.ready(secure, onError);
      });
    });
    const timeout = this.options.timeout ?? CONNECT_TIMEOUT;
    this.timeoutCall = this.reactor.callLater(timeout, () => {
      this.timeoutCall = null;
      if (this.attempt === attempt && this.state === 'connecting')
        this.failed(new ConnectTimeoutError(dialer.label, timeout));
    });
    this.call('startedConnecting', () => this.factory.startedConnecting(this));
  }

  stopConnecting(): void {
    if (this.state !== 'connecting')
      throw new ConnectorStateError(
        `connector.stopConnecting() while ${this.state}; it only stops an attempt in progress`,
      );
    this.failed(
      new CancelledError(`connection attempt to ${this.dialer.label} was stopped by connector.stopConnecting()`),
    );
  }

  disconnect(): void {
    if (this.state === 'connecting') this.stopConnecting();
    else if (this.state === 'connected') this.connection?.loseConnection();
  }

  /** The reactor is shutting down: an attempt in progress fails (the connection itself closes on its own). */
  closeForShutdown(): void {
    if (this.state === 'connecting')
      this.failed(
        new CancelledError(`connection attempt to ${this.dialer.label} was stopped because the reactor shut down`),
      );
  }

  private ready(socket: Socket, onError: (err: Error) => void): void {
    socket.off('error', onError);
    socket.on('error', () => {}); // the transport listens from here on; until then an error must not go unhandled
    this.made(socket);
  }

  private made(socket: Socket): void {
    this.forgetAtShutdown?.();
    this.cancelTimeout();
    this.state = 'connected';
    const kind = this.dialer.kind ?? {};
    const peer: IAddress =
      kind.unix !== undefined
        ? { ...this.dialer.destination }
        : {
            host: socket.remoteAddress ?? this.host,
            port: socket.remotePort ?? this.port,
            family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
          };
    let protocol: IProtocol | null = null;
    this.call('buildProtocol', () => void (protocol = this.factory.buildProtocol(peer)));
    const refused = protocol === null;
    const connection = new TCPConnection(
      this.reactor,
      socket,
      protocol ?? nullProtocol(),
      this.options,
      (reason) => this.lost(reason),
      kind,
    );
    this.connection = connection;
    connection.start();
    if (refused) connection.loseConnection();
  }

  private failed(reason: Error): void {
    this.forgetAtShutdown?.();
    this.cancelTimeout();
    this.attempt = null;
    this.socket?.destroy();
    this.socket = null;
    this.state = 'disconnected';
    this.call('clientConnectionFailed', () => this.factory.clientConnectionFailed(this, new Failure(reason)));
    this.maybeStopFactory();
  }

  private lost(reason: Failure): void {
    this.socket = null;
    this.connection = null;
    this.state = 'disconnected';
    this.call('clientConnectionLost', () => this.factory.clientConnectionLost(this, reason));
    this.maybeStopFactory();
  }

  /** The factory did not reconnect from its callback: it is no longer in use. */
  private maybeStopFactory(): void {
    if (this.state === 'disconnected' && this.factoryStarted) {
      this.factoryStarted = false;
      this.call('doStop', () => this.factory.doStop());
    }
  }

  private cancelTimeout(): void {
    if (this.timeoutCall?.active()) this.timeoutCall.cancel();
    this.timeoutCall = null;
  }

  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.failure(`factory.${what} raised an exception (connector to ${this.dialer.label})`, err, 'error');
    }
  }
}

/** Stands in when `buildProtocol` returns null: the connection is closed at once. */
function nullProtocol(): IProtocol {
  return { makeConnection() {}, dataReceived() {}, connectionLost() {} };
}

/** Connect to `host:port`; the factory hears how it goes. Returns the connector at once. */
export function connectTCP(
  reactor: IReactor,
  host: string,
  port: number,
  factory: IClientFactory,
  options: TCPConnectOptions = {},
): IConnector {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new InvalidArgumentError(`connectTCP port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const readSize = options.readBufferSize;
  if (readSize !== undefined && (!Number.isInteger(readSize) || readSize < 1024 || readSize > 64 * 1024 * 1024)) {
    throw new InvalidArgumentError(
      `connectTCP readBufferSize must be a whole number of bytes from 1024 to 64 MiB, got ${String(readSize)}`,
    );
  }
  return dial(reactor, tcpDialer(host, port, readSize), factory, options);
}

function tcpDialer(host: string, port: number, readBufferSize: number | undefined): Dialer {
  return {
    destination: { host, port },
    label: `${host}:${port}`,
    open: () => {
      if (readBufferSize === undefined) return connect({ host, port, allowHalfOpen: true, noDelay: true });
      // Reads go through `onread` (readbuffer.ts); the transport still hears them as 'data'.
      const socket: Socket = connect({
        host,
        port,
        allowHalfOpen: true,
        noDelay: true,
        onread: largeReads(readBufferSize, (chunk) => socket.emit('data', chunk)),
      });
      return socket;
    },
  };
}

/** Start connecting with `dialer`; returns the connector at once. */
export function dial(
  reactor: IReactor,
  dialer: Dialer,
  factory: IClientFactory,
  options: TCPConnectOptions,
): IConnector {
  const connector = new StreamConnector(reactor, dialer, factory, options);
  connector.connect();
  return connector;
}
