/**
 * The graceful stop after SIGINT/SIGTERM: stop accepting, give in-flight
 * responses up to SHUTDOWN_GRACE_SECONDS to finish, then report. The contract
 * (DESIGN.md, CLI) is that the process exits by itself within 5 s of the
 * signal; the grace is shorter so that closing sockets and exiting fit too.
 *
 * Time comes from an injected `IReactorTime`, so the bound is tested on a Clock.
 */
import type { IDelayedCall, IReactorTime } from '../reactor/interfaces.js';

/** How long in-flight responses may take to finish after the signal. */
export const SHUTDOWN_GRACE_SECONDS = 3;
/** How often the drain checks whether in-flight responses are done. */
export const SHUTDOWN_POLL_SECONDS = 0.05;

export interface Drainable {
  /** Stop accepting new connections. */
  stopListening(): PromiseLike<void> | void;
  /** Requests whose responses have not finished yet. */
  inFlight(): number;
}

export interface DrainResult {
  /** True when every in-flight response finished inside the grace period. */
  drained: boolean;
  /** Responses still unfinished when the drain ended. */
  left: number;
}

/**
 * Stop accepting, then resolve once nothing is in flight or `grace` seconds
 * have passed on `clock`, whichever comes first.
 */
export async function drain(
  target: Drainable,
  clock: IReactorTime,
  grace = SHUTDOWN_GRACE_SECONDS,
  poll = SHUTDOWN_POLL_SECONDS,
): Promise<DrainResult> {
  const deadline = clock.seconds() + grace;
  // Stopping the listener is bounded by the same deadline: a close that never
  // calls back must not keep the process alive.
  let timer: IDelayedCall | undefined;
  const bound = new Promise<void>((done) => {
    timer = clock.callLater(grace, done);
  });
  await Promise.race([Promise.resolve(target.stopListening()), bound]);
  if (timer?.active()) timer.cancel();
  return new Promise<DrainResult>((done) => {
    const check = (): void => {
      const left = target.inFlight();
      if (left === 0) return done({ drained: true, left: 0 });
      const remaining = deadline - clock.seconds();
      if (remaining <= 0) return done({ drained: false, left });
      clock.callLater(Math.min(poll, remaining), check);
    };
    check();
  });
}

/**
 * A stop signal repeated sooner than this after the first is the same request
 * delivered twice (a terminal's Ctrl-C reaches every process in the group, and
 * npm and tsx pass signals on too), not a demand to stop at once.
 */
export const REPEAT_SIGNAL_SECONDS = 1;

export type SignalAction = 'stop' | 'ignore' | 'force';

/** Classify each SIGINT/SIGTERM: the first stops gracefully, a later one forces. */
export function signalTracker(now: () => number = () => performance.now() / 1000): () => SignalAction {
  let first: number | undefined;
  return () => {
    const t = now();
    if (first === undefined) {
      first = t;
      return 'stop';
    }
    return t - first < REPEAT_SIGNAL_SECONDS ? 'ignore' : 'force';
  };
}
