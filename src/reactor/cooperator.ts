/**
 * `Cooperator` and `cooperate` (Twisted's `task.Cooperator`): run many
 * iterators a step at a time, round-robin, in passes that each last at most a
 * time slice, so that long work never starves the event loop.
 *
 * Each `next()` of a task's iterator is one unit of work. A unit that yields a
 * Deferred (or Promise) pauses that task until it fires; a failure ends the
 * task. Passes are scheduled with `scheduler` (by default `clock.callLater(0)`)
 * and end when the `terminationPredicateFactory`'s predicate says so (by
 * default after `COOPERATOR_SLICE` seconds on the clock).
 *
 * With a `Clock` and the default scheduler, `clock.advance(0)` runs passes
 * until every task has finished or is paused, because a `callLater(0)` made
 * during `advance()` runs in the same `advance()`: pass your own `scheduler`
 * to step an endless iterator pass by pass in a test.
 */
import type { IReactorTime } from './interfaces.js';
import { Deferred } from './deferred.js';
import { Failure } from './failure.js';
import { Logger } from './log.js';
import {
  NoClockError,
  NotPaused,
  SchedulerStopped,
  TaskDone,
  TaskFailed,
  type TaskFinished,
  TaskStopped,
} from './errors.js';

/** Seconds of work a pass may do before yielding to the event loop (the default predicate). */
export const COOPERATOR_SLICE = 0.01;

/** Schedules `fn` to run soon; returns something that can cancel it. */
export type Scheduler = (fn: () => void) => { cancel(): void };
/** Called at the start of each pass; the predicate it returns is asked after each unit: true ends the pass. */
export type TerminationPredicateFactory = () => () => boolean;

export interface CooperatorOptions {
  /** Clock for the default scheduler and the default time slice. Needed unless both are given. */
  clock?: IReactorTime;
  scheduler?: Scheduler;
  terminationPredicateFactory?: TerminationPredicateFactory;
  /** False: do not schedule passes until `start()`. Default true. */
  started?: boolean;
}

const log = new Logger('spindle.task');

/** What a Cooperator needs of its tasks, whatever their iterator type. */
interface TaskSlot {
  oneWorkUnit(): void;
  completeWith(state: TaskFinished, result: Failure): void;
  closeIterator(): void;
}

/** One iterator run by a Cooperator; see `Cooperator.cooperate`. */
export class CooperativeTask<I extends Iterator<unknown> = Iterator<unknown>> implements TaskSlot {
  private pauseCount = 0;
  private finished: TaskFinished | undefined;
  private result: I | Failure | undefined;
  private waiting: Deferred<I>[] = [];

  constructor(
    readonly iterator: I,
    private readonly cooperator: Cooperator,
  ) {
    cooperator.addTask(this);
  }

  /** A Deferred that fires with the iterator when exhausted, or errbacks (TaskStopped, the iterator's error, SchedulerStopped). */
  whenDone(): Deferred<I> {
    const d = new Deferred<I>(undefined, 'CooperativeTask.whenDone');
    if (this.finished === undefined) this.waiting.push(d);
    else if (this.result instanceof Failure) d.errback(this.result);
    else d.callback(this.result as I);
    return d;
  }

  /** Stop running units until a matching `resume()`. Throws the TaskFinished error once finished. */
  pause(): void {
    this.checkNotFinished();
    if (++this.pauseCount === 1) this.cooperator.removeTask(this);
  }

  resume(): void {
    if (this.pauseCount === 0) throw new NotPaused();
    if (--this.pauseCount === 0 && this.finished === undefined) this.cooperator.addTask(this);
  }

  /** Stop for good: `whenDone()` errbacks with `TaskStopped`; the iterator's `return()` is called. */
  stop(): void {
    this.checkNotFinished();
    this.closeIterator();
    this.completeWith(new TaskStopped(), new Failure(new TaskStopped()));
  }

  /** @internal Run one unit of work. */
  oneWorkUnit(): void {
    let step: IteratorResult<unknown>;
    try {
      step = this.iterator.next();
    } catch (err) {
      this.completeWith(new TaskFailed(), Failure.from(err));
      return;
    }
    if (step.done) {
      this.completeWith(new TaskDone(), this.iterator);
      return;
    }
    const value = step.value;
    const d = value instanceof Deferred ? value : isThenable(value) ? Deferred.fromPromise(value) : undefined;
    if (d === undefined) return;
    this.pause();
    d.addCallbacks(
      () => this.resume(),
      (failure: Failure) => {
        if (this.finished === undefined) this.completeWith(new TaskFailed(), failure);
      },
    );
  }

  /** @internal */
  completeWith(state: TaskFinished, result: I | Failure): void {
    this.finished = state;
    this.result = result;
    if (this.pauseCount === 0) this.cooperator.removeTask(this);
    // Fire after leaving the cooperator, so a callback may stop it or add tasks.
    const waiting = this.waiting;
    this.waiting = [];
    for (const d of waiting) {
      if (result instanceof Failure) d.errback(result);
      else d.callback(result);
    }
  }

  /** @internal */
  closeIterator(): void {
    try {
      this.iterator.return?.();
    } catch (err) {
      log.failure("a cooperative task's iterator threw from return() while being stopped", err, 'error');
    }
  }

