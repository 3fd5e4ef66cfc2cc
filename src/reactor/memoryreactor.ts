/**
 * `MemoryReactor`: a whole `IReactor` for tests, with no I/O and no real time
 * (Twisted's `MemoryReactor` and `Clock` in one). Time is a `Clock` the test
 * moves with `advance()`/`pump()`; run/stop and triggers behave as on
 * `NodeReactor` (synchronously when no trigger returns a pending Deferred);
 * `listenTCP`/`connectTCP` (and their TLS and Unix kin) only record what was
 * asked, for the test to check.
 */
import type {
  IReactorTLS,
  IReactorUNIX,
  TLSConnectOptions,
  TLSListenOptions,
  UNIXListenOptions,
  ConnectOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IListeningPort,
  IProtocolFactory,
  IReactor,
  ITriggerId,
  ListenOptions,
  ReactorStats,
  RunOptions,
  SystemEvent,
  TriggerPhase,
} from './interfaces.js';
import { Deferred, succeed } from './deferred.js';
import { Clock } from './clock.js';
import type { DelayedCall } from './delayedcall.js';
import { ReactorCore, type ReactorCoreOptions } from './reactorcore.js';

/** The first port number handed out for `listenTCP(0, ...)`; each next one is one higher. */
export const MEMORY_REACTOR_FIRST_PORT = 40000;

/** Default `ConnectOptions.timeout`, seconds, as on the real reactor. */
export const DEFAULT_CONNECT_TIMEOUT = 30;

export interface MemoryTCPServer {
  /** The port asked for (0 stays 0 here; `port.getHost().port` has the one given). */
  port: number;
  factory: IProtocolFactory;
  backlog: number | undefined;
  host: string | undefined;
  /** The fake listening port handed back. */
  listeningPort: MemoryListeningPort;
}

export interface MemoryTCPClient {
  host: string;
  port: number;
  factory: IClientFactory;
  timeout: number;
  connector: MemoryConnector;
}

export interface MemoryTLSServer extends MemoryTCPServer {
  options: TLSListenOptions;
}

export interface MemoryTLSClient extends MemoryTCPClient {
  options: TLSConnectOptions;
}

export interface MemoryUNIXServer {
  path: string;
  factory: IProtocolFactory;
  mode: number | undefined;
  backlog: number | undefined;
  listeningPort: MemoryListeningPort;
}

export interface MemoryUNIXClient {
  path: string;
  factory: IClientFactory;
  timeout: number;
  connector: MemoryConnector;
}

export class MemoryListeningPort implements IListeningPort {
  listening = true;
  constructor(
    private readonly address: IAddress,
    private readonly stats: ReactorStats,
  ) {}
  getHost(): IAddress {
    return { ...this.address };
  }
  stopListening(): Deferred<void> {
    if (this.listening) {
      this.listening = false;
      this.stats.listeningPorts--;
    }
    return succeed<void>(undefined);
  }
}

/** A fake connector: it records what was asked of it and never connects. */
export class MemoryConnector implements IConnector {
  /** 'connecting' until `stopConnecting()`/`disconnect()`; `connect()` starts again. */
  state: 'connecting' | 'disconnected' = 'connecting';
  connectCount = 1;
  constructor(private readonly destination: IAddress) {}
  stopConnecting(): void {
    this.state = 'disconnected';
  }
  disconnect(): void {
    this.state = 'disconnected';
  }
  connect(): void {
    this.state = 'connecting';
    this.connectCount++;
  }
  getDestination(): IAddress {
    return { ...this.destination };
  }
}

export class MemoryReactor implements IReactor, IReactorTLS, IReactorUNIX {
  readonly clock = new Clock();
  readonly stats: ReactorStats = { openConnections: 0, listeningPorts: 0, pausedProducers: 0, totalConnections: 0 };
  readonly tcpServers: MemoryTCPServer[] = [];
  readonly tcpClients: MemoryTCPClient[] = [];
  readonly tlsServers: MemoryTLSServer[] = [];
  readonly tlsClients: MemoryTLSClient[] = [];
  readonly unixServers: MemoryUNIXServer[] = [];
  readonly unixClients: MemoryUNIXClient[] = [];
  private readonly core: ReactorCore;
  private nextPort = MEMORY_REACTOR_FIRST_PORT;

