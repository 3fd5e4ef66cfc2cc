/**
 * The compact encodings threadedIterApp puts in shared memory instead of
 * structured-cloning objects per request: a job (the app's module and
 * export, the request's plain environ entries) and a worker's response start
 * (status, headers, excInfo) and end. Length-prefixed, little-endian; strings
 * are UTF-8 except status and header names/values, which G10 makes latin-1.
 */
import { InvalidArgumentError } from '../reactor/errors.js';
import type { SerializedError } from '../reactor/threaderror.js';
import type { Environ } from './interfaces.js';
import { parseStatus } from './startresponse.js';

/** Record types in the job queue and the output rings. */
export const REC_JOB = 1;
export const REC_START = 2;
export const REC_BODY = 3;
export const REC_FLUSH = 4;
export const REC_END = 5;
/**
 * A whole response in one record: a start (its byte length as a u32, then as
 * REC_START's payload), the body, and a good end. A worker sends it for an
 * app that returned a list of small chunks (the reactor thread reads one
 * record, not three); anything else goes as START, BODY..., END.
 */
export const REC_WHOLE = 6;
/** Most bytes of a REC_WHOLE payload (start and body); a larger list's response goes as separate records. */
export const WHOLE_MAX = 16 * 1024;

/** Bytes each output ring holds beyond the body bound (`ringSize`): record headers and the response start. */
export const RING_SLACK = 4096;

/** Job flags. */
export const JOB_HAS_FLUSH = 1;
export const JOB_HAS_BODY = 2;

const V_STRING = 0;
const V_NUMBER = 1;
const V_TRUE = 2;
const V_FALSE = 3;
const V_NULL = 4;
const V_LIST = 5;
const V_STRING_REF = 6;
/** A frozen list, as JSON in the string table: the worker hands out one frozen array for it, as the host shared one. */
const V_LIST_REF = 7;
/** Set in a value's kind byte when its key is a string-table reference. */
const KEY_REF = 0x80;

/** Little-endian u32 at `at` (byte stores: Buffer.writeUInt32LE checks its arguments, which costs more here). */
export function putU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

/** A growable scratch buffer, reused by one thread for every encoding. */
export class Scratch {
  buf: Buffer = Buffer.allocUnsafe(4096);
  at = 0;

  reset(): void {
    this.at = 0;
  }
  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.at++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    putU32(this.buf, this.at, v);
    this.at += 4;
  }
  /** A UTF-8 string with its u32 byte length in front. */
  utf8(s: string): void {
    this.ensure(4 + 3 * s.length);
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4 + n;
  }
  /**
   * As utf8(), but a short ASCII string is copied by a loop here: a call into
   * Buffer.write costs more than the copy for the few bytes of most environ
   * values.
   */
  str(s: string): void {
    const n = s.length;
    if (n > 64) return this.utf8(s);
    this.ensure(4 + 3 * n);
    const buf = this.buf;
    const at = this.at + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return this.utf8(s);
      buf[at + i] = c;
    }
    putU32(buf, this.at, n);
    this.at = at + n;
  }
  /**
   * A latin-1 string (one byte per character) with its u32 length in front;
   * a short one copied by a loop here (a status or a header name or value:
   * cheaper than a call into Buffer.write for a few bytes).
   */
  latin1(s: string): void {
    const n = s.length;
    this.ensure(4 + n);
    const buf = this.buf;
    putU32(buf, this.at, n);
    if (n > 64) buf.write(s, this.at + 4, 'latin1');
    else for (let i = 0, at = this.at + 4; i < n; i++) buf[at + i] = s.charCodeAt(i);
    this.at += 4 + n;
  }
  /** What was written so far (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** Reads what Scratch wrote. */
export class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    return this.buf[this.at++]!;
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    const b = this.buf;
    const at = this.at;
    this.at = at + 4;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
  }
  utf8(): string {
    const n = this.u32();
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  latin1(): string {
    const n = this.u32();
    const s = this.buf.toString('latin1', this.at, this.at + n);
    this.at += n;
    return s;
  }
}

/**
 * Most bytes of the string table a pool's dispatcher shares with its workers:
 * environ keys and values that repeat (REQUEST_METHOD, HTTP_HOST, a path
 * asked twice in a row, ...) go there once and travel as a 4-byte reference,
 * which the worker turns back into the one string it keeps (no decoding, no
 * garbage per request). Once full, strings travel inline as before.
 */
