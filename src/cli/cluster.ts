/**
 * `--processes N`: the primary forks N workers with node:cluster; each worker
 * runs the ordinary one-process server (its own reactor) on the shared port.
 * The primary serves nothing: it prints the listening line once every worker
 * listens, reports a worker's fatal error at start-up as the command's one
 * error line, replaces a worker that dies later (bounded per minute, logged),
 * replaces them all one by one on SIGHUP (a reload of the app's code), and
 * on SIGINT/SIGTERM tells the workers to stop and waits (bounded).
 *
 * Messages over the IPC channel (worker -> primary):
 *   { type: 'listening', host, port }  the worker's server is up
 *   { type: 'fatal', message, exitCode } the worker could not start
 * and (primary -> worker) { type: 'shutdown' } (stop), { type: 'retire' } (stop,
 * serving what comes on open connections with Connection: close: a reload).
 */
import cluster from 'node:cluster';
import type { IAddress } from '../reactor/interfaces.js';
import type { ServeOptions } from './args.js';
import { EXIT_FORCED, EXIT_INTERNAL, EXIT_OK } from './errors.js';
import { SHUTDOWN_GRACE_SECONDS, signalTracker } from './shutdown.js';
import { urlOf } from './serve.js';
import { Logger } from '../reactor/log.js';

/** Set in a worker's environment so it serves instead of forking again. */
export const WORKER_ENV = 'SPINDLE_CLUSTER_WORKER';
/** How long the primary waits for workers after the grace period before killing them. */
export const WORKER_EXIT_MARGIN_SECONDS = 0.7;

export type WorkerMessage =
  | { type: 'listening'; host: string; port: number; urls?: string[] }
  | { type: 'fatal'; message: string; exitCode: number };

export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1';
}

/** In a worker: tell the primary something (no-op outside a cluster); `sent` runs once it is out. */
export function tellPrimary(message: WorkerMessage, sent?: () => void): void {
  if (isClusterWorker() && process.send) process.send(message, undefined, {}, () => sent?.());
  else sent?.();
}

export interface PrimaryIO {
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): void;
}

/** What the primary uses of a worker (node:cluster's `Worker`; a test passes its own). */
export interface PrimaryWorker {
  readonly id: number;
  readonly process: { readonly pid?: number | undefined; kill(signal?: NodeJS.Signals): boolean };
  on(event: 'message', listener: (message: WorkerMessage) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal: string | null) => void): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
  send(
    message: { type: 'shutdown' | 'retire' },
    handle: undefined,
    options: undefined,
    callback: (error: Error | null) => void,
  ): unknown;
  isConnected(): boolean;
  isDead(): boolean;
}

/** Where the primary's workers and signals come from: node:cluster and the process, or a test's. */
export interface PrimaryHost {
  fork(env: Record<string, string>): PrimaryWorker;
  onSignal(name: 'SIGINT' | 'SIGTERM' | 'SIGHUP', listener: () => void): void;
}

/**
 * The real host. Workers re-run this same command (same script, same execArgv
 * such as `--import tsx`); the environment variable makes them serve. A reload
 * forks new workers the same way, so they import the app's code afresh.
 */
export function clusterHost(): PrimaryHost {
  cluster.setupPrimary({ args: process.argv.slice(2) });
  return {
    fork: (env) => cluster.fork(env),
    onSignal: (name, listener) => void process.on(name, listener),
  };
}

/** Most dead workers replaced within `WORKER_RESTART_WINDOW_SECONDS`; one more and the group stops. */
export const WORKER_RESTARTS_PER_MINUTE = 10;
/** The window the restart bound counts in. */
export const WORKER_RESTART_WINDOW_SECONDS = 60;

/**
 * The bound on replacing dead workers: at most `limit` within any `window`
 * seconds (a sliding window over the times of the last replacements).
 */