  private checkNotFinished(): void {
    if (this.finished !== undefined) throw this.finished;
  }
}

export class Cooperator {
  private tasks: TaskSlot[] = [];
  private cursor = 0;
  private pending: { cancel(): void } | undefined;
  private started: boolean;
  private stopped = false;
  private readonly scheduler: Scheduler;
  private readonly terminationPredicateFactory: TerminationPredicateFactory;

  constructor(options: CooperatorOptions = {}) {
    const { clock } = options;
    if (clock === undefined && (options.scheduler === undefined || options.terminationPredicateFactory === undefined)) {
      throw new NoClockError(
        'Cooperator',
        'pass new Cooperator({ clock: reactor }) (a Clock in tests), or give both scheduler and terminationPredicateFactory',
      );
    }
    this.scheduler = options.scheduler ?? ((fn) => clock!.callLater(0, fn));
    this.terminationPredicateFactory =
      options.terminationPredicateFactory ??
      (() => {
        const end = clock!.seconds() + COOPERATOR_SLICE;
        return () => clock!.seconds() >= end;
      });
    this.started = options.started ?? true;
  }

  /** Run `iterator` (or an iterable's iterator) as a task of this Cooperator. */
  cooperate<T>(iterator: Iterator<T> | Iterable<T>): CooperativeTask<Iterator<T>> {
    return new CooperativeTask(toIterator(iterator), this);
  }

  /** `cooperate(iterator).whenDone()`. */
  coiterate<T>(iterator: Iterator<T> | Iterable<T>): Deferred<Iterator<T>> {
    return this.cooperate(iterator).whenDone();
  }

  /** True when started and not stopped. */
  get running(): boolean {
    return this.started && !this.stopped;
  }

  /** Begin scheduling passes (for a Cooperator made with `started: false`, or after `stop()`). */
  start(): void {
    this.stopped = false;
    this.started = true;
    this.reschedule();
  }

  /** End every task with `SchedulerStopped` (calling their iterators' `return()`) and schedule nothing more. */
  stop(): void {
    this.stopped = true;
    const tasks = this.tasks;
    this.tasks = [];
    this.cursor = 0;
    this.pending?.cancel();
    this.pending = undefined;
    for (const task of tasks) {
      task.closeIterator();
      task.completeWith(new SchedulerStopped(), new Failure(new SchedulerStopped()));
    }
  }

  /** @internal */
  addTask(task: TaskSlot): void {
    if (this.stopped) {
      task.completeWith(new SchedulerStopped(), new Failure(new SchedulerStopped()));
      return;
    }
    this.tasks.push(task);
    this.reschedule();
  }

  /** @internal */
  removeTask(task: TaskSlot): void {
    const at = this.tasks.indexOf(task);
    if (at < 0) return;
    this.tasks.splice(at, 1);
    if (at < this.cursor) this.cursor--;
    if (this.tasks.length === 0 && this.pending !== undefined) {
      this.pending.cancel();
      this.pending = undefined;
    }
  }

  private readonly tick = (): void => {
    this.pending = undefined;
    const done = this.terminationPredicateFactory();
    while (this.tasks.length > 0) {
      if (this.cursor >= this.tasks.length) this.cursor = 0;
      this.tasks[this.cursor++]!.oneWorkUnit();
      if (done()) break;
    }
    this.reschedule();
  };

  private reschedule(): void {
    if (!this.started || this.stopped) return;
    if (this.pending === undefined && this.tasks.length > 0) this.pending = this.scheduler(this.tick);
  }
}

const cooperators = new WeakMap<IReactorTime, Cooperator>();
let nodeLoopCooperator: Cooperator | undefined;

/**
 * The Cooperator behind `cooperate(iterator)` with no clock: passes are
 * scheduled on Node's own event loop (`setImmediate`) and sliced by the
 * monotonic `performance.now()`. It is not a reactor, so nothing global is
 * shared with any reactor; pass a clock to run tasks on a reactor or a `Clock`.
 */
function nodeLoop(): Cooperator {
  nodeLoopCooperator ??= new Cooperator({
    scheduler: (fn) => {
      const handle = setImmediate(fn);
      return { cancel: () => clearImmediate(handle) };
    },
    terminationPredicateFactory: () => {
      const end = performance.now() + COOPERATOR_SLICE * 1000;
      return () => performance.now() >= end;
    },
  });
  return nodeLoopCooperator;
}

/**
 * Run `iterator` on the Cooperator shared by everything that cooperates on
 * `clock` (a reactor or a `Clock`). Without a clock, on Node's own event loop
 * (as Twisted's module-level `cooperate` uses its global reactor).
 */
export function cooperate<T>(iterator: Iterator<T> | Iterable<T>, clock?: IReactorTime): CooperativeTask<Iterator<T>> {
  if (clock === undefined) return nodeLoop().cooperate(iterator);
  let cooperator = cooperators.get(clock);
  if (cooperator === undefined) {
    cooperator = new Cooperator({ clock });
    cooperators.set(clock, cooperator);
  }
  return cooperator.cooperate(iterator);
}

function toIterator<T>(it: Iterator<T> | Iterable<T>): Iterator<T> {
  if (typeof (it as Iterator<T>).next === 'function') return it as Iterator<T>;
  return (it as Iterable<T>)[Symbol.iterator]();
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}
