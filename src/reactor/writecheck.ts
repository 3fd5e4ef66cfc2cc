/**
 * The one check every spindle transport makes on `write`: data on the wire is
 * `Uint8Array` (a Node `Buffer` is one). A string is refused rather than
 * guessed at, because its encoding is the caller's decision.
 */
export function checkWritable(data: unknown, where: string): asserts data is Uint8Array {
  if (data instanceof Uint8Array) return;
  const what =
    typeof data === 'string'
      ? 'a string'
      : data === null
        ? 'null'
        : typeof data === 'object'
          ? `a ${(data as object).constructor?.name ?? 'object'}`
          : `a ${typeof data}`;
  const hint = typeof data === 'string' ? '; encode it first, e.g. new TextEncoder().encode(text)' : '';
  const err = new TypeError(`${where} expects a Uint8Array, got ${what}${hint}`) as TypeError & { code: string };
  err.code = 'ERR_INVALID_ARG_TYPE';
  throw err;
}
