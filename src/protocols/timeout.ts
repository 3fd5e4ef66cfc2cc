/**
 * `TimeoutMixin`: an idle timer for a protocol (Twisted's
 * `policies.TimeoutMixin`), on a clock the protocol is given, never a global one.
 *
 *     class Idle extends TimeoutMixin(LineReceiver) {
 *       override connectionMade() { this.clock = this.factory.clock; this.setTimeout(30); }
 *       override lineReceived(line: string) { this.resetTimeout(); ... }
 *     }
 *
 * `setTimeout(seconds)` starts (or replaces) the timer and returns the previous
 * period; `setTimeout(null)` stops it. `resetTimeout()` restarts a running timer
 * from now (call it on activity). When the timer fires, `timeoutConnection()`
 * runs: by default it closes the connection (`transport.loseConnection()`);
 * override it to say goodbye first. `connectionLost` stops the timer, so a
 * closed connection leaves no call behind on the clock.
 */
import type { Failure } from '../reactor/failure.js';
import type { IDelayedCall, IProtocol, IReactorTime, ITransport } from '../reactor/interfaces.js';
import { NoClockError } from './errors.js';

/** A class whose instances are protocols (Protocol, LineReceiver, ...). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ProtocolBase = new (...args: any[]) => IProtocol & { transport: ITransport };

/** What `TimeoutMixin` adds to a protocol class. */
export interface ITimeoutMixin {
  /** The clock the timer runs on: set it before `setTimeout` (a reactor or a test `Clock`). */
  clock: IReactorTime | null;
  /** The current period in seconds, or null when no timer is set. */
  readonly timeOut: number | null;
  setTimeout(period: number | null): number | null;
  resetTimeout(): void;
  timeoutConnection(): void;
}

export function TimeoutMixin<TBase extends ProtocolBase>(Base: TBase) {
  class WithTimeout extends Base implements ITimeoutMixin {
    clock: IReactorTime | null = null;
    /** @internal */
    _timeoutPeriod: number | null = null;
    /** @internal */
    _timeoutCall: IDelayedCall | null = null;

    get timeOut(): number | null {
      return this._timeoutPeriod;
    }

    setTimeout(period: number | null): number | null {
      const previous = this._timeoutPeriod;
      this._timeoutPeriod = period;
      const call = this._timeoutCall;
      if (call !== null && call.active()) {
        if (period === null) {
          call.cancel();
          this._timeoutCall = null;
        } else call.reset(period);
      } else if (period !== null) {
        const clock = this.clock;
        if (clock === null)
          throw new NoClockError(
            'TimeoutMixin.setTimeout()',
            'set `this.clock` to the reactor (or a Clock in tests) before calling setTimeout()',
          );
        this._timeoutCall = clock.callLater(period, () => this._timedOut());
      }
      return previous;
    }

    resetTimeout(): void {
      const call = this._timeoutCall;
      if (call !== null && call.active() && this._timeoutPeriod !== null) call.reset(this._timeoutPeriod);
    }

    timeoutConnection(): void {
      this.transport.loseConnection();
    }

    override connectionLost(reason: Failure): void {
      this.setTimeout(null);
      super.connectionLost(reason);
    }

    /** @internal */
    _timedOut(): void {
      this._timeoutCall = null;
      this._timeoutPeriod = null;
      this.timeoutConnection();
    }
  }
  return WithTimeout;
}
