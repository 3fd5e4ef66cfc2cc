/**
 * The `spindle` command. `main(argv)` parses, loads, serves and owns the
 * process: exit codes, signals and the one-line errors (src/cli/errors.ts).
 *
 *     npx tsx src/cli.ts serve examples/demo/app.ts:app --style cps --port 8080
 *     node --import tsx src/cli.ts serve /abs/app.mjs:app --style iter --port 0
 *     spindle serve ./dist/app.js --style fetch        (installed: bin/spindle.js)
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultTextObserver, globalLogPublisher, jsonObserver, Logger } from './reactor/log.js';
import { getReactor } from './reactor/shared.js';
import { parseArgs, type LogFormat, type ServeOptions } from './cli/args.js';
import { CliError, EXIT_FORCED, EXIT_INTERNAL, EXIT_OK } from './cli/errors.js';
import { MAIN_HELP, SERVE_HELP, readVersion } from './cli/help.js';
import { loadApp } from './cli/load.js';
import { accessSink } from './cli/accesslog.js';
import { startServer } from './cli/serve.js';
import { isClusterWorker, runPrimary, tellPrimary } from './cli/cluster.js';
import { SHUTDOWN_GRACE_SECONDS, signalTracker } from './cli/shutdown.js';

/** Seconds after the signal by which the process exits, whatever is still running. */
export const HARD_EXIT_SECONDS = 4;
/** Seconds `reactor.stop()` may take after the drain. */
const REACTOR_STOP_SECONDS = 0.5;

const log = new Logger('spindle.cli');

function exit(code: number): never {
  process.exit(code);
}

/** Report an error as the command's one stderr line (or to the primary) and exit. */
function fail(err: unknown): void {
  const known = err instanceof CliError;
  const message = known ? err.message : `unexpected error: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
  const exitCode = known ? err.exitCode : EXIT_INTERNAL;
  if (!known && process.env.SPINDLE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  // A worker's message must be out before it exits, or the primary never learns why.
  if (isClusterWorker()) tellPrimary({ type: 'fatal', message, exitCode }, () => exit(exitCode));
  else {
    process.stderr.write(`spindle: ${message}\n`);
    exit(exitCode);
  }
}

function useLogFormat(format: LogFormat): void {
  if (format === 'json') {
    globalLogPublisher.removeObserver(defaultTextObserver);
    globalLogPublisher.addObserver(jsonObserver((line) => void process.stderr.write(line)));
  }
}

async function serve(options: ServeOptions): Promise<void> {
  useLogFormat(options.logFormat);
  const reactor = getReactor();
  reactor.run();
  const loaded = await loadApp(options);
  const sink = options.accessLog !== undefined ? accessSink(options.accessLog) : undefined;
  const server = await startServer(loaded, options, { reactor, ...(sink ? { accessLine: sink.write } : {}) });
  if (isClusterWorker())
    tellPrimary({ type: 'listening', host: server.address.host, port: server.address.port, urls: server.urls });
  else for (const url of server.urls) process.stdout.write(`listening on ${url}\n`);

  let stopping = false;
  const stop = async (mode: 'stop' | 'retire' = 'stop'): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Whatever happens below, the process is gone within the contract's 5 s.
    setTimeout(() => exit(EXIT_OK), HARD_EXIT_SECONDS * 1000).unref();
    const result = await server.drain(mode);
    if (!result.drained)
      log.warn(
        `${result.left} response(s) still running ${SHUTDOWN_GRACE_SECONDS}s after the stop signal; closing them`,
      );
    await Promise.race([
      Promise.resolve(reactor.stop()),
      new Promise((done) => setTimeout(done, REACTOR_STOP_SECONDS * 1000).unref()),
    ]);
    await sink?.close();
    exit(EXIT_OK);
  };
  const signalled = signalTracker();
  const onSignal = (): void => {
    const action = signalled();
    if (action === 'force') exit(EXIT_FORCED);
    if (action === 'stop') void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (isClusterWorker()) {
    // The primary asks by message (a signal would count twice after a terminal's
    // Ctrl-C, which reaches every process in the group); a lost primary means stop too.
    process.on('message', (message: { type?: string }) => {
      if (message?.type === 'shutdown') void stop();
      // Replaced by a new worker (SIGHUP reload): serve what comes on open connections, closing each.
      if (message?.type === 'retire') void stop('retire');
    });
    // A terminal's hangup reaches the whole group; the primary decides (it reloads).
    process.on('SIGHUP', () => {});
    process.on('disconnect', () => void stop());
  }
}

/** Run the command with `argv` (the arguments after `spindle`). */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    const command = parseArgs(argv);
    if (command.kind === 'help') {
      process.stdout.write(command.topic === 'serve' ? SERVE_HELP : MAIN_HELP);
      return;
    }
    if (command.kind === 'version') {
      process.stdout.write(`spindle ${readVersion()}\n`);
      return;
    }
    const { options } = command;
    if (options.processes !== undefined && options.processes > 1 && !isClusterWorker()) {
      useLogFormat(options.logFormat);
      runPrimary(options, {
        stdout: (t) => void process.stdout.write(t),
        stderr: (t) => void process.stderr.write(t),
        exit,
      });
      return;
    }
    await serve(options);
  } catch (err) {
    fail(err);
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main(process.argv.slice(2));
