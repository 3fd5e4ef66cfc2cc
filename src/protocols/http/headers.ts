/**
 * `Headers`: the request's header fields as the parser read them, kept in
 * arrival order with the names as sent. Lookups are case-insensitive (RFC 9110
 * §5.1). Requests carry few fields, so a linear scan over lower-cased names
 * beats building a map per request.
 */
import type { IHeaders } from './interfaces.js';

export class Headers implements IHeaders {
  /** Flat list: name0, value0, name1, value1, ... (names as sent). */
  private readonly raw: string[];
  /** Lower-cased names, one per pair. */
  private readonly lower: string[];

  constructor(raw: string[] = [], lower?: string[]) {
    this.raw = raw;
    if (lower) this.lower = lower;
    else {
      this.lower = [];
      for (let i = 0; i < raw.length; i += 2) this.lower.push(raw[i]!.toLowerCase());
    }
  }

  /** Build from pairs (for tests and adapters). */
  static fromPairs(pairs: Iterable<readonly [string, string]>): Headers {
    const raw: string[] = [];
    for (const [n, v] of pairs) raw.push(n, v);
    return new Headers(raw);
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    let out: string | undefined;
    for (let i = 0; i < this.lower.length; i++) {
      if (this.lower[i] === key) {
        const v = this.raw[2 * i + 1]!;
        out = out === undefined ? v : `${out}, ${v}`;
      }
    }
    return out;
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.lower.length; i++) if (this.lower[i] === key) out.push(this.raw[2 * i + 1]!);
    return out;
  }

  has(name: string): boolean {
    return this.lower.includes(name.toLowerCase());
  }

  /** Number of fields (a repeated name counts each time). */
  get size(): number {
    return this.lower.length;
  }

  /** The lower-cased name of field `i` (arrival order, `0 <= i < size`): read without building pairs. */
  lowerNameAt(i: number): string {
    return this.lower[i]!;
  }

  /** The value of field `i` (arrival order, `0 <= i < size`). */
  valueAt(i: number): string {
    return this.raw[2 * i + 1]!;
  }

  rawPairs(): ReadonlyArray<readonly [string, string]> {
    const out: Array<readonly [string, string]> = [];
    for (let i = 0; i < this.raw.length; i += 2) out.push([this.raw[i]!, this.raw[i + 1]!]);
    return out;
  }

  /** Pairs with lower-cased names, in arrival order. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (let i = 0; i < this.lower.length; i++) yield [this.lower[i]!, this.raw[2 * i + 1]!];
  }
}
