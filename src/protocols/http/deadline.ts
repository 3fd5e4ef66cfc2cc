/**
 * `Deadline`: one connection's timeout, of one kind at a time (idle, head,
 * body), on a single delayed call that is moved lazily. Setting a later
 * deadline only records it; when the call fires early it re-arms itself for
 * the rest. So a busy keep-alive connection touches the timer heap about once
 * per timeout period, not once per request.
 */
import type { IDelayedCall, IReactorTime } from '../../reactor/interfaces.js';

/** `Kind` names what is timed (the caller's string union, e.g. the channel's 'idle' | 'head' | 'body'). */
export class Deadline<Kind extends string> {
  /** What is being timed; '' when nothing (a string either way keeps the field one shape). */
  kind: Kind | '' = '';
  private at = Infinity;
  private call: IDelayedCall | null = null;
  private stopped = false;

  constructor(
    private readonly clock: IReactorTime,
    /** Runs when the deadline of `kind` passes. */
    private readonly onExpire: (kind: Kind) => void,
  ) {}

  /**
   * Time `kind`, expiring `seconds` from now (replacing any earlier deadline).
   * `now`: a reading of the clock the caller just took (one reading serves a
   * whole synchronous pass; see HTTPChannel.now).
   */
  set(kind: Kind, seconds: number, now: number = this.clock.seconds()): void {
    if (this.stopped) return;
    this.kind = kind;
    this.at = now + seconds;
    if (this.call === null || !this.call.active()) this.call = this.clock.callLater(seconds, this.fire);
    else if (this.call.getTime() > this.at) this.call.reset(seconds);
  }

  /** Nothing is timed now (the pending call, if any, will find nothing to do). */
  clear(): void {
    this.kind = '';
    this.at = Infinity;
  }

  /** Clear and unschedule for good: for a connection that is gone. */
  cancel(): void {
    this.stopped = true;
    this.clear();
    if (this.call?.active()) this.call.cancel();
    this.call = null;
  }

  private readonly fire = (): void => {
    this.call = null;
    if (this.kind === '') return;
    const left = this.at - this.clock.seconds();
    if (left > 0) {
      this.call = this.clock.callLater(left, this.fire);
      return;
    }
    const kind = this.kind;
    this.clear();
    this.onExpire(kind);
  };
}
