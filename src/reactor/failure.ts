/**
 * `Failure`: what an errback receives. It wraps the thrown value (an `Error` or
 * anything else that was thrown) so that errbacks can ask what it is (`check`),
 * re-throw what they cannot handle (`trap`), and print it (`getTraceback`).
 *
 * `value` is always the original thrown value, never a copy: `await d` rejects
 * with `failure.value`, so user code sees the error it threw.
 */

import { ResponseDone } from './errors.js';

/** Any class a thrown value may be an instance of (`Error`, `TypeError`, a SpindleError, ...). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => unknown;

const FAILURE_BRAND = Symbol('spindle.Failure');

/**
 * True when `v` is a Failure. Hot paths use this instead of `instanceof`: it
 * does not depend on the class object's shape (tools such as esbuild's
 * keepNames redefine a class's `name`, which takes V8's fast instanceof away).
 */
export function isFailure(v: unknown): v is Failure {
  return typeof v === 'object' && v !== null && (v as { [FAILURE_BRAND]?: boolean })[FAILURE_BRAND] === true;
}

export class Failure {
  /** The thrown value, exactly as thrown. */
  readonly value: unknown;
  /** Stack of the value when it is an Error, else where the Failure was made. */
  private _stack: string | undefined;
  /** @internal Set when `then()` observed this failure: it no longer counts as unhandled. */
  _handled = false;

  /**
   * Wrap `value`. Wrapping a Failure gives a Failure with the same value. A
   * non-Error value gets a stack recorded here, so the log still says where.
   */
  constructor(value: unknown) {
    if (value instanceof Failure) {
      this.value = value.value;
      this._stack = value._stack;
      return;
    }
    this.value = value;
    this._stack = value instanceof Error ? undefined : captureStack();
  }

  /** `value` if it is already a Failure, else a new Failure wrapping it. */
  static from(value: unknown): Failure {
    return value instanceof Failure ? value : new Failure(value);
  }

  /** The class of the value (its constructor), or `undefined` for null/undefined/primitives without one. */
  get type(): Function | undefined {
    const v = this.value;
    return v === null || v === undefined ? undefined : (Object(v) as { constructor?: Function }).constructor;
  }

  /**
   * The first of `types` the value is an instance of (subclasses count), else
   * `null`. Twisted's `Failure.check`.
   */
  check<C extends ErrorClass>(...types: C[]): C | null {
    for (const t of types) {
      if (this.value instanceof t) return t;
    }
    return null;
  }

  /**
   * Return the matching class if the value is an instance of one of `types`;
   * otherwise throw the ORIGINAL value, so the next errback sees the same error.
   * Typical use: `d.addErrback((f) => { f.trap(CancelledError); return null; })`.
   */
  trap<C extends ErrorClass>(...types: C[]): C {
    const match = this.check(...types);
    if (match === null) throw this.value;
    return match;
  }

  /** Throw the wrapped value (Twisted's `raiseException`). */
  raiseException(): never {
    throw this.value;
  }

  /**
   * Format the Error's stack now (V8 formats it lazily and, until then, keeps the
   * objects on the captured frames alive). Called for failures that are kept.
   */
  formatStack(): void {
    if (this._stack === undefined && this.value instanceof Error) this._stack = this.value.stack ?? '';
  }

  /** A one-line description: the error's message, or the value as a string. */
  getErrorMessage(): string {
    const v = this.value;
    if (v instanceof Error) return v.message;
    if (typeof v === 'string') return v;
    try {
      return JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  }

  /** The stack of the error (or, for a non-Error value, of where the Failure was made). */
  get stack(): string {
    const v = this.value;
    if (v instanceof Error) return v.stack ?? `${v.name}: ${v.message}`;
    return this._stack ?? '';
  }

  /**
   * A readable traceback: the error's own stack (which starts with
   * `Name: message`), followed by its `cause` chain if it has one.
   */
  getTraceback(): string {
    const v = this.value;
    if (!(v instanceof Error)) {
      const body = this.stack.split('\n').slice(1).join('\n');
      return `Failure (non-Error value ${typeName(v)}): ${this.getErrorMessage()}\n${body}`;
    }
    let text = this.stack;
    let cause: unknown = v.cause;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      text += `\nCaused by: ${cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause)}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    return text;
  }

  toString(): string {
    return `[Failure ${typeName(this.value)}: ${this.getErrorMessage()}]`;
  }
}

Object.defineProperty(Failure.prototype, FAILURE_BRAND, { value: true });

function captureStack(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, Failure);
  return holder.stack ?? '';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as { constructor?: { name?: string } }).constructor?.name ?? 'Object';
}

/**
 * `Failure(ResponseDone)`, the clean end of a body (`deliverBody`'s last call),
 * made without a stack trace: it is a signal, not an error, and capturing a
 * stack cost about 6 µs per body, a quarter of the Agent's CPU per keep-alive
 * request (its profile in BENCHMARKS.md). Every host's body end uses it.
 */
export function responseDone(): Failure {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new Failure(new ResponseDone());
  } finally {
    Error.stackTraceLimit = limit;
  }
}
