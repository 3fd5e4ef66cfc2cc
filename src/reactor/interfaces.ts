/**
 * The reactor layer's contracts. Read this before the implementations: it says
 * when each callback runs, what throws, and what balances what.
 *
 * Data on the wire is always `Uint8Array`. Times are seconds as floating-point
 * numbers, measured by the reactor's own clock (`IReactorTime.seconds()`), never
 * by `Date.now()` in library code.
 */
import type { Deferred } from './deferred.js';
import type { Failure } from './failure.js';

// ---------------------------------------------------------------------------
// Time

/** A call scheduled with `IReactorTime.callLater`. */
export interface IDelayedCall {
  /** The reactor time (seconds) at which the call is due. */
  getTime(): number;
  /**
   * Unschedule the call. Throws `AlreadyCancelled` if it was cancelled before,
   * `AlreadyCalled` if it has already run.
   */
  cancel(): void;
  /** Postpone the call by `seconds` from its current due time. Throws as `cancel`. */
  delay(seconds: number): void;
  /** Move the call to `seconds` from now. Throws as `cancel`. */
  reset(seconds: number): void;
  /** True until the call has run or been cancelled. */
  active(): boolean;
}

export interface IReactorTime {
  /** The current time in seconds, on this reactor's clock. */
  seconds(): number;
  /**
   * Run `fn(...args)` after `delay` seconds (>= 0, finite, else
   * `InvalidArgumentError`). Calls due at the same time run in the order they
   * were scheduled. On a real reactor a call scheduled while calls are running
   * runs in the next pass; on `Clock` a `callLater(0)` made during `advance()`
   * runs within that same `advance()`.
   */
  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall;
  /** The calls that are scheduled and active (the same objects `callLater` returned). */
  getDelayedCalls(): IDelayedCall[];
}

// ---------------------------------------------------------------------------
// Core

export type TriggerPhase = 'before' | 'during' | 'after';
export type SystemEvent = 'startup' | 'shutdown';

/** An opaque handle for `removeSystemEventTrigger`. */
export interface ITriggerId {
  readonly phase: TriggerPhase;
  readonly event: SystemEvent;
}

export interface RunOptions {
  /** Stop gracefully on SIGINT and SIGTERM. Default false. */
  installSignalHandlers?: boolean;
}

export interface IReactorCore {
  /** True between `run()` and the end of shutdown. */
  readonly running: boolean;
  /**
   * Start the reactor: fire the startup triggers and the `callWhenRunning`
   * calls. Returns at once: Node's event loop is the loop.
   */
  run(options?: RunOptions): void;
  /**
   * Fire the shutdown triggers ('before', then 'during', then 'after'). A
   * 'before' trigger that returns a Deferred delays the rest until it fires
   * (with a bound). The returned Deferred fires when shutdown is complete;
   * `running` is false by then.
   */
  stop(): Deferred<void>;
  /** Run `fn` once the reactor runs (at once, synchronously, if it already does). */
  callWhenRunning<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void;
  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    event: SystemEvent,
    fn: (...args: A) => unknown,
    ...args: A
  ): ITriggerId;
  removeSystemEventTrigger(id: ITriggerId): void;
}

// ---------------------------------------------------------------------------
// Producers and consumers

/**
 * A producer that writes to its consumer whenever it likes until told to pause.
 * The consumer only calls `resumeProducing` to balance a previous
 * `pauseProducing`; producers must tolerate either being called twice.
 */
export interface IPushProducer {
  pauseProducing(): void;
  resumeProducing(): void;
  /** Stop for good: the consumer is gone. No more writes after this. */
  stopProducing(): void;
}

/** A producer that writes (some) data each time `resumeProducing` is called. */
export interface IPullProducer {
  resumeProducing(): void;
  stopProducing(): void;
}

export type IProducer = IPushProducer | IPullProducer;

export interface IConsumer {
  /**
   * Attach a producer. `streaming` true means an `IPushProducer` (the consumer
   * pauses it past its high-water mark and resumes it when drained); false an
   * `IPullProducer` (the consumer calls `resumeProducing` each time it wants
   * more). Throws if a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void;
  /** Detach the producer. Safe when none is registered. */
  unregisterProducer(): void;
  write(data: Uint8Array): void;
  /**
   * Bytes written here (with any framing the consumer adds) that its socket has
   * not taken yet; undefined where it cannot tell. 0: nothing holds what was
   * written. Optional (reverseProxy's release after flush asks for it).
   */
  readonly unsentBytes?: number | undefined;
}

// ---------------------------------------------------------------------------
// Transports and protocols

export interface IAddress {
  /** The IP address; `''` for a Unix socket. */
  host: string;
  /** The port; 0 for a Unix socket. */
  port: number;
  family?: 'IPv4' | 'IPv6' | 'memory' | 'unix';
  /** A Unix socket's path (`''` for the unnamed end of an accepted connection). */
  path?: string;
}

