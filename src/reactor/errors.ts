/**
 * Errors of the reactor layer. Every error spindle throws or errbacks with is a
 * `SpindleError`: it has a stable string `code` and a message that says what was
 * expected, what came, and the likely fix.
 *
 * Clean and unclean closes are kept apart, as in Twisted: `ConnectionDone` is a
 * connection closed cleanly, `ConnectionLost` one that went away uncleanly.
 */
import type { Failure } from './failure.js';

export class SpindleError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A Deferred (or other one-shot continuation) was fired a second time. */
export class AlreadyCalledError extends SpindleError {
  constructor(message = 'Deferred already fired; a Deferred fires once: chain a new Deferred instead of firing this one again') {
    super('ERR_ALREADY_CALLED', message);
  }
}

/** A Deferred was cancelled and had no canceller that fired it another way. */
export class CancelledError extends SpindleError {
  constructor(message = 'Deferred was cancelled') {
    super('ERR_CANCELLED', message);
  }
}

/** `Deferred.addTimeout` ran out before the Deferred fired. */
export class TimeoutError extends SpindleError {
  constructor(message = 'Deferred timed out') {
    super('ERR_TIMEOUT', message);
  }
}

/** `gatherResults` / `DeferredList(fireOnOneErrback)`: the first member that failed. */
export class FirstError extends SpindleError {
  readonly subFailure: Failure;
  readonly index: number;
  constructor(subFailure: Failure, index: number) {
    super('ERR_FIRST_ERROR', `Deferred at index ${index} failed: ${String((subFailure.value as Error)?.message ?? subFailure.value)}`, { cause: subFailure.value });
    this.subFailure = subFailure;
    this.index = index;
  }
}

/** A bounded queue (DeferredQueue, a bridge queue) was asked to hold more than its bound. */
export class QueueOverflow extends SpindleError {
  constructor(message = 'queue is full; raise its size or wait for the consumer to catch up') {
    super('ERR_QUEUE_OVERFLOW', message);
  }
}

/** `IDelayedCall.cancel/reset/delay` on a call that was already cancelled. */
export class AlreadyCancelled extends SpindleError {
  constructor(message = 'delayed call was already cancelled; check active() before cancel(), reset() or delay()') {
    super('ERR_ALREADY_CANCELLED', message);
  }
}

/** `IDelayedCall.cancel/reset/delay` on a call that has already run. */
export class AlreadyCalled extends SpindleError {
  constructor(message = 'delayed call has already run; check active() before cancel(), reset() or delay()') {
    super('ERR_ALREADY_CALLED_DELAYED', message);
  }
}

/** The connection was closed cleanly. */
export class ConnectionDone extends SpindleError {
  constructor(message = 'connection was closed cleanly') {
    super('ERR_CONNECTION_DONE', message);
  }
}

/** The connection was lost uncleanly (reset, aborted, or the peer went away). */
export class ConnectionLost extends SpindleError {
  constructor(message = 'connection to the other side was lost in a non-clean fashion', options?: { cause?: unknown }) {
    super('ERR_CONNECTION_LOST', message, options);
  }
}

/** A response body was delivered completely (the clean end of `deliverBody`). */
export class ResponseDone extends SpindleError {
  constructor(message = 'response body fully received') {
    super('ERR_RESPONSE_DONE', message);
  }
}

/** An argument was out of its range (a negative delay, a bad port, ...). */
export class InvalidArgumentError extends SpindleError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}
