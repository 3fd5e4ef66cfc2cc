/**
 * Run a CPS app on a bridged request and route its failure, whether it throws,
 * returns a failed Deferred or a rejected Promise, to `request.appFailed` once.
 * A Deferred's errback is attached synchronously, so a failure inside the app's
 * own stack reaches the host before anything else happens.
 */
import { Deferred } from '../reactor/deferred.js';
import { Failure } from '../reactor/failure.js';
import type { CpsApp, IRequest } from '../protocols/http/interfaces.js';

export function runCpsApp(app: CpsApp, request: IRequest & { appFailed(error: unknown): void }): void {
  let result: unknown;
  try {
    result = app(request);
  } catch (err) {
    request.appFailed(err);
    return;
  }
  if (result instanceof Deferred) {
    result.addErrback((f: Failure) => { request.appFailed(f.value); });
  } else if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, (err: unknown) => request.appFailed(err));
  }
}
