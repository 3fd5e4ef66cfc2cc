/**
 * `ReactorCore`: run/stop and the system event triggers, shared by
 * `NodeReactor` and `MemoryReactor` so that both keep the same order.
 *
 * Each event ('startup', 'shutdown') fires in three phases, as in Twisted:
 * 'before' triggers run first, and any that return a Deferred (or a Promise)
 * hold back the rest until they fire, bounded by `shutdownTimeout` seconds on
 * the reactor's own clock; then 'during'; then 'after'. `callWhenRunning`
 * calls are 'after startup' triggers. A trigger fires once; a trigger that
 * throws or fails is logged and does not stop the others.
 *
 * Everything runs synchronously unless a 'before' trigger returns a Deferred
 * that has not fired yet.
 */
import type { IReactorCore, IReactorTime, ITriggerId, RunOptions, SystemEvent, TriggerPhase } from './interfaces.js';
import { Deferred } from './deferred.js';
import { Failure } from './failure.js';
import { Logger } from './log.js';
import { InvalidArgumentError, ReactorAlreadyRunning, ReactorNotRunning } from './errors.js';

/** Seconds that 'before shutdown' triggers may hold shutdown back (and 'before startup' startup). */
export const SHUTDOWN_TRIGGER_TIMEOUT = 30;

export interface ReactorCoreOptions {
  /** Bound on waiting for 'before' triggers, seconds. Default `SHUTDOWN_TRIGGER_TIMEOUT`. */
  shutdownTimeout?: number;
  /** Told when `running` changes (NodeReactor refs/unrefs its timer, handles signals). */
  onRunningChange?: (running: boolean) => void;
  log?: Logger;
}

class Trigger implements ITriggerId {
  constructor(
    readonly phase: TriggerPhase,
    readonly event: SystemEvent,
    readonly fn: (...args: unknown[]) => unknown,
    readonly args: unknown[],
  ) {}
}

type State = 'idle' | 'starting' | 'running' | 'stopping';

export class ReactorCore implements IReactorCore {
  private state: State = 'idle';
  private stopped: Deferred<void> | undefined;
  private readonly triggers: Record<SystemEvent, Record<TriggerPhase, Trigger[]>> = {
    startup: { before: [], during: [], after: [] },
    shutdown: { before: [], during: [], after: [] },
  };
  private readonly timeout: number;
  private readonly log: Logger;

  constructor(
    private readonly time: IReactorTime,
    private readonly options: ReactorCoreOptions = {},
  ) {
    this.timeout = options.shutdownTimeout ?? SHUTDOWN_TRIGGER_TIMEOUT;
    this.log = options.log ?? new Logger('spindle.reactor');
  }

  get running(): boolean {
    return this.state === 'running' || this.state === 'stopping';
  }

  run(_options?: RunOptions): void {
    if (this.state !== 'idle') throw new ReactorAlreadyRunning();
    this.state = 'starting';
    this.stopped = undefined;
    this.fireEvent(
      'startup',
      () => {
        // Running from the end of 'during startup' on, as in Twisted.
        this.state = 'running';
        this.options.onRunningChange?.(true);
      },
      () => {},
    );
  }

  stop(): Deferred<void> {
    if (this.stopped !== undefined) return this.stopped;
    if (this.state === 'idle') throw new ReactorNotRunning();
    const stopped = (this.stopped = new Deferred<void>(undefined, 'reactor shutdown'));
    const finish = () => {
      this.state = 'idle';
      this.options.onRunningChange?.(false);
      stopped.callback(undefined);
    };
    if (this.state === 'starting') {
      // Stop once startup has finished, so that no startup trigger runs after shutdown.
      this.callWhenRunning(() => this.beginShutdown(finish));
    } else {
      this.beginShutdown(finish);
    }
    return stopped;
  }

  callWhenRunning<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    if (this.state === 'running' || this.state === 'stopping') {
      fn(...args);
      return;
    }
    this.addSystemEventTrigger('after', 'startup', fn, ...args);
  }

  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    event: SystemEvent,
    fn: (...args: A) => unknown,
    ...args: A
  ): ITriggerId {
    const list = this.triggers[event]?.[phase];
    if (list === undefined) {
      throw new InvalidArgumentError(
        `addSystemEventTrigger(phase, event): expected phase 'before' | 'during' | 'after' and event 'startup' | 'shutdown', got ${String(phase)} / ${String(event)}`,
      );
    }
    const trigger = new Trigger(phase, event, fn as (...args: unknown[]) => unknown, args);
    list.push(trigger);
    return trigger;
  }

  removeSystemEventTrigger(id: ITriggerId): void {
    const list = this.triggers[id.event]?.[id.phase];
    const at = list === undefined ? -1 : list.indexOf(id as Trigger);
    if (at < 0) {
      throw new InvalidArgumentError(
        'removeSystemEventTrigger(id): that trigger is not registered (it already fired or was removed); remove a trigger only before its event fires',
      );
    }
    list!.splice(at, 1);
  }

  private beginShutdown(finish: () => void): void {
    this.state = 'stopping';
    this.fireEvent('shutdown', () => {}, finish);
  }

  /** Fire `event`'s three phases, calling `afterDuring` between 'during' and 'after', then `done`. */
  private fireEvent(event: SystemEvent, afterDuring: () => void, done: () => void): void {
    const phases = this.triggers[event];
    const waits: Deferred<unknown>[] = [];
    this.runPhase(phases.before, waits);
    this.waitFor(event, waits, () => {
      this.runPhase(phases.during, undefined);
      afterDuring();
      this.runPhase(phases.after, undefined);
      done();
    });
  }

  /** Run and remove the phase's triggers, including any added while it runs. */
  private runPhase(list: Trigger[], waits: Deferred<unknown>[] | undefined): void {
    for (let t = list.shift(); t !== undefined; t = list.shift()) {
      let result: unknown;
      try {
        result = t.fn(...t.args);
      } catch (err) {
        this.log.failure(`${t.phase} ${t.event} trigger ${t.fn.name || '(anonymous)'} threw`, err, 'error');
        continue;
      }
      if (waits !== undefined && result instanceof Deferred) waits.push(result);
      else if (waits !== undefined && isThenable(result)) waits.push(Deferred.fromPromise(result));
    }
  }

  /** Call `next` once every Deferred in `waits` fired, or the timeout passed. */
  private waitFor(event: SystemEvent, waits: Deferred<unknown>[], next: () => void): void {
    let pending = waits.length;
    let done = false;
    let timer: ReturnType<IReactorTime['callLater']> | undefined;
    const proceed = () => {
      if (done) return;
      done = true;
      if (timer?.active()) timer.cancel();
      next();
    };
    for (const d of waits) {
      d.addBoth((result) => {
        if (result instanceof Failure)
          this.log.failure(`a 'before ${event}' trigger's Deferred failed`, result, 'error');
        if (--pending === 0) proceed();
        return undefined;
      });
    }
    if (pending === 0) {
      proceed();
      return;
    }
    timer = this.time.callLater(this.timeout, () => {
      this.log.warn(
        `${pending} 'before ${event}' trigger(s) did not finish within ${this.timeout} s; going on without them`,
      );
      proceed();
    });
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}
