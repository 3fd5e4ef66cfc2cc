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
  constructor(
    message = 'Deferred already fired; a Deferred fires once: chain a new Deferred instead of firing this one again',
  ) {
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
    super(
      'ERR_FIRST_ERROR',
      `Deferred at index ${index} failed: ${String((subFailure.value as Error)?.message ?? subFailure.value)}`,
      { cause: subFailure.value },
    );
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

// ---------------------------------------------------------------------------
// TCP, TLS and Unix sockets (listenTCP / connectTCP / transports)

/**
 * `listenTCP`/`listenTLS` could not bind (the port is in use, privileged, or the
 * host is not local), or `listenUNIX` could not take its path (a live server
 * holds it, or it is not a socket file). For a Unix socket `host` is the path
 * and `port` is 0.
 */
export class CannotListenError extends SpindleError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, cause: unknown, unixPath?: string) {
    const errno = (cause as { code?: string } | null)?.code;
    const fix =
      unixPath !== undefined && errno === 'EADDRINUSE'
        ? 'a live server is accepting connections on that socket file; stop it or pick another path'
        : errno === 'EADDRINUSE'
          ? 'the address is already in use; stop the other server or pick another port (0 picks a free one)'
          : errno === 'EACCES'
            ? unixPath !== undefined
              ? 'permission denied; listen in a directory this user may write to'
              : 'permission denied; ports below 1024 need privileges, use a higher port'
            : errno === 'EADDRNOTAVAIL'
              ? 'that host is not an address of this machine; listen on 127.0.0.1, 0.0.0.0 or a local address'
              : `${String((cause as Error | null)?.message ?? cause)}`;
    super(
      'ERR_CANNOT_LISTEN',
      `cannot listen on ${unixPath !== undefined ? `unix:${unixPath}` : `${host}:${port}`}: ${fix}`,
      { cause },
    );
    this.host = unixPath ?? host;
    this.port = unixPath !== undefined ? 0 : port;
  }
}

/** A `connectTCP` attempt failed for a reason other than the ones below (DNS, unreachable, ...). */
export class ConnectError extends SpindleError {
  constructor(message: string, options?: { cause?: unknown }, code = 'ERR_CONNECT_FAILED') {
    super(code, message, options);
  }
}

/** The peer actively refused the connection (ECONNREFUSED): nothing listens there. */
export class ConnectionRefusedError extends ConnectError {
  constructor(host: string, port: number, cause?: unknown) {
    const where = port === 0 && host.startsWith('/') ? `unix:${host}` : `${host}:${port}`;
    super(
      `connection to ${where} was refused; is a server listening ${port === 0 ? 'on that socket file' : 'on that port'}?`,
      { cause },
      'ERR_CONNECTION_REFUSED',
    );
  }
}

/** `connectTCP`'s `timeout` ran out before the connection was made. */
export class ConnectTimeoutError extends ConnectError {
  /** `where` is `host:port` or `unix:/path`. */
  constructor(where: string, seconds: number) {
    super(
      `connecting to ${where} timed out after ${seconds}s; check the address or raise the timeout option`,
      undefined,
      'ERR_CONNECT_TIMEOUT',
    );
  }
}

/**
 * A TLS handshake failed: the peer's certificate was not trusted, the peer
 * spoke something other than TLS, or it did not finish in time. On a server the
 * connection is closed before any protocol sees it; a client's factory gets it
 * in `clientConnectionFailed`, a STARTTLS connection in `connectionLost`.
 */
export class TLSHandshakeError extends ConnectError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_TLS_HANDSHAKE');
  }
}

/** `startTLS` on a transport that cannot start it (already secure, closing, or not a socket). */
export class TLSStateError extends SpindleError {
  constructor(message: string) {
    super('ERR_TLS_STATE', message);
  }
}

/** A connector was asked to do something its state does not allow (stopConnecting while not connecting, ...). */
export class ConnectorStateError extends SpindleError {
  constructor(message: string) {
    super('ERR_CONNECTOR_STATE', message);
  }
}

/** `registerProducer` while another producer is registered. */
export class ProducerAlreadyRegisteredError extends SpindleError {
  constructor() {
    super(
      'ERR_PRODUCER_REGISTERED',
      'a producer is already registered with this consumer; call unregisterProducer() before registering another',
    );
  }
}

/** `pauseProducing`/`resumeProducing` on a producer after `stopProducing`. */
export class ProducerStoppedError extends SpindleError {
  constructor(what: string) {
    super('ERR_PRODUCER_STOPPED', `${what}() called after stopProducing(); a stopped producer stays stopped`);
  }
}

/**
 * A `ByteRing` was aborted (the other side gave up: the consumer went away, or
 * the job was cancelled) while this side was reading or writing it.
 */
export class RingAborted extends SpindleError {
  constructor(
    message = 'the shared byte ring was aborted by the other side; stop reading or writing it and let the job end',
  ) {
    super('ERR_RING_ABORTED', message);
  }
}

/** A `ThreadPool` was stopped (reactor shutdown or `stop()`) before the job ran or finished. */
export class ThreadPoolStopped extends SpindleError {
  constructor(
    message = 'the thread pool was stopped before this job finished; submit jobs before reactor shutdown, or to a new ThreadPool',
  ) {
    super('ERR_THREAD_POOL_STOPPED', message);
  }
}

/** The worker thread running a job exited or crashed before it returned a result. */
export class WorkerCrashed extends SpindleError {
  readonly exitCode: number | null;
  constructor(message: string, exitCode: number | null = null, options?: { cause?: unknown }) {
    super('ERR_WORKER_CRASHED', message, options);
    this.exitCode = exitCode;
  }
}

/** A `ByteRing` producer wrote after its own `close()`. */
export class RingClosed extends SpindleError {
  constructor(
    message = 'write to a shared byte ring after close(); close() is the end of the stream: write everything before it',
  ) {
    super('ERR_RING_CLOSED', message);
  }
}

/** `release()` on a DeferredLock or DeferredSemaphore that is not held. */
export class NotAcquiredError extends SpindleError {
  constructor(message: string) {
    super('ERR_NOT_ACQUIRED', message);
  }
}

// ---------------------------------------------------------------------------
// Reactor core and `task` (LoopingCall, Cooperator)

/** `run()` on a reactor that is already running (or starting, or stopping). */
export class ReactorAlreadyRunning extends SpindleError {
  constructor(
    message = 'reactor is already running; call run() once, or stop() and wait for its Deferred before running again',
  ) {
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

/**
 * A time-based helper (LoopingCall, Cooperator, ReconnectingClientFactory) was
 * used without a clock to schedule on. `what` names the helper and `fix` says
 * how to give it one, so each call site's message is about its own API.
 */
export class NoClockError extends SpindleError {
  constructor(what: string, fix: string) {
    super('ERR_NO_CLOCK', `${what} has no clock; library code never uses a global reactor: ${fix}`);
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
