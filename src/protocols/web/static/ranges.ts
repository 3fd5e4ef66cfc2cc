/**
 * `Range: bytes=...` (RFC 9110 §14.1.2, §14.2), pure: header text and the
 * representation's length in, the byte ranges to send out.
 *
 * - Only the `bytes` unit; any other unit, or a field that does not parse,
 *   is ignored (the whole representation is sent, §14.2 allows it).
 * - `first-last` (last clamped to the end), `first-` (to the end), `-suffix`
 *   (the last `suffix` bytes, the whole file when it is shorter).
 * - A range is satisfiable when its first byte exists: first-pos < length, or
 *   a non-zero suffix of a non-empty representation. None satisfiable → 416.
 *   (So every range on an empty file is unsatisfiable: no byte can be chosen.)
 * - Ranges that overlap are coalesced, sorted (§14.6 allows it); ranges that
 *   do not overlap keep the order they were asked in.
 * - More than `maxRanges` ranges: ignored, the whole representation is sent
 *   (a small-ranges flood costs a part header per range).
 */

/** Most ranges one request may ask for before the Range field is ignored. */
export const DEFAULT_MAX_RANGES = 32;

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeResult = { kind: 'ignore' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: ByteRange[] };

const DIGITS = /^[0-9]{1,15}$/;

/** Strip SP/HTAB only (RFC 9110 §5.6.3 OWS), never other whitespace. */
function ows(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}

export function parseRange(header: string, length: number, maxRanges = DEFAULT_MAX_RANGES): RangeResult {
  const eq = header.indexOf('=');
  if (eq < 0 || ows(header.slice(0, eq)).toLowerCase() !== 'bytes') return { kind: 'ignore' };
  const specs = header.slice(eq + 1).split(',');
  const wanted: ByteRange[] = [];
  let count = 0;
  for (const raw of specs) {
    const spec = ows(raw);
    if (spec === '') continue; // empty list elements are allowed (RFC 9110 §5.6.1)
    if (++count > maxRanges) return { kind: 'ignore' };
    const dash = spec.indexOf('-');
    if (dash < 0) return { kind: 'ignore' };
    const first = spec.slice(0, dash);
    const last = spec.slice(dash + 1);
    if (first === '') {
      if (!DIGITS.test(last)) return { kind: 'ignore' };
      const suffix = Number(last);
      if (suffix > 0 && length > 0) wanted.push({ start: Math.max(0, length - suffix), end: length - 1 });
      continue;
    }
    if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return { kind: 'ignore' };
    const start = Number(first);
    if (last !== '' && Number(last) < start) return { kind: 'ignore' }; // invalid: the whole field is ignored
    const end = last === '' ? length - 1 : Math.min(Number(last), length - 1);
    if (start < length) wanted.push({ start, end });
  }
  if (count === 0) return { kind: 'ignore' };
  if (wanted.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesce(wanted) };
}

/** Overlapping ranges become one, in ascending order; otherwise the order asked is kept. */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length < 2) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let overlap = false;
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start <= sorted[i - 1]!.end) overlap = true;
  if (!overlap) return ranges;
  const out: ByteRange[] = [{ ...sorted[0]! }];
  for (const r of sorted.slice(1)) {
    const lastOut = out[out.length - 1]!;
    if (r.start <= lastOut.end) lastOut.end = Math.max(lastOut.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
