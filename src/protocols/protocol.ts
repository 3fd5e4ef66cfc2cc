/**
 * `Protocol` and the factories that build protocols, as in Twisted's
 * `internet/protocol.py`: a protocol handles one connection's events; a factory
 * holds what all connections share and builds one protocol per connection.
 */
import type { Failure } from '../reactor/failure.js';
import type {
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ITransport,
} from '../reactor/interfaces.js';
import { ConnectorStateError } from '../reactor/errors.js';
import { Logger } from '../reactor/log.js';
import { NoClockError, NoProtocolError } from './errors.js';

/**
 * One connection's handler. Override `connectionMade`, `dataReceived` and
 * `connectionLost`; write with `this.transport.write(bytes)`.
 * `F` is the type of `this.factory`, for protocols that read shared state.
 */
export class Protocol<F extends IProtocolFactory = IProtocolFactory> implements IProtocol {
  /** Set by `makeConnection`, before `connectionMade` runs. */
  transport!: ITransport;
  /** Set by the factory that built this protocol (`null` when built by hand). */
  factory: F | null = null;
  /** True once `makeConnection` ran. */
  connected = false;

  makeConnection(transport: ITransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** The connection is up and `this.transport` is set. */
  connectionMade(): void {}

  /** Bytes arrived: any split of the stream is possible, so buffer what you need. */
  dataReceived(_data: Uint8Array): void {}

  /** The connection closed: `reason` wraps `ConnectionDone` (clean) or another error. Called once. */
  connectionLost(_reason: Failure): void {}
}

/** A protocol class a factory can build: constructed with no arguments; gets `factory` set. */
export type ProtocolClass = new () => IProtocol & { factory?: unknown };

const log = new Logger('spindle.protocols.factory');

/**
 * Builds a `protocol` per connection and sets its `factory`. `startFactory` /
 * `stopFactory` run once around the factory's life, however many ports and
 * connectors use it (`doStart`/`doStop` keep the count).
 */
export class Factory implements IProtocolFactory {
  /** The class `buildProtocol` instantiates (with no arguments). */
  protocol: ProtocolClass | null = null;
  /** How many ports/connectors currently use this factory. */
  numPorts = 0;

  /** A factory of this class (built with `args`) whose `protocol` is `P`. */
  static forProtocol<T extends Factory, A extends unknown[]>(
    this: new (...args: A) => T,
    P: ProtocolClass,
    ...args: A
  ): T {
    const factory = new this(...args);
    factory.protocol = P;
    return factory;
  }

  doStart(): void {
    if (this.numPorts === 0) this.startFactory();
    this.numPorts++;
  }

  doStop(): void {
    if (this.numPorts === 0) {
      log.warn(`${this.constructor.name}.doStop() called more often than doStart(); ignored`);
      return;
    }
    this.numPorts--;
    if (this.numPorts === 0) this.stopFactory();
  }

  /** Called when the first port or connector starts using this factory. */
  startFactory(): void {}

  /** Called when the last one stops. */
  stopFactory(): void {}

  buildProtocol(_addr: IAddress): IProtocol | null {
    if (this.protocol === null) throw new NoProtocolError(this.constructor.name);
    const p = new this.protocol();
    p.factory = this;
    return p;
  }
}

/** A factory for `connectTCP`: told when connecting starts, fails, or a connection is lost. */
export class ClientFactory extends Factory implements IClientFactory {
  startedConnecting(_connector: IConnector): void {}
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}

/**
 * A client factory that reconnects with exponential backoff, with jitter so
 * that many clients do not retry in step. Each failed attempt multiplies the
 * delay by `factor` (capped at `maxDelay`); a successful connection
 * (`buildProtocol`) resets it. Retries are scheduled on `clock`, which must be
 * set (the reactor, or a `Clock` in tests) before the first retry.
 */
export class ReconnectingClientFactory extends ClientFactory {
  initialDelay = 1.0;
  maxDelay = 3600;
  factor = 2.7182818284590451;
  jitter = 0.11962656472;
  /** Give up after this many retries in a row; `null` never gives up. */
  maxRetries: number | null = null;
  clock: IReactorTime | null = null;
  /** Uniform random numbers in [0, 1) for the jitter; replace for deterministic tests. */
  random: () => number = Math.random;

  delay = this.initialDelay;
  retries = 0;
  continueTrying = true;
  connector: IConnector | null = null;
  private callID: IDelayedCall | null = null;

  override clientConnectionFailed(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  override clientConnectionLost(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /** Schedule `connector.connect()` after the next backoff delay. */
  retry(connector: IConnector | null = this.connector): void {
    if (!this.continueTrying) return;
    if (connector === null) throw new NoConnectorError();
    if (this.clock === null)
      throw new NoClockError(
        'ReconnectingClientFactory',
        'assign the reactor (or a Clock in tests) to factory.clock before connecting',
      );
    this.retries++;
    if (this.maxRetries !== null && this.retries > this.maxRetries) {
      log.info(`abandoning ${describe(connector)} after ${this.maxRetries} retries`);
      return;
    }
    this.delay = Math.min(this.delay * this.factor, this.maxDelay);
    if (this.jitter) this.delay = Math.max(0, this.delay + this.delay * this.jitter * gaussian(this.random));
    const clock = this.clock;
    log.info(`will retry ${describe(connector)} in ${this.delay.toFixed(3)} seconds`);
    this.callID = clock.callLater(this.delay, () => {
      this.callID = null;
      connector.connect();
    });
  }

  /** Stop retrying: cancel a scheduled retry and stop a connection attempt in progress. */
  stopTrying(): void {
    if (this.callID !== null && this.callID.active()) this.callID.cancel();
    this.callID = null;
    this.continueTrying = false;
    if (this.connector !== null) {
      try {
        this.connector.stopConnecting();
      } catch {
        // Not connecting right now (connected or idle): nothing to stop.
      }
    }
  }

  /** Back to the initial delay and zero retries (done on each successful connection). */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this.callID = null;
    this.continueTrying = true;
  }

  /** A connection was made: the next failure starts the backoff from the beginning. */
  override buildProtocol(addr: IAddress): IProtocol | null {
    this.delay = this.initialDelay;
    this.retries = 0;
    return super.buildProtocol(addr);
  }
}

class NoConnectorError extends ConnectorStateError {
  constructor() {
    super(
      'ReconnectingClientFactory.retry() has no connector to retry; pass one, or let clientConnectionFailed/Lost record it',
    );
  }
}

function describe(connector: IConnector): string {
  const d = connector.getDestination();
  return `${d.host}:${d.port}`;
}

/** A standard normal sample (Box-Muller). */
function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
