/**
 * `--processes N`: the primary forks N workers with node:cluster; each worker
 * runs the ordinary one-process server (its own reactor) on the shared port.
 * The primary serves nothing: it prints the listening line once every worker
 * listens, reports the first worker's fatal error as the command's one error
 * line, and on SIGINT/SIGTERM tells the workers to stop and waits (bounded).
 *
 * Messages over the IPC channel (worker -> primary):
 *   { type: 'listening', host, port }  the worker's server is up
 *   { type: 'fatal', message, exitCode } the worker could not start
 * and (primary -> worker) { type: 'shutdown' }.
 */
import cluster, { type Worker } from 'node:cluster';
import type { IAddress } from '../reactor/interfaces.js';
import type { ServeOptions } from './args.js';
import { EXIT_FORCED, EXIT_INTERNAL, EXIT_OK } from './errors.js';
import { SHUTDOWN_GRACE_SECONDS, signalTracker } from './shutdown.js';
import { urlOf } from './serve.js';

/** Set in a worker's environment so it serves instead of forking again. */
export const WORKER_ENV = 'SPINDLE_CLUSTER_WORKER';
/** How long the primary waits for workers after the grace period before killing them. */
export const WORKER_EXIT_MARGIN_SECONDS = 0.7;

export type WorkerMessage = { type: 'listening'; host: string; port: number; urls?: string[] } | { type: 'fatal'; message: string; exitCode: number };

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

/** Run the primary: fork, report, forward the stop. Never returns normally. */
export function runPrimary(options: ServeOptions, io: PrimaryIO): void {
  const count = options.processes ?? 1;
  // Workers re-run this same command (same script, same execArgv such as
  // `--import tsx`); the environment variable makes them serve.
  cluster.setupPrimary({ args: process.argv.slice(2) });
  const workers: Worker[] = [];
  const listening = new Set<number>();
  let stopping = false;
  let failed: { message: string; exitCode: number } | undefined;
  let exited = 0;
  let printed = false;

  const finish = (code: number): void => {
    io.exit(code);
  };

  const stopAll = (): void => {
    for (const w of workers) {
      if (!w.isDead()) {
        try {
          w.send({ type: 'shutdown' });
        } catch {
          // The channel is already closed: the worker is on its way out.
        }
      }
    }
    // Bound: a worker that has not exited by then is killed.
    setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, (SHUTDOWN_GRACE_SECONDS + WORKER_EXIT_MARGIN_SECONDS) * 1000).unref();
  };

  const signalled = signalTracker();
  const onSignal = (): void => {
    const action = signalled();
    if (action === 'force') {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
      finish(EXIT_FORCED);
      return;
    }
    if (action === 'ignore' || stopping) return;
    stopping = true;
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  for (let i = 0; i < count; i++) {
    const worker = cluster.fork({ [WORKER_ENV]: '1' });
    workers.push(worker);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'listening') {
        listening.add(worker.id);
        if (!printed && listening.size === count) {
          printed = true;
          const address: IAddress = { host: message.host, port: message.port };
          for (const url of message.urls ?? [urlOf(address)]) io.stdout(`listening on ${url}\n`);
        }
      } else if (message.type === 'fatal' && failed === undefined) {
        failed = { message: message.message, exitCode: message.exitCode };
        if (!stopping) {
          stopping = true;
          stopAll();
        }
      }
    });
    worker.on('exit', (code, signal) => {
      exited++;
      if (!stopping) {
        // A worker died on its own while serving: stop the rest rather than run short-handed silently.
        failed ??= { message: `worker ${worker.process.pid} exited unexpectedly (${signal ?? `code ${code}`}); stopping`, exitCode: EXIT_INTERNAL };
        stopping = true;
        stopAll();
      }
      if (exited === count) {
        if (failed) io.stderr(`spindle: ${failed.message}\n`);
        finish(failed ? failed.exitCode : EXIT_OK);
      }
    });
  }
}