/**
 * A connection's writing side, and a push producer of its incoming data
 * (`pauseProducing` stops reading; `resumeProducing` starts again).
 */
export interface ITransport extends IConsumer, IPushProducer {
  write(data: Uint8Array): void;
  writeSequence(data: Iterable<Uint8Array>): void;
  /**
   * Close after everything buffered has been written and the registered
   * producer (if any) has unregistered. The protocol's `connectionLost` then
   * gets a `Failure(ConnectionDone)`, or `Failure(reason)` when a `reason` is
   * given (a framing receiver closing on a bad frame passes its typed error).
   */
  loseConnection(reason?: Error): void;
  /** Close now, dropping the buffer. `connectionLost` gets `ConnectionLost`. */
  abortConnection(): void;
  /** Half-close: send FIN after the buffer drains; reading goes on. */
  loseWriteConnection(): void;
  getPeer(): IAddress;
  getHost(): IAddress;
  /** True once `loseConnection` or `abortConnection` was called. */
  readonly disconnecting: boolean;
}

export interface IProtocol {
  /** Called by the transport once; sets `transport` and calls `connectionMade`. */
  makeConnection(transport: ITransport): void;
  /** Bytes arrived. Any split of the stream is possible: protocols must buffer. */
  dataReceived(data: Uint8Array): void;
  /**
   * The connection is closed; `reason` wraps `ConnectionDone` (clean) or
   * `ConnectionLost` (unclean). Called exactly once, after the last
   * `dataReceived`.
   */
  connectionLost(reason: Failure): void;
  /**
   * Optional half-close support: the peer sent FIN. Without this method a FIN
   * from the peer closes the connection.
   */
  readConnectionLost?(): void;
}

export interface IProtocolFactory {
  /** Build a protocol for a new connection; `null` refuses it (closes at once). */
  buildProtocol(addr: IAddress): IProtocol | null;
  /** Called when the factory starts serving (first port or connection). */
  doStart(): void;
  /** Called when it stops (last port or connection gone). */
  doStop(): void;
}

export interface IConnector {
  /** Stop a connection attempt in progress. */
  stopConnecting(): void;
  /** Drop the connection, or stop connecting. */
  disconnect(): void;
  /** Try again (used by reconnecting factories). */
  connect(): void;
  getDestination(): IAddress;
}

export interface IClientFactory extends IProtocolFactory {
  startedConnecting(connector: IConnector): void;
  clientConnectionFailed(connector: IConnector, reason: Failure): void;
  clientConnectionLost(connector: IConnector, reason: Failure): void;
}

export interface IListeningPort {
  /** The bound address (the real port when 0 was asked for). */
  getHost(): IAddress;
  /** Stop accepting. Open connections stay. Fires when the socket is closed. */
  stopListening(): Deferred<void>;
}

export interface ListenOptions {
  host?: string;
  backlog?: number;
  /** Write-buffer bytes past which a connection pauses its push producer. Default 64 KiB (`TRANSPORT_HIGH_WATER`). */
  highWater?: number;
  /**
   * `listenTCP` and `listenUNIX`: the most bytes one read of an accepted socket may
   * bring (64 KiB to 64 MiB), or 0 for Node's own reads. Default 64 KiB. Reads go
   * through one buffer shared by the port's connections and copied out; a
   * connection whose reads fill a quarter of it reads on into buffers of its own,
   * which grow up to this size (reactor/readbuffer.ts). A `listenTLS` port reads
   * as Node does.
   */
  readBufferSize?: number;
}

export interface ConnectOptions {
  /** Seconds before a connection attempt fails with a timeout. Default 30. */
  timeout?: number;
  /** Write-buffer bytes past which the connection pauses its push producer. Default 64 KiB (`TRANSPORT_HIGH_WATER`). */
  highWater?: number;
  /**
   * `connectTCP` only: the most bytes one socket read may bring (1 KiB to 64 MiB).
   * Default: Node's own 64 KiB reads. A larger size means fewer reads and reactor
   * turns for bulk downloads; delivered bytes are never overwritten by a later read
   * (reactor/readbuffer.ts). The HTTP client's Agent uses 256 KiB.
   */
  readBufferSize?: number;
}

export interface IReactorTCP {
  /** Errbacks with `CannotListenError` (naming the port) if the bind fails. */
  listenTCP(port: number, factory: IProtocolFactory, options?: ListenOptions): Deferred<IListeningPort>;
  connectTCP(host: string, port: number, factory: IClientFactory, options?: ConnectOptions): IConnector;
}

// ---------------------------------------------------------------------------
// TLS (node:tls underneath; the transport contract is TCP's)

/** PEM text or bytes, or a list of them (a chain, several CAs). */
export type TLSMaterial = string | Uint8Array | Array<string | Uint8Array>;

/** `SNICallback(servername, done)`: answer with a `tls.SecureContext` for that name (or null for the default). */
export type SNICallback = (
  servername: string,
  done: (err: Error | null, context?: import('node:tls').SecureContext) => void,
) => void;

