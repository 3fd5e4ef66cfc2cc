/**
 * Errors of the reactor core and of `task` (LoopingCall, Cooperator). They are
 * reactor-layer errors like those in errors.ts and kept beside them in this
 * file only because errors.ts was being edited by others when these landed.
 */
import { SpindleError } from './errors.js';

/** `run()` on a reactor that is already running (or starting, or stopping). */
export class ReactorAlreadyRunning extends SpindleError {
  constructor(message = 'reactor is already running; call run() once, or stop() and wait for its Deferred before running again') {
    super('ERR_REACTOR_ALREADY_RUNNING', message);
  }
}

/** `stop()` on a reactor that was never started. */
export class ReactorNotRunning extends SpindleError {
  constructor(message = 'stop() called on a reactor that was never run; call run() first, or check reactor.running') {
    super('ERR_REACTOR_NOT_RUNNING', message);
  }
}

/** `LoopingCall.start()` while it runs, or `stop()` while it does not. */
export class LoopingCallStateError extends SpindleError {
  constructor(message: string) {
    super('ERR_LOOPING_CALL_STATE', message);
  }
}

/** A time-based helper was used without a clock to schedule on. */
export class NoClockError extends SpindleError {
  constructor(what: string) {
    super(
      'ERR_NO_CLOCK',
      `${what} has no clock; library code never uses a global reactor: pass one, e.g. new LoopingCall(fn, { clock: reactor }) or set lc.clock = reactor before start()`,
    );
  }
}

/**
 * A cooperative task has finished, so it cannot be paused, resumed or stopped.
 * The subclasses say how it finished (Twisted's `TaskFinished` family).
 */
export class TaskFinished extends SpindleError {}

/** The task's iterator was exhausted. */
export class TaskDone extends TaskFinished {
  constructor(message = 'the task has finished: its iterator is exhausted') {
    super('ERR_TASK_DONE', message);
  }
}

/** `stop()` was called on the task; its `whenDone()` Deferreds errback with this. */
export class TaskStopped extends TaskFinished {
  constructor(message = 'the task was stopped before its iterator was exhausted') {
    super('ERR_TASK_STOPPED', message);
  }
}

/** The task's iterator threw (or a Deferred it yielded failed). */
export class TaskFailed extends TaskFinished {
  constructor(message = 'the task failed: its iterator threw or a Deferred it yielded failed') {
    super('ERR_TASK_FAILED', message);
  }
}

/** The Cooperator running the task was stopped; `whenDone()` errbacks with this. */
export class SchedulerStopped extends TaskFinished {
  constructor(message = 'the Cooperator running this task was stopped') {
    super('ERR_SCHEDULER_STOPPED', message);
  }
}

/** `resume()` on a task that is not paused. */
export class NotPaused extends SpindleError {
  constructor(message = 'resume() called on a task that is not paused; each resume() must balance an earlier pause()') {
    super('ERR_NOT_PAUSED', message);
  }
}
