/**
 * `NodeReactor`: a reactor on Node's own event loop. Node's loop is the loop,
 * so `run()` returns at once; there is no busy loop and no thread.
 *
 * Time: the reactor keeps its calls in its own timer heap and arms ONE Node
 * timer for the earliest deadline (`setImmediate` when that deadline has
 * passed). Each firing is a pass: it runs the calls that were due when the
 * pass began and were scheduled before it, then re-arms; a call scheduled
 * during a pass runs in a later pass, after Node has had a turn at I/O.
 * An exception in a call is logged and the pass goes on.
 *
 * Liveness: with no active call there is no Node timer (an idle reactor costs
 * nothing). The timer is ref'd only while the reactor runs, so pending calls
 * keep the process alive while it runs and never after it stopped (or before
 * it started: calls still fire then, if something else keeps Node alive, on
 * an unref'd `setTimeout`, so a due call waits at least Node's 1 ms — except
 * while the reactor has a port or connection open: then a due call runs on
 * `setImmediate` as when running, so `serve()` without `run()` is not slow).
 */
import type {
  ConnectOptions,
  IReactorTLS,
  IReactorUNIX,
  TLSConnectOptions,
  TLSListenOptions,
  UNIXListenOptions,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IListeningPort,
  IProtocolFactory,
  IReactor,
  ITriggerId,
  ListenOptions,
  ReactorStats,
  RunOptions,
  SystemEvent,
  TriggerPhase,
} from './interfaces.js';
import type { Deferred } from './deferred.js';
import { DelayedCall, TimerHeap, checkDelay } from './delayedcall.js';
import { ReactorCore } from './reactorcore.js';
import { Logger } from './log.js';
import { connectTCP, listenTCP } from './tcp.js';
import { connectTLS, listenTLS, type TLSListeningPort } from './tls/index.js';
import { connectUNIX, listenUNIX } from './unix/index.js';

export interface NodeReactorOptions {
  /** Seconds 'before shutdown' triggers may delay `stop()`. Default `SHUTDOWN_TRIGGER_TIMEOUT` (30). */
  shutdownTimeout?: number;
  /** Where delayed-call errors and trigger failures go. Default `new Logger('spindle.reactor')`. */
  log?: Logger;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const NO_ARGS: unknown[] = [];
/**
 * How many `callLater(0)` in a row may share one clock reading before the
 * clock is read again, so a long burst does not drift from the real time.
 */
export const TURN_TIME_MAX_USES = 64;
/**
 * Seconds between the clock readings of two `callLater(0)` below which they
 * count as a burst, and the calls that follow share a reading. Calls made one
 * per pass or per I/O callback are further apart (a turn of Node's loop takes
 * longer), and do not pay for the sharing.
 */
export const TURN_TIME_BURST_GAP = 1e-6;

export class NodeReactor implements IReactor, IReactorTLS, IReactorUNIX {
  readonly stats: ReactorStats = { openConnections: 0, listeningPorts: 0, pausedProducers: 0, totalConnections: 0 };
  private readonly log: Logger;
  private readonly heap: TimerHeap;
  private readonly core: ReactorCore;
  /** The armed Node handle and the deadline it was armed for. */
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private armedAt = Infinity;
  private inPass = false;
  private signalHandler: ((signal: NodeJS.Signals) => void) | undefined;
  /**
   * The latest clock reading, shared by a burst of `callLater(0)` until the
   * microtasks queued so far have run (-1: not shared now); how many calls
   * have used it; the latest reading of any kind; the latest one a
   * `callLater(0)` took.
   */
  private turnNow = -1;
  private turnUses = 0;
  private lastRead = -Infinity;
  private lastZeroRead = -Infinity;
  private readonly endTurn = (): void => {
    this.turnNow = -1;
  };

  constructor(options: NodeReactorOptions = {}) {
    this.log = options.log ?? new Logger('spindle.reactor');
    this.heap = new TimerHeap(
      () => this.seconds(),
      (time) => {
        if (!this.inPass && time < this.armedAt) this.arm(time);
      },
      () => this.disarm(),
    );
    this.core = new ReactorCore(this, {
      ...(options.shutdownTimeout !== undefined ? { shutdownTimeout: options.shutdownTimeout } : {}),
      log: this.log,
      onRunningChange: (running) => this.runningChanged(running),
    });
  }

