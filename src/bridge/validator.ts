/**
 * `validator(app)`: middleware that checks an iterator app and the gateway
 * hosting it against the contract (Python's wsgiref.validate, plus the async
 * checks it lacks: GATEWAY-RULES.md, "Validator checks").
 *
 * A violation is a `ValidationError` naming the rule. It is thrown where it is
 * detected — into the app (a bad startResponse call, a write after close) or
 * into the gateway (a next() while paused) — and also recorded in
 * `violations` and passed to `onViolation` (default: logged), because a
 * thrown error can be swallowed by the side that broke the rule.
 */
import { Logger } from '../reactor/log.js';
import { isNoContentStatus } from '../protocols/http/rules.js';
import { HopByHopHeaderError, ValidationError } from './errors.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse, WriteFn, WsgiInput } from './interfaces.js';
import { parseStatus, validateHeaders } from './startresponse.js';

export interface ValidatorOptions {
  /** Called for every violation (default: logged at 'error' on `spindle.validator`). */
  onViolation?: (err: ValidationError) => void;
}

export type ValidatedApp = IterApp & {
  /** Every violation seen so far, in order. */
  readonly violations: ValidationError[];
  /** Responses whose iterable has not been closed yet (G7: 0 once all responses ended). */
  readonly openResponses: number;
};

const log = new Logger('spindle.validator');

export function validator(app: IterApp, options: ValidatorOptions = {}): ValidatedApp {
  const violations: ValidationError[] = [];
  let open = 0;
  const report =
    options.onViolation ?? ((err: ValidationError) => log.failure('WSGI contract violation', err, 'error'));
  const violate = (rule: string, message: string): never => {
    const err = new ValidationError(rule, message);
    violations.push(err);
    report(err);
    throw err;
  };

  const wrapped = (environ: Environ, startResponse: StartResponse): AppIterable => {
    checkEnviron(environ, violate);
    const state = new ResponseState(violate, environ);
    const result = app(state.wrapEnviron(environ), state.wrapStartResponse(startResponse));
    if (typeof result === 'string')
      violate('app-result', 'the app returned a bare string; return an iterable of chunks, e.g. [body]');
    if (result instanceof Uint8Array)
      violate('app-result', 'the app returned a Uint8Array; return an iterable of chunks, e.g. [bytes]');
    const isAsync = result !== null && typeof result === 'object' && Symbol.asyncIterator in result;
    if (!isAsync && (result === null || typeof result !== 'object' || !(Symbol.iterator in result))) {
      violate(
        'app-result',
        `the app returned ${result === null ? 'null' : typeof result}, not an Iterable or AsyncIterable of chunks`,
      );
    }
    open++;
    return state.wrapIterable(result, isAsync, () => void open--);
  };
  return Object.defineProperties(wrapped, {
    violations: { value: violations, enumerable: true },
    openResponses: { get: () => open, enumerable: true },
  }) as ValidatedApp;
}

type Violate = (rule: string, message: string) => never;

/**
 * Environ keys present and typed (PEP 3333 "environ Variables"). PEP 3333 lets a
 * CGI variable be absent when its value would be '' — so SCRIPT_NAME, PATH_INFO,
 * QUERY_STRING, CONTENT_TYPE and CONTENT_LENGTH may be missing — except
 * REQUEST_METHOD, SERVER_NAME and SERVER_PORT, which are never empty and so are
 * always required. Deliberate differences from wsgiref.validate: docs/gateway.md.
 */