export const STRING_TABLE_SIZE = 64 * 1024;
/** Longest string the table takes. */
const STRING_TABLE_MAX = 256;
const TABLE_USED = 0;
const TABLE_DATA = 4;

/** The reactor thread's side of the string table: it alone appends. */
export class StringTableWriter {
  readonly buffer = new SharedArrayBuffer(STRING_TABLE_SIZE);
  private readonly used = new Int32Array(this.buffer, 0, 1);
  private readonly bytes = Buffer.from(this.buffer);
  private readonly ids = new Map<string, number>();
  private at = TABLE_DATA;

  /** The string's reference (its offset), adding it if it fits; 0 when it does not. */
  id(s: string): number {
    const known = this.ids.get(s);
    if (known !== undefined) return known;
    if (s.length > STRING_TABLE_MAX || this.at + 2 + 3 * s.length > STRING_TABLE_SIZE) return 0;
    const id = this.at;
    const n = this.bytes.write(s, id + 2, 'utf8');
    this.bytes.writeUInt16LE(n, id);
    this.at += 2 + n;
    // Published with the job record that first refers to it (the queue's Atomics store follows).
    Atomics.store(this.used, TABLE_USED, this.at);
    this.ids.set(s, id);
    return id;
  }
}

/** A worker's side of the string table: each string decoded once, then the same string every time. */
export class StringTableReader {
  private readonly bytes: Buffer;
  private readonly strings = new Map<number, string>();
  private readonly lists = new Map<number, readonly unknown[]>();
  constructor(buffer: SharedArrayBuffer) {
    this.bytes = Buffer.from(buffer);
  }
  get(id: number): string {
    let s = this.strings.get(id);
    if (s === undefined) {
      const n = this.bytes.readUInt16LE(id);
      s = this.bytes.toString('utf8', id + 2, id + 2 + n);
      this.strings.set(id, s);
    }
    return s;
  }
  /** The frozen list whose JSON is string `id` (one array per id, frozen as the host's was). */
  list(id: number): readonly unknown[] {
    let l = this.lists.get(id);
    if (l === undefined) this.lists.set(id, (l = Object.freeze(JSON.parse(this.get(id)) as unknown[])));
    return l;
  }
}

export interface JobSpec {
  cancelSlot: number;
  flags: number;
  /** Most output bytes (record headers included) this job may have in the worker's ring. */
  ringLimit: number;
  appUrl: string;
  exportName: string;
  /** The host environ's plain-data entries (CGI variables, HTTP_*, wsgi.version, ...). */
  environ: Record<string, unknown>;
}

/** What the encoder knows about one environ key. */
interface KeyEntry {
  readonly key: string;
  /** The key's string-table reference; 0: not in the table (written inline, its values never by reference). */
  readonly ref: number;
  /** The key's last string value, or the last frozen list (by identity). */
  last: unknown;
  /** The table reference of `last` (a string seen twice in a row, or a frozen list's JSON); 0: none yet. */
  lastRef: number;
}

/** Positions of the last environ's keys remembered in order (an environ with more keys looks the rest up). */
const ORDER_MAX = 128;

/**
 * Encodes jobs on the reactor thread: the environ's plain entries (strings,
 * numbers, booleans, null, lists of numbers/strings); functions and objects
 * stay on this thread. Every environ of a host has the same keys in the same
 * order, so the encoder keeps what it knows per key in that order and finds
 * it with one comparison of the (internalized) key, not a hash lookup: the
 * key's string-table reference, and its last value, which goes by reference
 * once seen twice in a row (a value that repeats is likely to come again).
 * A frozen list (the gateway's shared `wsgi.version`) is turned into JSON
 * once. Only keys in the table are remembered, so the memory for it is
 * bounded by the table's.
 */
export class JobEncoder {
  readonly scratch = new Scratch();
  private readonly byKey = new Map<string, KeyEntry>();
  private readonly order: KeyEntry[] = [];

  constructor(readonly table: StringTableWriter) {}

