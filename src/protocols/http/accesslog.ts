/**
 * Access log lines in the Common Log Format:
 * `host ident authuser [10/Oct/2000:13:55:36 +0000] "GET /x HTTP/1.1" 200 2326`.
 *
 * `clfDate` and `clfQuote` are shared with the CLI's `--access-log` (which adds
 * the duration and a JSON form), so both logs write dates and quoted request
 * lines the same way.
 */
import type { Request } from './request.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `22/Nov/2026:02:30:00 +0000`, the Common Log Format date, in UTC. */
export function clfDate(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** CLF timestamp (UTC) for whole wall-clock seconds. */
function clfTime(wallSeconds: number): string {
  return clfDate(new Date(wallSeconds * 1000));
}

/**
 * Escape a field for inside a quoted CLF field: quotes and backslashes get a
 * backslash, control characters become `\xNN`, so what a client sends can
 * neither end the quoted field nor start a new log line.
 */
export function clfQuote(text: string): string {
  return text
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One CLF line for a finished response. The request line is escaped with `clfQuote`. */
export function formatAccessLine(req: Request, wallSeconds: number): string {
  return `${req.client.host} - - [${clfTime(wallSeconds)}] "${clfQuote(`${req.method} ${req.uri} ${req.version}`)}" ${req.code} ${req.bytesSent === 0 ? '-' : req.bytesSent}`;
}