export class RestartBudget {
  private readonly times: number[] = [];
  constructor(
    readonly limit = WORKER_RESTARTS_PER_MINUTE,
    readonly window = WORKER_RESTART_WINDOW_SECONDS,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Take one replacement; false (nothing taken) when `limit` were taken in the last `window` seconds. */
  take(): boolean {
    const t = this.now();
    while (this.times.length > 0 && this.times[0]! <= t - this.window) this.times.shift();
    if (this.times.length >= this.limit) return false;
    this.times.push(t);
    return true;
  }

  /** Replacements taken within the current window. */
  get used(): number {
    return this.times.length;
  }
}

type WorkerState = 'starting' | 'serving' | 'retiring';

interface Member {
  worker: PrimaryWorker;
  state: WorkerState;
  /** The worker said why it could not start. */
  fatal: { message: string; exitCode: number } | undefined;
}

/**
 * Run the primary: fork, report, forward the stop, replace a worker that dies
 * (at most `WORKER_RESTARTS_PER_MINUTE`), and on SIGHUP replace the workers
 * one by one (each new one listens before the old one is retired, so the
 * shared port always has a worker: no connection is refused). Never returns
 * normally.
 */
export function runPrimary(
  options: ServeOptions,
  io: PrimaryIO,
  budget = new RestartBudget(),
  host: PrimaryHost = clusterHost(),
): void {
  const count = options.processes ?? 1;
  const log = new Logger('spindle.cluster');
  const members = new Map<number, Member>();
  let stopping = false;
  let failed: { message: string; exitCode: number } | undefined;
  let printed = false;
  /** A SIGHUP reload: the old workers still to replace, and the pair being swapped now. */
  let reload: { queue: PrimaryWorker[]; fresh: PrimaryWorker | undefined; old: PrimaryWorker | undefined } | undefined;

  const send = (w: PrimaryWorker, message: { type: 'shutdown' | 'retire' }): void => {
    // A closed channel means the worker is on its way out (its exit is handled
    // when seen). A send on it, or one whose write fails, is an 'error' event on
    // the worker, which would end the primary (exit 1) unless a callback takes it.
    if (w.isDead() || !w.isConnected()) return;
    w.send(message, undefined, undefined, () => {});
  };
  /** A worker told to go that has not exited by the end of the grace is killed. */
  const bound = (w: PrimaryWorker): void => {
    setTimeout(
      () => {
        if (!w.isDead()) w.process.kill('SIGKILL');
      },
      (SHUTDOWN_GRACE_SECONDS + WORKER_EXIT_MARGIN_SECONDS) * 1000,
    ).unref();
  };

  const stopAll = (): void => {
    stopping = true;
    reload = undefined;
    for (const m of members.values()) {
      send(m.worker, { type: 'shutdown' });
      bound(m.worker);
    }
  };

  const finishIfDone = (): void => {
    if (!stopping || members.size > 0) return;
    if (failed) io.stderr(`spindle: ${failed.message}\n`);
    io.exit(failed ? failed.exitCode : EXIT_OK);
  };

  const nextSwap = (): void => {
    if (reload === undefined || stopping) return;
    let old = reload.queue.shift();
    while (old !== undefined && (old.isDead() || !members.has(old.id))) old = reload.queue.shift();
    if (old === undefined) {
      reload = undefined;
      log.info('reload done: every worker was replaced');
      return;
    }
    reload.old = old;
    reload.fresh = fork();
  };

  const onListening = (member: Member, message: Extract<WorkerMessage, { type: 'listening' }>): void => {
    member.state = 'serving';
    if (!printed) {
      const serving = [...members.values()].filter((m) => m.state === 'serving').length;
      if (serving === count) {
        printed = true;
        const address: IAddress = { host: message.host, port: message.port };
        for (const url of message.urls ?? [urlOf(address)]) io.stdout(`listening on ${url}\n`);
      }
      return;
    }
    if (reload !== undefined && reload.fresh === member.worker) {
      const old = reload.old;
      if (old !== undefined && members.has(old.id)) {
        members.get(old.id)!.state = 'retiring';
        send(old, { type: 'retire' });
        bound(old);
        log.info(
          `worker ${member.worker.process.pid} serves; worker ${old.process.pid} is retiring (it finishes what it has)`,
        );
      }
      nextSwap();
    } else {
      log.info(`worker ${member.worker.process.pid} serves`);
    }
  };

  const onExit = (member: Member, code: number | null, signal: string | null): void => {
    members.delete(member.worker.id);
    const pid = member.worker.process.pid;
    if (stopping) return finishIfDone();
    if (member.state === 'retiring') return void log.info(`worker ${pid} retired`);
    if (reload !== undefined && reload.fresh === member.worker) {
      // The new code does not start: keep the old workers, say why.
      log.error(
        `reload stopped: a new worker could not start (${member.fatal?.message ?? `exited with ${signal ?? `code ${code}`}`}); the old workers keep serving`,
      );
      reload = undefined;
      return;
    }
    if (!printed && member.fatal !== undefined) {
      // The app cannot load or the port cannot be had: a restart would fail the same way.
      failed = member.fatal;
      stopAll();
      return finishIfDone();
    }
    const why = member.fatal?.message ?? signal ?? `code ${code}`;
    if (!budget.take()) {
      failed = {
        message: `worker ${pid} exited unexpectedly (${why}), after ${budget.used} replacements within ${budget.window} s (the bound); stopping`,
        exitCode: EXIT_INTERNAL,
      };
      stopAll();
      return finishIfDone();
    }
    log.warn(
      `worker ${pid} exited unexpectedly (${why}); starting a replacement (${budget.used} of ${budget.limit} allowed in ${budget.window} s)`,
    );
    fork();
  };

  function fork(): PrimaryWorker {
    const worker = host.fork({ [WORKER_ENV]: '1' });
    const member: Member = { worker, state: 'starting', fatal: undefined };
    members.set(worker.id, member);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'listening') onListening(member, message);
      else if (message.type === 'fatal') member.fatal ??= { message: message.message, exitCode: message.exitCode };
    });
    // The exit can be seen before the worker's last messages are read (its
    // 'fatal' among them): they are all in once its channel has closed.
    worker.on('exit', (code, signal) => {
      if (worker.isConnected()) worker.once('disconnect', () => onExit(member, code, signal));
      else onExit(member, code, signal);
    });
    return worker;
  }

  const signalled = signalTracker();
  const onSignal = (): void => {
    const action = signalled();
    if (action === 'force') {
      for (const m of members.values()) if (!m.worker.isDead()) m.worker.process.kill('SIGKILL');
      io.exit(EXIT_FORCED);
      return;
    }
    if (action === 'ignore' || stopping) return;
    stopAll();
  };
  host.onSignal('SIGINT', onSignal);
  host.onSignal('SIGTERM', onSignal);
  host.onSignal('SIGHUP', () => {
    if (stopping) return;
    if (!printed) return void log.warn('SIGHUP before every worker listens: ignored');
    if (reload !== undefined) return void log.warn('SIGHUP during a reload: ignored (the reload goes on)');
    const old = [...members.values()].filter((m) => m.state !== 'retiring').map((m) => m.worker);
    log.info(`SIGHUP: replacing ${old.length} worker(s) one by one`);
    reload = { queue: old, fresh: undefined, old: undefined };
    nextSwap();
  });

  for (let i = 0; i < count; i++) fork();
}