  encode(
    cancelSlot: number,
    flags: number,
    ringLimit: number,
    appUrl: string,
    exportName: string,
    environ: Environ,
  ): Buffer {
    const s = this.scratch;
    s.reset();
    s.u32(cancelSlot);
    s.u32(flags);
    s.u32(ringLimit);
    this.name(appUrl);
    this.name(exportName);
    let i = 0;
    for (const k in environ) {
      const v = (environ as Record<string, unknown>)[k];
      const t = typeof v;
      if (t === 'function' || (t === 'object' && v !== null && !Array.isArray(v))) continue;
      let e = i < ORDER_MAX ? this.order[i] : undefined;
      if (e === undefined || e.key !== k) {
        e = this.entry(k);
        if (i < ORDER_MAX) this.order[i] = e;
      }
      i++;
      if (t === 'string') {
        const str = v as string;
        let ref = 0;
        if (e.ref !== 0 && str.length <= STRING_TABLE_MAX) {
          if (e.last === str) ref = e.lastRef !== 0 ? e.lastRef : (e.lastRef = this.table.id(str));
          else {
            e.last = str;
            e.lastRef = 0;
          }
        }
        this.key(e, ref !== 0 ? V_STRING_REF : V_STRING);
        if (ref !== 0) s.u32(ref);
        else s.str(str);
      } else if (t === 'number') {
        this.key(e, V_NUMBER);
        s.ensure(8);
        s.buf.writeDoubleLE(v as number, s.at);
        s.at += 8;
      } else if (t === 'boolean' || v === null) {
        this.key(e, v === null ? V_NULL : v ? V_TRUE : V_FALSE);
      } else if (t === 'object') {
        this.list(e, v as unknown[]);
      }
    }
    return s.view();
  }

  /** The app's module URL or export name: by reference (the worker gets the same string every time). */
  private name(n: string): void {
    const ref = this.table.id(n);
    this.scratch.u32(ref);
    if (ref === 0) this.scratch.str(n);
  }

  private entry(k: string): KeyEntry {
    const known = this.byKey.get(k);
    if (known !== undefined) return known;
    const e: KeyEntry = { key: k, ref: this.table.id(k), last: undefined, lastRef: 0 };
    if (e.ref !== 0) this.byKey.set(k, e);
    return e;
  }

  /** The value's kind and its key: by reference (KEY_REF set) when the table has it. */
  private key(e: KeyEntry, kind: number): void {
    const s = this.scratch;
    if (e.ref !== 0) {
      s.u8(kind | KEY_REF);
      s.u32(e.ref);
    } else {
      s.u8(kind);
      s.str(e.key);
    }
  }

  /** A list of numbers/strings as JSON: a frozen one seen again goes by reference (the worker parses it once). */
  private list(e: KeyEntry, v: unknown[]): void {
    if (e.ref !== 0 && e.last === v && e.lastRef !== 0) {
      this.key(e, V_LIST_REF);
      this.scratch.u32(e.lastRef);
      return;
    }
    if (!v.every((x) => typeof x === 'number' || typeof x === 'string')) return;
    const json = JSON.stringify(v);
    if (e.ref !== 0 && Object.isFrozen(v) && json.length <= STRING_TABLE_MAX) {
      const ref = this.table.id(json);
      if (ref !== 0) {
        e.last = v;
        e.lastRef = ref;
        this.key(e, V_LIST_REF);
        this.scratch.u32(ref);
        return;
      }
    }
    this.key(e, V_LIST);
    this.scratch.str(json);
  }
}

/** A name written by JobEncoder.name: a table reference, or 0 and the string. */
function readName(r: Reader, table: StringTableReader): string {
  const ref = r.u32();
  return ref !== 0 ? table.get(ref) : r.utf8();
}

