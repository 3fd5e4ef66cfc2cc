/**
 * `--access-log`: one line per finished (or abandoned) response, in Common
 * Log Format plus the duration, or as one JSON object per line.
 *
 * The wrapper sits on the CPS side, where every style ends up (an iter app
 * goes through toCpsApp, a Fetch handler through fromFetchHandler), so one
 * implementation logs all three.
 */
import { createWriteStream, openSync } from 'node:fs';
import type { CpsApp, IRequest } from '../protocols/http/interfaces.js';
import { clfDate, clfQuote } from '../protocols/http/accesslog.js'; // the HTTP server's own CLF pieces
import { responseHasNoBody } from '../protocols/http/rules.js'; // HEAD, 1xx, 204, 205, 304: nothing on the wire
import type { LogFormat } from './args.js';
import { CliError, EXIT_USAGE } from './errors.js';

export interface AccessRecord {
  /** Wall-clock time the request arrived (for the log line only). */
  time: Date;
  remote: string;
  method: string;
  uri: string;
  version: string;
  status: number;
  /** Body bytes handed to the transport. */
  bytes: number;
  /** Seconds from arrival to the end of the response. */
  duration: number;
  /** False when the client went away before the response finished. */
  completed: boolean;
  userAgent: string | undefined;
  pid: number;
}

export function formatAccess(r: AccessRecord, format: LogFormat): string {
  if (format === 'json') {
    return `${JSON.stringify({
      time: r.time.toISOString(),
      remote: r.remote,
      method: r.method,
      uri: r.uri,
      version: r.version,
      status: r.status,
      bytes: r.bytes,
      duration_ms: Math.round(r.duration * 1e6) / 1e3,
      completed: r.completed,
      user_agent: r.userAgent ?? null,
      pid: r.pid,
    })}\n`;
  }
  const line = `${r.remote} - - [${clfDate(r.time)}] "${clfQuote(`${r.method} ${r.uri} ${r.version}`)}" ${r.status} ${r.bytes} ${r.duration.toFixed(3)}s`;
  return `${line}${r.completed ? '' : ' (client went away)'}\n`;
}

/**
 * Where access lines go: stdout for '-', else appended to the file. The file is
 * opened now, so a bad path is a start-up error, not a crash on the first request.
 */
export function accessSink(target: string): { write(line: string): void; close(): Promise<void> } {
  if (target === '-') return { write: (line) => void process.stdout.write(line), close: async () => undefined };
  let fd: number;
  try {
    fd = openSync(target, 'a');
  } catch (err) {
    throw new CliError(
      'ERR_CLI_ACCESS_LOG',
      EXIT_USAGE,
      `--access-log cannot open '${target}' for appending: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const stream = createWriteStream(target, { fd });
  return {
    write: (line) => void stream.write(line),
    close: () => new Promise<void>((done) => stream.end(done)),
  };
}

function byteLength(data: Uint8Array | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/**
 * Wrap `app` so each response is logged once it ends. Bytes are counted at
 * `request.write` (the app's writes and its producer's writes both go there).
 */
export function withAccessLog(
  app: CpsApp,
  write: (line: string) => void,
  format: LogFormat,
  now: () => Date = () => new Date(),
): CpsApp {
  return (request: IRequest) => {
    const started = request.reactor.seconds();
    const time = now();
    let bytes = 0;
    const originalWrite = request.write.bind(request);
    (request as { write: IRequest['write'] }).write = (data) => {
      bytes += byteLength(data);
      originalWrite(data);
    };
    const log = (completed: boolean): void => {
      write(
        formatAccess(
          {
            time,
            remote: request.client.host,
            method: request.method,
            uri: request.uri,
            version: request.version,
            status: request.code,
            bytes: responseHasNoBody(request.method, request.code) ? 0 : bytes,
            duration: request.reactor.seconds() - started,
            completed,
            userAgent: request.headers.get('user-agent'),
            pid: process.pid,
          },
          format,
        ),
      );
    };
    request.notifyFinish().addCallbacks(
      () => log(true),
      () => log(false),
    );
    return app(request);
  };
}