const ALWAYS_REQUIRED = ['REQUEST_METHOD', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL'] as const;
const WSGI_REQUIRED = [
  'wsgi.version',
  'wsgi.url_scheme',
  'wsgi.input',
  'wsgi.errors',
  'wsgi.multithread',
  'wsgi.multiprocess',
  'wsgi.run_once',
] as const;

function checkEnviron(e: Environ, violate: Violate): void {
  if (e === null || typeof e !== 'object') violate('environ', 'the environ is not an object');
  for (const k of ALWAYS_REQUIRED) {
    if (typeof e[k] !== 'string' || e[k] === '')
      violate(
        'environ',
        `environ['${k}'] must be a non-empty string (PEP 3333: it is never empty, so always present), got ${JSON.stringify(e[k]) ?? 'undefined'}`,
      );
  }
  for (const k of WSGI_REQUIRED) {
    if (!(k in e)) violate('environ', `environ['${k}'] is missing (PEP 3333 requires every wsgi.* key)`);
  }
  // PEP 3333: CGI variables (every key without a dot) are native strings; extensions carry a dot.
  for (const [k, val] of Object.entries(e)) {
    if (!k.includes('.') && typeof val !== 'string')
      violate(
        'environ',
        `environ['${k}'] must be a string (a CGI variable), got ${val === null ? 'null' : typeof val}`,
      );
  }
  const script = e.SCRIPT_NAME as string | undefined;
  const path = e.PATH_INFO as string | undefined;
  if (script !== undefined && script !== '' && (!script.startsWith('/') || script === '/'))
    violate('environ', `SCRIPT_NAME must be '' or start with '/' (and not be '/'), got ${JSON.stringify(script)}`);
  if (path !== undefined && path !== '' && !path.startsWith('/'))
    violate('environ', `PATH_INFO must be '' or start with '/', got ${JSON.stringify(path)}`);
  const length = e.CONTENT_LENGTH as string | undefined;
  if (length !== undefined && length !== '' && !/^[0-9]+$/.test(length))
    violate('environ', `CONTENT_LENGTH must be digits, '' or absent, got ${JSON.stringify(length)}`);
  const v = e['wsgi.version'];
  if (!Array.isArray(v) || v[0] !== 1 || v[1] !== 0)
    violate('environ', `wsgi.version must be [1, 0], got ${JSON.stringify(v)}`);
  if (e['wsgi.url_scheme'] !== 'http' && e['wsgi.url_scheme'] !== 'https')
    violate('environ', `wsgi.url_scheme must be 'http' or 'https', got ${String(e['wsgi.url_scheme'])}`);
  const input = e['wsgi.input'] as unknown as Record<string | symbol, unknown> | undefined;
  if (
    !input ||
    !['read', 'readline', 'readlines'].every((m) => typeof input[m] === 'function') ||
    typeof input[Symbol.iterator] !== 'function'
  ) {
    violate('environ', 'wsgi.input must have read(), readline(), readlines() and be iterable');
  }
  const errors = e['wsgi.errors'] as unknown as Record<string, unknown> | undefined;
  if (!errors || !['write', 'writelines', 'flush'].every((m) => typeof errors[m] === 'function'))
    violate('environ', 'wsgi.errors must have write(), writelines() and flush()');
  for (const k of ['wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once']) {
    if (typeof e[k] !== 'boolean') violate('environ', `environ['${k}'] must be a boolean`);
  }
  if (e.HTTP_CONTENT_TYPE !== undefined || e.HTTP_CONTENT_LENGTH !== undefined)
    violate('environ', 'Content-Type and Content-Length go in CONTENT_TYPE / CONTENT_LENGTH, not HTTP_*');
}

/** G11 from the app's side: reads return Uint8Array, never more than asked for. */
function wrapInput(input: WsgiInput, violate: Violate): WsgiInput {
  const check = (got: unknown, size: number | undefined, what: string): Uint8Array => {
    if (!(got instanceof Uint8Array)) violate('G11', `wsgi.input.${what} returned ${typeof got}, not a Uint8Array`);
    const bytes = got as Uint8Array;
    if (size !== undefined && size >= 0 && bytes.length > size)
      violate('G11', `wsgi.input.${what}(${size}) returned ${bytes.length} bytes`);
    return bytes;
  };
  return {
    read: (size?: number) => check(input.read(size), size, 'read'),
    readline: (size?: number) => check(input.readline(size), size, 'readline'),
    readlines: (hint?: number) => input.readlines(hint).map((l) => check(l, undefined, 'readlines')),
    get atEOF() {
      return input.atEOF;
    },
    get clientGone() {
      return input.clientGone;
    },
    [Symbol.iterator]: () => input[Symbol.iterator](),
  };
}

function checkChunk(chunk: unknown, where: string, violate: Violate): Chunk {
  if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
    violate('chunk', `${where} must be a string or Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`);
  }
  return chunk as Chunk;
}

/** One response's view: what the app asked for, what the gateway did. */
class ResponseState {
  private started = false;
  private paused = false;
  private closed = false;
  private pending = false;
  /** Data produced so far (non-empty chunk, write() with data, flush): headers may have gone out. */
  private produced = false;
  /** The app accepted `spindle.websocket`: its chunks are messages, with no startResponse. */
  private websocket = false;

  constructor(
    private readonly violate: Violate,
    private readonly environ: Environ,
  ) {}

