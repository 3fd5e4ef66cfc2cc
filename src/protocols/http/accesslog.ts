/**
 * Access log lines in the Common Log Format:
 * `host ident authuser [10/Oct/2000:13:55:36 +0000] "GET /x HTTP/1.1" 200 2326`.
 */
import type { Request } from './request.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/** CLF timestamp (UTC) for whole wall-clock seconds. */
export function clfTime(wallSeconds: number): string {
  const d = new Date(wallSeconds * 1000);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** One CLF line for a finished response. Quotes and backslashes in the target are escaped. */
export function formatAccessLine(req: Request, wallSeconds: number): string {
  const line = `${req.method} ${req.uri} ${req.version}`.replace(/["\\]/g, (c) => `\\${c}`);
  return `${req.client.host} - - [${clfTime(wallSeconds)}] "${line}" ${req.code} ${req.bytesSent === 0 ? '-' : req.bytesSent}`;
}
