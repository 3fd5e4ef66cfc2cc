/**
 * `DeferredList` and `gatherResults`: wait for several Deferreds (Twisted's
 * `defer.DeferredList`). A DeferredList is itself a Deferred; it adds one
 * callback pair to each member and fires when all have fired (or, with the
 * `fireOnOne*` options, at the first success or failure).
 */
import { FirstError } from './errors.js';
import { Deferred } from './deferred.js';
import { isFailure, type Failure } from './failure.js';
import { Logger } from './log.js';

/** One member's outcome: `[true, value]` or `[false, failure]`. */
export type DeferredListEntry<T> = [true, T] | [false, Failure];

export interface DeferredListOptions {
  /** Fire with `[value, index]` as soon as one member succeeds. */
  fireOnOneCallback?: boolean;
  /** Errback with `FirstError` (`.subFailure`, `.index`) as soon as one member fails. */
  fireOnOneErrback?: boolean;
  /**
   * Handle each member's failure: the member is left holding `null`, so it is
   * not reported as an unhandled error. The failure is still in the results.
   */
  consumeErrors?: boolean;
}

const log = new Logger('spindle.deferred');

/**
 * Fires with an array of `[success, valueOrFailure]`, one per member, in the
 * members' order (not the order they fired). An empty list fires at once
 * (unless `fireOnOneCallback`, which then never fires by itself).
 * With `fireOnOneCallback` the result is `[value, index]` instead.
 */
export class DeferredList<T = unknown> extends Deferred<Array<DeferredListEntry<T>>> {
  readonly resultList: Array<DeferredListEntry<T> | undefined>;
  finishedCount = 0;
  private readonly members: Deferred<T>[];
  private readonly options: Required<DeferredListOptions>;

  constructor(deferreds: Iterable<Deferred<T>>, options: DeferredListOptions = {}) {
    super();
    this.members = Array.from(deferreds);
    this.options = {
      fireOnOneCallback: options.fireOnOneCallback ?? false,
      fireOnOneErrback: options.fireOnOneErrback ?? false,
      consumeErrors: options.consumeErrors ?? false,
    };
    this.resultList = new Array<DeferredListEntry<T> | undefined>(this.members.length);
    if (this.members.length === 0 && !this.options.fireOnOneCallback) {
      this.callback([]);
    }
    for (let index = 0; index < this.members.length; index++) {
      const member = this.members[index]!;
      if (!(member instanceof Deferred)) {
        throw new TypeError(
          `DeferredList: member ${index} is not a Deferred (got ${typeof member}); wrap promises with Deferred.fromPromise`,
        );
      }
      // One closure for both sides (one allocation per member, not two).
      member.addBoth((result) => this.memberFired(index, !isFailure(result), result));
    }
  }

  private memberFired(index: number, succeeded: boolean, result: unknown): unknown {
    this.resultList[index] = [succeeded, result] as DeferredListEntry<T>;
    this.finishedCount++;
    if (!this.called) {
      if (succeeded && this.options.fireOnOneCallback) {
        (this as Deferred<unknown>).callback([result, index]);
      } else if (!succeeded && this.options.fireOnOneErrback) {
        this.errback(new FirstError(result as Failure, index));
      } else if (this.finishedCount === this.resultList.length) {
        this.callback(this.resultList as Array<DeferredListEntry<T>>);
      }
    }
    if (!succeeded && this.options.consumeErrors) return null;
    return result;
  }

  /**
   * Before it fired: cancel every member (their failures then fire the list as
   * usual). After it fired: nothing, as in Twisted.
   */
  override cancel(): void {
    if (this.called) return;
    for (const member of this.members) {
      try {
        member.cancel();
      } catch (err) {
        log.failure('a canceller threw while cancelling a DeferredList member', err, 'error');
      }
    }
  }
}

/**
 * A Deferred for the list of the members' results, in order. The first member
 * that fails errbacks it with `FirstError` (`.subFailure`, `.index`).
 * `consumeErrors` leaves failed members holding `null` (handled).
 */
export function gatherResults<T>(deferreds: Iterable<Deferred<T>>, consumeErrors = false): Deferred<T[]> {
  const list = new DeferredList<T>(deferreds, { fireOnOneErrback: true, consumeErrors });
  return list.addCallback((entries) => entries.map((entry) => entry[1] as T));
}
