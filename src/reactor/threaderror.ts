/**
 * Errors crossing a thread boundary. Structured clone keeps an Error's message
 * and stack but drops `code` and other own properties, and cannot clone some
 * thrown values at all; so errors travel as plain records and are rebuilt on
 * the other side with their name, message, code, stack and plain own fields.
 */

/** An error as it crosses between threads. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  /** Other own enumerable fields whose values are primitives. */
  props?: Record<string, string | number | boolean | null>;
  /** Set when the thrown value was not an Error (it is then `message`, stringified). */
  notAnError?: boolean;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) {
    return { name: 'Error', message: typeof err === 'string' ? err : safeString(err), notAnError: true };
  }
  const out: SerializedError = { name: err.name, message: err.message };
  if (err.stack !== undefined) out.stack = err.stack;
  const props: Record<string, string | number | boolean | null> = {};
  let any = false;
  for (const [k, v] of Object.entries(err)) {
    if (k === 'code') {
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out.code = v;
    } else if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
      props[k] = v as string | number | boolean | null;
      any = true;
    }
  }
  if (any) out.props = props;
  return out;
}

/** An `Error` carrying the serialized one's name, message, code, stack and plain fields. */
export function rebuildError(s: SerializedError): Error {
  const err = new Error(s.message) as Error & Record<string, unknown>;
  if (s.props) for (const [k, v] of Object.entries(s.props)) err[k] = v;
  if (s.code !== undefined) err.code = s.code;
  // `name` is an own property so that `err.name` and `String(err)` read as on the other side.
  Object.defineProperty(err, 'name', { value: s.name, writable: true, configurable: true, enumerable: false });
  if (s.stack !== undefined) err.stack = s.stack;
  return err;
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
