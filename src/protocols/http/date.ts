/**
 * The Date header (RFC 9110 §6.6.1, IMF-fixdate), recomputed at most once per
 * second. Time comes from the reactor's clock plus a wall-clock base taken
 * once, so tests on `Clock` control it and no request reads `Date.now()`.
 */
import type { IReactorTime } from '../../reactor/interfaces.js';

export class DateCache {
  private readonly base: number;
  private second = Number.NaN;
  private value = '';

  /** `wallSeconds`: the wall-clock time matching `clock.seconds()` now (default: the system clock). */
  constructor(
    private readonly clock: IReactorTime,
    wallSeconds: number = Date.now() / 1000,
  ) {
    this.base = wallSeconds - clock.seconds();
  }

  /** e.g. 'Sun, 06 Nov 1994 08:49:37 GMT'; `now`: a reading of the clock just taken, if the caller has one. */
  get(now: number = this.clock.seconds()): string {
    const s = Math.floor(now + this.base);
    if (s !== this.second) {
      this.second = s;
      this.value = new Date(s * 1000).toUTCString();
    }
    return this.value;
  }

  /** Whole wall-clock seconds now (for the access log). */
  wallSeconds(): number {
    return Math.floor(this.clock.seconds() + this.base);
  }
}
