/**
 * `connectTCP`: an `IConnector` that makes (and can remake) one client
 * connection, telling its factory each step as Twisted's `BaseConnector` does:
 * `startedConnecting`, then `buildProtocol` or `clientConnectionFailed`, then
 * `clientConnectionLost`. The factory's `doStart`/`doStop` bracket the time it
 * is in use; a factory that reconnects from a failure callback stays started.
 */
import { connect, type Socket } from 'node:net';
import { CancelledError, ConnectError, ConnectionRefusedError, ConnectorStateError, ConnectTimeoutError, InvalidArgumentError } from './errors.js';
import { Failure } from './failure.js';
import type { ConnectOptions, IAddress, IClientFactory, IConnector, IDelayedCall, IProtocol, IReactor } from './interfaces.js';
import { Logger } from './log.js';
import { TCPConnection, type TransportOptions } from './tcpconnection.js';
import { closeAtShutdown, type ShutdownClosable } from './tcpshutdown.js';

export interface TCPConnectOptions extends ConnectOptions, TransportOptions {}

/** Seconds `connectTCP` waits for a connection before `ConnectTimeoutError`. */
export const CONNECT_TIMEOUT = 30;

const log = new Logger('spindle.tcp');

type State = 'disconnected' | 'connecting' | 'connected';

class TCPConnector implements IConnector, ShutdownClosable {
  state: State = 'disconnected';
  private socket: Socket | null = null;
  private connection: TCPConnection | null = null;
  private timeoutCall: IDelayedCall | null = null;
  private factoryStarted = false;
  private forgetAtShutdown: (() => void) | null = null;

  constructor(
    private readonly reactor: IReactor,
    private readonly host: string,
    private readonly port: number,
    private readonly factory: IClientFactory,
    private readonly options: TCPConnectOptions,
  ) {}

  getDestination(): IAddress {
    return { host: this.host, port: this.port };
  }

  connect(): void {
    if (this.state !== 'disconnected') {
      throw new ConnectorStateError(`connector.connect() while ${this.state}; call disconnect() and wait for the factory's clientConnectionLost/Failed first`);
    }
    this.state = 'connecting';
    this.forgetAtShutdown = closeAtShutdown(this.reactor, this);
    if (!this.factoryStarted) {
      this.factoryStarted = true;
      this.call('doStart', () => this.factory.doStart());
    }
    const socket = connect({ host: this.host, port: this.port, allowHalfOpen: true, noDelay: true });
    this.socket = socket;
    const onError = (err: Error & { code?: string }) => {
      if (this.socket !== socket) return;
      this.failed(err.code === 'ECONNREFUSED' ? new ConnectionRefusedError(this.host, this.port, err) : new ConnectError(`connecting to ${this.host}:${this.port} failed: ${err.code ?? err.message}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      if (this.socket === socket) this.made(socket);
    });
    const timeout = this.options.timeout ?? CONNECT_TIMEOUT;
    this.timeoutCall = this.reactor.callLater(timeout, () => {
      this.timeoutCall = null;
      if (this.socket === socket && this.state === 'connecting') this.failed(new ConnectTimeoutError(this.host, this.port, timeout));
    });
    this.call('startedConnecting', () => this.factory.startedConnecting(this));
  }

  stopConnecting(): void {
    if (this.state !== 'connecting') throw new ConnectorStateError(`connector.stopConnecting() while ${this.state}; it only stops an attempt in progress`);
    this.failed(new CancelledError(`connection attempt to ${this.host}:${this.port} was stopped by connector.stopConnecting()`));
  }

  disconnect(): void {
    if (this.state === 'connecting') this.stopConnecting();
    else if (this.state === 'connected') this.connection?.loseConnection();
  }

  /** The reactor is shutting down: an attempt in progress fails (the connection itself closes on its own). */
  closeForShutdown(): void {
    if (this.state === 'connecting') this.failed(new CancelledError(`connection attempt to ${this.host}:${this.port} was stopped because the reactor shut down`));
  }

  private made(socket: Socket): void {
    this.forgetAtShutdown?.();
    this.cancelTimeout();
    this.state = 'connected';
    const peer: IAddress = { host: socket.remoteAddress ?? this.host, port: socket.remotePort ?? this.port, family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4' };
    let protocol: IProtocol | null = null;
    this.call('buildProtocol', () => void (protocol = this.factory.buildProtocol(peer)));
    const refused = protocol === null;
    const connection = new TCPConnection(this.reactor, socket, protocol ?? nullProtocol(), this.options, (reason) => this.lost(reason));
    this.connection = connection;
    connection.start();
    if (refused) connection.loseConnection();
  }

  private failed(reason: Error): void {
    this.forgetAtShutdown?.();
    this.cancelTimeout();
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
      log.failure(`factory.${what} raised an exception (connector to ${this.host}:${this.port})`, err, 'error');
    }
  }
}

/** Stands in when `buildProtocol` returns null: the connection is closed at once. */
function nullProtocol(): IProtocol {
  return { makeConnection() {}, dataReceived() {}, connectionLost() {} };
}

/** Connect to `host:port`; the factory hears how it goes. Returns the connector at once. */
export function connectTCP(reactor: IReactor, host: string, port: number, factory: IClientFactory, options: TCPConnectOptions = {}): IConnector {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new InvalidArgumentError(`connectTCP port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  const connector = new TCPConnector(reactor, host, port, factory, options);
  connector.connect();
  return connector;
}
