/**
 * Validators and conditional requests for a file (RFC 9110 §8.8, §13).
 *
 * The ETag is made from the file's size and modification time (to the
 * millisecond) and is used as a strong validator: a file rewritten within the
 * same millisecond with the same size would not be told apart, the usual
 * trade of servers that do not hash content. Last-Modified is the mtime in
 * whole seconds (an HTTP-date has no finer unit).
 */
import type { IHeaders } from '../../http/interfaces.js';

export interface Validators {
  etag: string;
  lastModified: string;
  /** mtime in whole seconds since the epoch. */
  mtimeSeconds: number;
}

export function validatorsOf(size: number, mtimeMs: number): Validators {
  const mtimeSeconds = Math.floor(mtimeMs / 1000);
  return {
    etag: `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`,
    lastModified: new Date(mtimeSeconds * 1000).toUTCString(),
    mtimeSeconds,
  };
}

/** Entity-tags of an If-None-Match list (or '*'), as sent. */
function tagList(value: string): string[] {
  const out: string[] = [];
  const re = /(?:W\/)?"[^"]*"|\*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[0]);
  return out;
}

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** An HTTP-date to seconds, or null when it does not parse. */
function httpDateSeconds(value: string): number | null {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/**
 * Should a GET/HEAD be answered 304? If-None-Match (weak comparison, §13.1.2)
 * decides when present; otherwise If-Modified-Since (§13.1.3): not modified
 * when the file's second is not after the date.
 */
export function notModified(headers: IHeaders, v: Validators): boolean {
  const inm = headers.get('if-none-match');
  if (inm !== undefined) {
    const tags = tagList(inm);
    return tags.includes('*') || tags.some((t) => opaque(t) === v.etag);
  }
  const ims = headers.get('if-modified-since');
  if (ims === undefined) return false;
  const since = httpDateSeconds(ims);
  return since !== null && v.mtimeSeconds <= since;
}

/**
 * If-Range (§13.1.5): send the ranges only if the validator still matches:
 * an entity-tag by strong comparison (a weak tag never matches), or a date
 * equal to Last-Modified. Absent: ranges apply.
 */
export function ifRangeMatches(headers: IHeaders, v: Validators): boolean {
  const value = headers.get('if-range');
  if (value === undefined) return true;
  if (value.startsWith('W/')) return false;
  if (value.startsWith('"')) return value === v.etag;
  return httpDateSeconds(value) === v.mtimeSeconds;
}