  // ------------------------------------------------------------------ time

  /** Monotonic seconds (`performance.now()`), unaffected by changes to the wall clock. */
  seconds(): number {
    const now = performance.now() / 1000;
    this.lastRead = now;
    // Keep a shared reading the latest one, so a `callLater(0)` never gets a
    // time earlier than one the caller has already seen.
    if (this.turnNow >= 0) this.turnNow = now;
    return now;
  }

  /**
   * The due time of a `callLater(0)`. Reading the clock costs about as much as
   * the rest of `callLater` (60 to 150 ns on a VM), so a burst of them, two
   * readings less than `TURN_TIME_BURST_GAP` apart, shares one reading until
   * the microtasks queued so far have run (so within one synchronous turn),
   * and at most `TURN_TIME_MAX_USES` times in a row. An isolated call reads
   * the clock and queues nothing (a microtask would cost more than it saves).
   *
   * The due time is thus never later than the real time and never earlier
   * than any time already read: such calls run in the pass they would have
   * run in, in the order they were scheduled. The one difference: a timed
   * call falling due between the reading and the `callLater(0)` runs after
   * it instead of before it (in the same pass). A delay other than 0,
   * `seconds()` and `reset()` always read the clock, so a LoopingCall
   * computes its next tick from a fresh reading. (Node's own timers go
   * further: they use the time at which the loop iteration began.)
   */
  private turnTime(): number {
    if (this.turnNow >= 0) {
      if (this.turnUses < TURN_TIME_MAX_USES) {
        this.turnUses++;
        return this.turnNow;
      }
      this.turnUses = 0;
      return (this.turnNow = this.lastRead = performance.now() / 1000);
    }
    const now = performance.now() / 1000;
    if (now - this.lastZeroRead < TURN_TIME_BURST_GAP) {
      this.turnNow = now;
      this.turnUses = 0;
      queueMicrotask(this.endTurn);
    }
    this.lastRead = this.lastZeroRead = now;
    return now;
  }

  callLater<A extends unknown[]>(delay: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall;
  callLater(delay: number, fn: (...args: unknown[]) => unknown): IDelayedCall {
    checkDelay(delay, 'callLater(delay)');
    // `arguments` rather than a rest parameter: most calls pass no arguments,
    // and this way they allocate no array (a measurable cost for bursts).
    const args = arguments.length > 2 ? Array.prototype.slice.call(arguments, 2) : NO_ARGS;
    return this.heap.schedule(delay === 0 ? this.turnTime() : this.seconds() + delay, fn, args);
  }

  getDelayedCalls(): IDelayedCall[] {
    return this.heap.activeCalls();
  }

  /** How many calls are scheduled and active. */
  delayedCallCount(): number {
    return this.heap.size;
  }

  private readonly runPass = (): void => {
    this.timeout = undefined;
    this.immediate = undefined;
    this.armedAt = Infinity;
    this.inPass = true;
    this.turnNow = -1;
    const now = this.seconds();
    const seqLimit = this.heap.nextSeq;
    try {
      for (let call = this.heap.popDue(now, seqLimit); call !== undefined; call = this.heap.popDue(now, seqLimit)) {
        this.runCall(call);
      }
    } finally {
      this.inPass = false;
      const next = this.heap.peek();
      if (next !== undefined) this.arm(next.time);
    }
  };

  private runCall(call: DelayedCall): void {
    try {
      call.run();
    } catch (err) {
      this.log.failure(`unhandled error in delayed call ${call.describe()}`, err, 'error');
      call.release();
    }
  }

  private arm(time: number): void {
    this.disarm();
    this.armedAt = time;
    // A time no later than a reading already taken is due: no need to read the clock again.
    const ms = time <= this.lastRead ? 0 : (time - this.seconds()) * 1000;
    if (ms <= 0 && (this.core.running || this.hasLiveIO())) {
      // Running, or serving (a port or connection is open, so Node stays alive
      // for it anyway): a due call runs on the next turn, at full speed.
      this.immediate = setImmediate(this.runPass);
    } else {
      // Not running and no I/O: an unref'd timer, so the calls never keep the
      // process alive. (Not an unref'd setImmediate: Node does not wake its
      // poll phase for those, so they could wait for unrelated I/O.)
      this.timeout = setTimeout(this.runPass, Math.max(ms, 0));
      if (!this.core.running) this.timeout.unref();
    }
  }

  /**
   * A port or connection is open: a reactor that was never `run()` (e.g.
   * `serve(app, { reactor })` alone) still serves at full speed, because its
   * due calls need not wait on the 1 ms timer that keeps an idle one unref'd.
   */
  private hasLiveIO(): boolean {
    return this.stats.listeningPorts > 0 || this.stats.openConnections > 0;
  }

  private disarm(): void {
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
    this.armedAt = Infinity;
  }

  // ------------------------------------------------------------------ core

  get running(): boolean {
    return this.core.running;
  }

  /** Start: fire the startup triggers and `callWhenRunning` calls. Returns at once. */
  run(options: RunOptions = {}): void {
    this.core.run(options);
    if (options.installSignalHandlers) this.installSignalHandlers();
  }

  /**
   * Graceful stop: the shutdown triggers, then `running` is false. Removes the
   * signal handlers; cancels nothing the user owns. A second call returns the
   * same Deferred.
   */
  stop(): Deferred<void> {
    return this.core.stop();
  }

  callWhenRunning<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    this.core.callWhenRunning(fn, ...args);
  }

  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    event: SystemEvent,
    fn: (...args: A) => unknown,
    ...args: A
  ): ITriggerId {
    return this.core.addSystemEventTrigger(phase, event, fn, ...args);
  }

