/** Ways to split a byte stream for protocol tests: at given cut points, and one byte at a time. */

/** Split `data` at the given cut points (taken modulo its length + 1, sorted, deduplicated). */
export function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.byteLength + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

export const oneByOne = (data: Uint8Array): Uint8Array[] => Array.from(data, (_b, i) => data.subarray(i, i + 1));