  wrapEnviron(e: Environ): Environ {
    // The host's prototype is kept: spindle's environ carries its CPS-misuse hints there (environ.ts).
    const out = Object.assign(Object.create(Object.getPrototypeOf(e) as object | null) as Environ, e);
    out['wsgi.input'] = wrapInput(e['wsgi.input'], this.violate);
    const pause = e['wsgi.pause_output'];
    if (pause) {
      out['wsgi.pause_output'] = () => {
        const resume = pause();
        this.paused = true;
        return () => {
          this.paused = false;
          resume();
        };
      };
    }
    const ws = e['spindle.websocket'];
    if (ws) {
      out['spindle.websocket'] = {
        accept: (options) => {
          if (this.started)
            this.violate(
              'websocket',
              'spindle.websocket.accept() after startResponse(): accept first, or answer over HTTP and do not accept',
            );
          const input = ws.accept(options);
          if (input !== null) this.websocket = true;
          return input;
        },
      };
    }
    const flush = e['x-wsgiorg.flush'];
    if (flush) {
      out['x-wsgiorg.flush'] = () => {
        this.produced = true;
        flush();
      };
    }
    return out;
  }

  wrapStartResponse(sr: StartResponse): StartResponse {
    return (status, headers, excInfo) => {
      if (this.started && (excInfo === undefined || excInfo === null))
        this.violate('G2', 'startResponse() called twice without excInfo');
      let code = 0;
      try {
        code = parseStatus(status).code;
        validateHeaders(headers);
      } catch (err) {
        this.violate(err instanceof HopByHopHeaderError ? 'G9' : 'G10', (err as Error).message);
      }
      if (!isNoContentStatus(code) && !headers.some(([n]) => n.toLowerCase() === 'content-type')) {
        this.violate(
          'content-type',
          `a ${code} response needs a Content-Type header (only 204, 205 and 304, which carry no content, may leave it out)`,
        );
      }
      this.started = true;
      const write = sr(status, headers, excInfo);
      return this.wrapWrite(write);
    };
  }

  private wrapWrite(write: WriteFn): WriteFn {
    return (chunk) => {
      if (this.closed) this.violate('G14', 'write() after the iterable was closed: the response is over');
      checkChunk(chunk, 'write() data', this.violate);
      if (chunk.length > 0) this.produced = true;
      write(chunk);
    };
  }

  /** Check one pulled chunk: typed, and the gateway did not flush the head on an empty one (G3/G4). */
  private onChunk(chunk: unknown): void {
    checkChunk(chunk, 'a body chunk', this.violate);
    if ((chunk as Chunk).length > 0) {
      if (!this.started && !this.websocket) this.violate('G1', 'a body chunk before startResponse()');
      this.produced = true;
    }
  }

  private beforeNext(): void {
    if (this.closed) this.violate('G7', 'next() after close(): the gateway kept iterating a closed iterable');
    if (this.pending)
      this.violate('G5', 'next() while a previous next() is still pending: one outstanding next() at a time');
    if (this.paused) this.violate('G13', 'next() while the app paused its output: wait for resume()');
    const headersSent = this.environ['spindle.headers_sent'];
    if (!this.produced && typeof headersSent === 'function' && (headersSent as () => boolean)()) {
      this.violate(
        'G3',
        'the gateway sent the headers before any non-empty chunk, write() or flush (an empty chunk is not a flush, G4)',
      );
    }
  }

  wrapIterable(result: unknown, isAsync: boolean, onClose: () => void): AppIterable {
    const inner = result as AppIterable;
    const close = (): void => {
      if (this.closed) this.violate('G7', 'close() called twice: the gateway must call it exactly once');
      this.closed = true;
      onClose();
      if (typeof inner.close === 'function') inner.close();
      else void iterator?.return?.();
    };
    let iterator: Iterator<Chunk> | AsyncIterator<Chunk> | undefined;
    if (isAsync) {
      const it = (iterator = (inner as AsyncIterable<Chunk>)[Symbol.asyncIterator]());
      const wrappedAsync: AsyncIterator<Chunk> = {
        next: async () => {
          this.beforeNext();
          this.pending = true;
          try {
            const r = await it.next();
            if (!r.done) this.onChunk(r.value);
            return r;
          } finally {
            this.pending = false;
          }
        },
      };
      return { [Symbol.asyncIterator]: () => wrappedAsync, close };
    }
    const it = (iterator = (inner as Iterable<Chunk>)[Symbol.iterator]());
    const wrappedSync: Iterator<Chunk> = {
      next: () => {
        this.beforeNext();
        const r = it.next();
        if (!r.done) this.onChunk(r.value);
        return r;
      },
    };
    return { [Symbol.iterator]: () => wrappedSync, close };
  }
}