  removeSystemEventTrigger(id: ITriggerId): void {
    this.core.removeSystemEventTrigger(id);
  }

  private runningChanged(running: boolean): void {
    // Re-arm for the new state: ref'd while running, unref'd after.
    if (this.armedAt !== Infinity && !this.inPass) this.arm(this.armedAt);
    if (!running) this.removeSignalHandlers();
  }

  private installSignalHandlers(): void {
    if (this.signalHandler !== undefined) return;
    let signalled = false;
    this.signalHandler = (signal) => {
      if (!signalled) {
        signalled = true;
        this.log.info(`received ${signal}, shutting down`);
        this.stop(); // while still starting, stop() waits for startup to finish
        return;
      }
      // A second signal while shutting down: stop waiting and let the signal do
      // what it does without us (terminate the process).
      this.removeSignalHandlers();
      process.kill(process.pid, signal);
    };
    for (const s of SIGNALS) process.on(s, this.signalHandler);
  }

  private removeSignalHandlers(): void {
    if (this.signalHandler === undefined) return;
    for (const s of SIGNALS) process.removeListener(s, this.signalHandler);
    this.signalHandler = undefined;
  }

  // ------------------------------------------------------------------ TCP

  listenTCP(port: number, factory: IProtocolFactory, options?: ListenOptions): Deferred<IListeningPort> {
    return listenTCP(this, port, factory, options);
  }

  connectTCP(host: string, port: number, factory: IClientFactory, options?: ConnectOptions): IConnector {
    return connectTCP(this, host, port, factory, options);
  }

  // ------------------------------------------------------------------ TLS and Unix sockets

  /** See `IReactorTLS.listenTLS`; the port also counts its handshakes (`handshakes`). */
  listenTLS(port: number, factory: IProtocolFactory, options: TLSListenOptions): Deferred<TLSListeningPort> {
    return listenTLS(this, port, factory, options);
  }

  connectTLS(host: string, port: number, factory: IClientFactory, options?: TLSConnectOptions): IConnector {
    return connectTLS(this, host, port, factory, options);
  }

  listenUNIX(path: string, factory: IProtocolFactory, options?: UNIXListenOptions): Deferred<IListeningPort> {
    return listenUNIX(this, path, factory, options);
  }

  connectUNIX(path: string, factory: IClientFactory, options?: ConnectOptions): IConnector {
    return connectUNIX(this, path, factory, options);
  }
}
