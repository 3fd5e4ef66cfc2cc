/**
 * Errors of the `spindle` command. Each carries the process exit code it ends
 * with, so `main()` turns any of them into ONE line on stderr and that code.
 * The codes are part of the command's contract (docs/cli.md lists them).
 */
import { SpindleError } from '../reactor/errors.js';

/** Clean exit, including a graceful stop after SIGINT/SIGTERM. */
export const EXIT_OK = 0;
/** An unexpected error (a bug, or the app failed in a way spindle could not name). */
export const EXIT_INTERNAL = 1;
/** Bad command line: unknown option, missing or malformed value. */
export const EXIT_USAGE = 2;
/** The app could not be loaded: missing module, missing export, import failed, unknown style. */
export const EXIT_APP = 3;
/** The server could not listen: port in use, permission denied, unknown host. */
export const EXIT_LISTEN = 4;
/** A second SIGINT/SIGTERM arrived during a graceful stop: in-flight responses were cut. */
export const EXIT_FORCED = 5;

export class CliError extends SpindleError {
  readonly exitCode: number;
  constructor(code: string, exitCode: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/** The command line was malformed. The message names the argument and the fix. */
export class UsageError extends CliError {
  constructor(message: string) {
    super('ERR_CLI_USAGE', EXIT_USAGE, `${message}; try 'spindle --help'`);
  }
}

/** MODULE could not be found, imported, or did not hold a usable app. */
export class AppLoadError extends CliError {
  constructor(
    code:
      | 'ERR_CLI_MODULE_NOT_FOUND'
      | 'ERR_CLI_IMPORT_FAILED'
      | 'ERR_CLI_EXPORT_NOT_FOUND'
      | 'ERR_CLI_NOT_AN_APP'
      | 'ERR_CLI_STYLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, EXIT_APP, message, options);
  }
}

/** The listening socket could not be opened. */
export class ListenError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CLI_LISTEN', EXIT_LISTEN, message, options);
  }
}