export function decodeJob(buf: Buffer, length: number, table: StringTableReader): JobSpec {
  const r = new Reader(buf);
  const cancelSlot = r.u32();
  const flags = r.u32();
  const ringLimit = r.u32();
  const appUrl = readName(r, table);
  const exportName = readName(r, table);
  const environ: Record<string, unknown> = {};
  while (r.at < length) {
    const tag = r.u8();
    const key = tag & KEY_REF ? table.get(r.u32()) : r.utf8();
    let value: unknown;
    switch (tag & ~KEY_REF) {
      case V_STRING:
        value = r.utf8();
        break;
      case V_STRING_REF:
        value = table.get(r.u32());
        break;
      case V_NUMBER:
        value = buf.readDoubleLE(r.at);
        r.at += 8;
        break;
      case V_TRUE:
        value = true;
        break;
      case V_FALSE:
        value = false;
        break;
      case V_NULL:
        value = null;
        break;
      case V_LIST:
        value = JSON.parse(r.utf8());
        break;
      case V_LIST_REF:
        value = table.list(r.u32());
        break;
      default:
        throw new InvalidArgumentError(`threadedIterApp: a job record holds an unknown value kind ${tag}`);
    }
    // An own entry whatever its name ('__proto__' assigned would set the prototype instead).
    if (key === '__proto__')
      Object.defineProperty(environ, key, { value, enumerable: true, writable: true, configurable: true });
    else environ[key] = value;
  }
  return { cancelSlot, flags, ringLimit, appUrl, exportName, environ };
}

/** The worker's (already checked) startResponse arguments, appended to what `s` holds. */
export function encodeStart(s: Scratch, status: string, headers: [string, string][], excInfo?: SerializedError): void {
  s.latin1(status);
  s.u32(headers.length);
  for (const [name, value] of headers) {
    s.latin1(name);
    s.latin1(value);
  }
  if (excInfo) s.utf8(JSON.stringify(excInfo));
}

export interface StartArgs {
  status: string;
  /** The status's code and reason (the worker checked it: G10). */
  code: number;
  reason: string;
  /** Header names and values, in order (frozen: one pair of lists may serve many responses). */
  names: readonly string[];
  values: readonly string[];
  excInfo: SerializedError | undefined;
}

/**
 * Decodes START payloads, remembering the last one: a worker app answers
 * many requests with the same status and headers, and those then cost a
 * byte comparison instead of new strings, and share one StartArgs (never
 * changed; `startPairs` gives each caller its own list).
 */
export class StartDecoder {
  private last: Buffer = Buffer.alloc(0);
  private lastArgs: StartArgs | null = null;

  /** The start of `length` bytes at `at` in `buf`. */
  decode(buf: Buffer, length: number, at = 0): StartArgs {
    let args = this.lastArgs;
    if (!args || length !== this.last.length || buf.compare(this.last, 0, length, at, at + length) !== 0) {
      args = this.lastArgs = decodeStart(buf.subarray(at, at + length));
      this.last = Buffer.from(buf.subarray(at, at + length));
    }
    return args;
  }
}

/** A start's headers as the [name, value] pairs startResponse takes (a new list: the host may keep it). */
export function startPairs(start: StartArgs): [string, string][] {
  const { names, values } = start;
  const pairs: [string, string][] = new Array(names.length);
  for (let i = 0; i < pairs.length; i++) pairs[i] = [names[i]!, values[i]!];
  return pairs;
}

export function decodeStart(buf: Buffer): StartArgs {
  const r = new Reader(buf);
  const status = r.latin1();
  const n = r.u32();
  const names: string[] = new Array(n);
  const values: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    names[i] = r.latin1();
    values[i] = r.latin1();
  }
  const excInfo = r.at < buf.length ? (JSON.parse(r.utf8()) as SerializedError) : undefined;
  const { code, reason } = parseStatus(status);
  return { status, code, reason, names: Object.freeze(names), values: Object.freeze(values), excInfo };
}

export const END_OK = 0;
export const END_ERROR = 1;
export const END_ABORTED = 2;

export function encodeEnd(s: Scratch, kind: number, error?: SerializedError): void {
  s.reset();
  s.u8(kind);
  if (error) s.utf8(JSON.stringify(error));
}

/** The END record's kind and, for END_ERROR, the error. */
export function decodeEnd(buf: Buffer, length: number): { kind: number; error: SerializedError | undefined } {
  const kind = buf[0]!;
  if (kind !== END_ERROR) return kind === END_OK ? ENDED_OK : { kind, error: undefined };
  const r = new Reader(buf.subarray(0, length));
  r.at = 1;
  return { kind, error: JSON.parse(r.utf8()) as SerializedError };
}

const ENDED_OK = Object.freeze({ kind: END_OK, error: undefined });