/** A TLS server's side: its key and certificate, and what it asks of clients. */
export interface TLSServerOptions {
  /** The private key (PEM). */
  key: TLSMaterial;
  /** The certificate, then any intermediates (PEM). */
  cert: TLSMaterial;
  /** CAs that client certificates must chain to (with `requestCert`). */
  ca?: TLSMaterial;
  SNICallback?: SNICallback;
  /** Protocols offered in ALPN, most preferred first (e.g. `['http/1.1']`). */
  ALPNProtocols?: string[];
  /** Ask the client for a certificate. Default false. */
  requestCert?: boolean;
  /** With `requestCert`: close connections whose certificate is missing or not trusted. Default true. */
  rejectUnauthorized?: boolean;
  /**
   * Seconds (reactor time) a connection may take to finish its handshake before
   * it is closed. Default `TLS_HANDSHAKE_TIMEOUT` (10).
   */
  handshakeTimeout?: number;
}

/** A TLS client's side: whom it trusts and what name it expects. */
export interface TLSClientOptions {
  /** CAs the server's certificate must chain to. Default: Node's bundled roots. */
  ca?: TLSMaterial;
  /** The name sent in SNI and checked against the certificate. Default: the host, unless it is an IP address. */
  servername?: string;
  /** Refuse a server whose certificate is not trusted. Default true; false only in tests. */
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[];
  /** A client certificate and key, for servers that ask for one. */
  cert?: TLSMaterial;
  key?: TLSMaterial;
  /** Seconds (reactor time) the handshake may take. Default `TLS_HANDSHAKE_TIMEOUT` (10). */
  handshakeTimeout?: number;
}

export interface TLSListenOptions extends ListenOptions, TLSServerOptions {}
export interface TLSConnectOptions extends ConnectOptions, TLSClientOptions {}

/**
 * A transport that can speak TLS: every socket transport of `NodeReactor`
 * (TCP, TLS, Unix). A connection made by `listenTLS`/`connectTLS` is `secure`
 * from `connectionMade` on: its protocol never sees a connection whose
 * handshake failed.
 */
export interface ITLSTransport extends ITransport {
  /** True once a TLS handshake finished on this connection. */
  readonly secure: boolean;
  /**
   * STARTTLS: from now on, bytes written go out encrypted and bytes read are
   * decrypted. What was written before the call is sent in the clear first.
   * `server: true` answers the peer's handshake, false starts it. A failed or
   * timed-out handshake aborts the connection; `connectionLost` gets a
   * `TLSHandshakeError`. Throws `TLSStateError` if the connection is already
   * secure or closing.
   */
  startTLS(options: TLSServerOptions | TLSClientOptions, role: { server: boolean }): void;
}

export interface IReactorTLS {
  /**
   * Listen for TLS connections. Each accepted connection shakes hands first;
   * only then is a protocol built. A handshake that fails or does not finish in
   * `handshakeTimeout` closes the connection. Errbacks with `CannotListenError`.
   */
  listenTLS(port: number, factory: IProtocolFactory, options: TLSListenOptions): Deferred<IListeningPort>;
  /** Connect with TLS; the factory's protocol is built once the handshake is done (failure: `TLSHandshakeError`). */
  connectTLS(host: string, port: number, factory: IClientFactory, options?: TLSConnectOptions): IConnector;
}

// ---------------------------------------------------------------------------
// Unix sockets

export interface UNIXListenOptions {
  /** File mode of the socket file (e.g. 0o660), set once it exists. Default: as the umask leaves it. */
  mode?: number;
  backlog?: number;
  highWater?: number;
  /** As `ListenOptions.readBufferSize`. */
  readBufferSize?: number;
}

export interface IReactorUNIX {
  /**
   * Listen on a Unix socket at `path`. A socket file left by a dead process is
   * replaced; one a live server accepts on refuses with `CannotListenError`, as
   * does a path that is not a socket. The file is removed when the port stops.
   */
  listenUNIX(path: string, factory: IProtocolFactory, options?: UNIXListenOptions): Deferred<IListeningPort>;
  /** Connect to the Unix socket at `path`. Nothing there: `ConnectionRefusedError`. */
  connectUNIX(path: string, factory: IClientFactory, options?: ConnectOptions): IConnector;
}

/**
 * Live counters a reactor keeps for tests, the demo and operators. TCP code
 * increments and decrements them; nothing else may write them.
 */
export interface ReactorStats {
  /** Connections currently open (accepted or connected). */
  openConnections: number;
  /** Listening ports currently open. */
  listeningPorts: number;
  /** Push producers currently paused by a transport's high-water mark. */
  pausedProducers: number;
  /** Connections accepted or made since the reactor was created. */
  totalConnections: number;
}

/** The whole reactor, as NodeReactor and MemoryReactor provide it. */
export interface IReactor extends IReactorTime, IReactorCore, IReactorTCP {
  readonly stats: ReactorStats;
}