  constructor(options: Pick<ReactorCoreOptions, 'shutdownTimeout' | 'log'> = {}) {
    this.core = new ReactorCore(this.clock, options);
  }

  // time: the Clock's
  seconds(): number {
    return this.clock.seconds();
  }
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall {
    return this.clock.callLater(delay, fn, ...args);
  }
  getDelayedCalls(): DelayedCall[] {
    return this.clock.getDelayedCalls();
  }
  /** Move time forward and run what is due (see `Clock.advance`). */
  advance(seconds: number): void {
    this.clock.advance(seconds);
  }
  pump(steps: Iterable<number>): void {
    this.clock.pump(steps);
  }

  // core
  get running(): boolean {
    return this.core.running;
  }
  run(options?: RunOptions): void {
    this.core.run(options);
  }
  stop(): Deferred<void> {
    return this.core.stop();
  }
  callWhenRunning<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    this.core.callWhenRunning(fn, ...args);
  }
  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    event: SystemEvent,
    fn: (...args: A) => unknown,
    ...args: A
  ): ITriggerId {
    return this.core.addSystemEventTrigger(phase, event, fn, ...args);
  }
  removeSystemEventTrigger(id: ITriggerId): void {
    this.core.removeSystemEventTrigger(id);
  }

  // TCP: recorded only
  listenTCP(port: number, factory: IProtocolFactory, options: ListenOptions = {}): Deferred<IListeningPort> {
    const given = port === 0 ? this.nextPort++ : port;
    const listeningPort = new MemoryListeningPort(
      { host: options.host ?? '0.0.0.0', port: given, family: 'IPv4' },
      this.stats,
    );
    this.stats.listeningPorts++;
    this.tcpServers.push({ port, factory, backlog: options.backlog, host: options.host, listeningPort });
    return succeed(listeningPort as IListeningPort);
  }

  connectTCP(host: string, port: number, factory: IClientFactory, options: ConnectOptions = {}): IConnector {
    const connector = new MemoryConnector({ host, port, family: 'IPv4' });
    this.tcpClients.push({ host, port, factory, timeout: options.timeout ?? DEFAULT_CONNECT_TIMEOUT, connector });
    return connector;
  }

  // TLS and Unix sockets: recorded only, as TCP
  listenTLS(port: number, factory: IProtocolFactory, options: TLSListenOptions): Deferred<IListeningPort> {
    const given = port === 0 ? this.nextPort++ : port;
    const listeningPort = new MemoryListeningPort(
      { host: options.host ?? '0.0.0.0', port: given, family: 'IPv4' },
      this.stats,
    );
    this.stats.listeningPorts++;
    this.tlsServers.push({ port, factory, backlog: options.backlog, host: options.host, listeningPort, options });
    return succeed(listeningPort as IListeningPort);
  }

  connectTLS(host: string, port: number, factory: IClientFactory, options: TLSConnectOptions = {}): IConnector {
    const connector = new MemoryConnector({ host, port, family: 'IPv4' });
    this.tlsClients.push({
      host,
      port,
      factory,
      timeout: options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
      connector,
      options,
    });
    return connector;
  }

  listenUNIX(path: string, factory: IProtocolFactory, options: UNIXListenOptions = {}): Deferred<IListeningPort> {
    const listeningPort = new MemoryListeningPort({ host: '', port: 0, family: 'unix', path }, this.stats);
    this.stats.listeningPorts++;
    this.unixServers.push({ path, factory, mode: options.mode, backlog: options.backlog, listeningPort });
    return succeed(listeningPort as IListeningPort);
  }

  connectUNIX(path: string, factory: IClientFactory, options: ConnectOptions = {}): IConnector {
    const connector = new MemoryConnector({ host: '', port: 0, family: 'unix', path });
    this.unixClients.push({ path, factory, timeout: options.timeout ?? DEFAULT_CONNECT_TIMEOUT, connector });
    return connector;
  }
}
