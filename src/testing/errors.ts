/**
 * Errors of `spindle/testing`. A failed assertion about a Deferred's result is
 * a `DeferredResultError` whose message names what the Deferred holds.
 */
import { SpindleError } from '../reactor/errors.js';

/** `successResultOf`, `failureResultOf` or `assertNoResult` found something else in the Deferred. */
export class DeferredResultError extends SpindleError {
  constructor(message: string) {
    super('ERR_TESTING_DEFERRED_RESULT', message);
  }
}
