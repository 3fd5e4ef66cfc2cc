/**
 * Building a WSGI environ (PEP 3333 "environ Variables", CGI RFC 3875 section 4.1)
 * from spindle's `IRequest`. Pure apart from reading the request.
 *
 * Strings that stand for bytes (PATH_INFO, header values) are "bytes as latin-1
 * strings", as PEP 3333 prescribes for native strings: each char is one byte
 * (U+0000-U+00FF), so `Buffer.from(s, 'latin1')` gives the bytes back exactly.
 */
import { Headers } from '../protocols/http/headers.js';
import type { IRequest } from '../protocols/http/interfaces.js';
import type { IReactor } from '../reactor/interfaces.js';
import type { Environ, EnvironWebSocket, InputHandler, PauseOutput, WsgiErrors, WsgiInput } from './interfaces.js';
import { InvalidAppResultError } from './errors.js';
import { CHECKED_START, type CheckedStartHost } from './checkedstart.js';

/** The longest partial line `wsgi.errors` holds before it logs it anyway. */
export const ERRORS_LINE_LIMIT = 16 * 1024;

/** What the gateway contributes besides the request itself. */
export interface EnvironParts {
  input: WsgiInput;
  errors: WsgiErrors;
  reactor: IReactor;
  pauseOutput: PauseOutput;
  inputHandler: InputHandler;
  flush: () => void;
  /** `spindle.headers_sent()`: lets the validator check G3/G4 from inside the app. */
  headersSent: () => boolean;
  /** `spindle.websocket`, set only on a WebSocket upgrade request. */
  websocket?: EnvironWebSocket;
  /** The gateway takes a head spindle's bridge checked (checkedstart.ts): set as the environ's `CHECKED_START`. */
  [CHECKED_START]?: CheckedStartHost[typeof CHECKED_START];
  /** Overrides `wsgi.url_scheme` (e.g. 'https' behind a TLS-terminating proxy). */
  urlScheme?: 'http' | 'https';
}

/**
 * Decode %XX escapes of a request path into latin-1 chars, one char per byte
 * (CGI's PATH_INFO is decoded; PEP 3333 keeps bytes in latin-1 strings). A '%'
 * not followed by two hex digits is kept as is. '%2F' becomes '/', as in every
 * CGI gateway: apps that must tell them apart read `spindle.raw_path`.
 */
export function decodePathInfo(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(path.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(path.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/** 'X-Forwarded-For' → 'HTTP_X_FORWARDED_FOR'. */
function cgiHeaderKey(name: string): string {
  return 'HTTP_' + name.toUpperCase().replace(/-/g, '_');
}

/** Header name (lower-cased, not one addField stores by name) → environ key, or null for a name to drop. Bounded: past the bound, keys are computed each time. */
const KEY_CACHE = new Map<string, string | null>();
const KEY_CACHE_LIMIT = 1024;

function environKey(lower: string): string | null {
  let key = KEY_CACHE.get(lower);
  if (key !== undefined) return key;
  // 'X_Forwarded_For' and 'X-Forwarded-For' would both become HTTP_X_FORWARDED_FOR:
  // drop names with '_' so a client cannot spoof a header a proxy set (as nginx, gunicorn do).
  key = lower.includes('_') ? null : cgiHeaderKey(lower);
  if (KEY_CACHE.size < KEY_CACHE_LIMIT) KEY_CACHE.set(lower, key === null ? null : internedKey(key));
  return key;
}

/**
 * The engine's own (internalized) copy of a property name: every environ
 * stores under it, and a key that is already internalized spares each store
 * and load a string-table lookup of a freshly built 'HTTP_...' string.
 */
function internedKey(key: string): string {
  return Object.keys({ [key]: 0 })[0]!;
}

/**
 * The environ's prototype. A CPS app `(request) => void` handed to an iterator
 * host without `style: 'cps'` reads `environ.setHeader`, `.write`, `.path`...
 * and would fail with "x is not a function" far from the cause; these getters
 * (never own keys, so `Object.keys`, spreads and JSON are unchanged) say what
 * happened instead.
 */
function cpsMisuse(name: string): never {
  throw new InvalidAppResultError(
    `the app read request.${name}, but it was called as an iterator app (environ, startResponse), where there is no request object; ` +
      `a CPS app (request) => void must be hosted with style 'cps': serve(app, { style: 'cps' }), toNodeListener(app, { style: 'cps' }), ` +
      `toFetchHandler(app, { style: 'cps' }), or spindle serve --style cps (a Fetch handler (Request) => Response: style 'fetch')`,
  );
}

/** `wsgi.version`, PEP 3333's tuple (1, 0): one frozen array shared by every environ. */
const WSGI_VERSION: readonly [number, number] = Object.freeze([1, 0] as [number, number]);

/**
 * The environ's own keys, assigned in one fixed order by a constructor so that
 * every environ gets the same fast object shape. The getters that explain a CPS
 * app called as an iterator app sit on the prototype, out of the own keys. (An
 * object literal with `__proto__` set costs V8 about 3 µs per request.)
 */
class EnvironObject {
  [key: string]: unknown;
  constructor(request: IRequest, parts: EnvironParts) {
    this.REQUEST_METHOD = request.method;
    // A server mounted at the root: the whole path is PATH_INFO (DESIGN.md).
    this.SCRIPT_NAME = '';
    const path = request.path; // computed from the target on each read
    this.PATH_INFO = decodePathInfo(path);
    this.QUERY_STRING = request.query;
    this.CONTENT_TYPE = '';
    this.CONTENT_LENGTH = '';
    const host = request.host;
    if (host.family === 'unix') {
      // A Unix socket has no server address (nginx or another proxy is in front): name the
      // server as the client did (RFC 9110 §7.2), and the peer has no address at all.
      const [name, port] = hostHeaderParts(request.headers.get('host'), request.secure);
      this.SERVER_NAME = name;
      this.SERVER_PORT = port;
    } else {
      this.SERVER_NAME = host.host;
      this.SERVER_PORT = String(host.port);
    }
    this.SERVER_PROTOCOL = request.version;
    const client = request.client; // each read copies the address: read once
    this.REMOTE_ADDR = client.host;
    this.REMOTE_PORT = client.family === 'unix' ? '' : String(client.port);
    this['wsgi.version'] = WSGI_VERSION;
    this['wsgi.url_scheme'] = parts.urlScheme ?? (request.secure ? 'https' : 'http');
    this['wsgi.input'] = parts.input;
    this['wsgi.errors'] = parts.errors;
    this['wsgi.multithread'] = false;
    this['wsgi.multiprocess'] = false;
    this['wsgi.run_once'] = false;
    this['wsgi.pause_output'] = parts.pauseOutput;
    this['wsgi.input_handler'] = parts.inputHandler;
    this['x-wsgiorg.flush'] = parts.flush;
    this['spindle.reactor'] = parts.reactor;
    this['spindle.raw_path'] = path;
    this['spindle.headers_sent'] = parts.headersSent;
    // A symbol key: not one of the environ's keys for the app (Object.keys, JSON), always set (one shape).
    (this as { [CHECKED_START]?: CheckedStartHost })[CHECKED_START] =
      parts[CHECKED_START] === undefined ? undefined : (parts as CheckedStartHost);
    if (request.secure) this.HTTPS = 'on';
  }
}

/** SERVER_NAME and SERVER_PORT from a Host header (`name[:port]`, `[v6]:port`), else localhost and the scheme's port. */
function hostHeaderParts(hostHeader: string | undefined, secure: boolean): [string, string] {
  const fallbackPort = secure ? '443' : '80';
  if (hostHeader === undefined || hostHeader === '') return ['localhost', fallbackPort];
  const colon = hostHeader.lastIndexOf(':');
  if (colon > hostHeader.lastIndexOf(']') && colon >= 0)
    return [hostHeader.slice(0, colon), hostHeader.slice(colon + 1) || fallbackPort];
  return [hostHeader, fallbackPort];
}
for (const name of [
  'method',
  'uri',
  'path',
  'query',
  'setHeader',
  'setResponseCode',
  'write',
  'finish',
  'readBody',
  'deliverBody',
  'notifyFinish',
  'registerProducer',
]) {
  Object.defineProperty(EnvironObject.prototype, name, { get: () => cpsMisuse(name) });
}

/** Build the environ for one request. */
export function buildEnviron(request: IRequest, parts: EnvironParts): Environ {
  const environ = new EnvironObject(request, parts) as unknown as Environ;
  // spindle's own headers are read in place (lower-cased names, no pairs built); another host's are copied into one.
  const h = request.headers instanceof Headers ? request.headers : new Headers(request.headers.rawPairs().flat());
  // CONTENT_TYPE and CONTENT_LENGTH are gathered here, the other fields go in as HTTP_* keys.
  let contentType: string | undefined;
  let contentLength: string | undefined;
  for (let i = 0, n = h.size; i < n; i++) {
    const name = h.lowerNameAt(i);
    const value = h.valueAt(i);
    if (name === 'content-type') contentType = contentType === undefined ? value : `${contentType},${value}`;
    else if (name === 'content-length')
      contentLength ??= value; // repeats are equal (the server rejects others)
    else addField(environ, name, value);
  }
  if (contentType !== undefined) environ.CONTENT_TYPE = contentType;
  if (contentLength !== undefined) environ.CONTENT_LENGTH = contentLength;
  if (parts.websocket !== undefined) environ['spindle.websocket'] = parts.websocket;
  return environ;
}

/**
 * Puts a request header field (not Content-Type or Content-Length) into the
 * environ as an HTTP_* key (CGI RFC 3875 section 4.1.18). The fields nearly
 * every request carries are stored under their own property names (each
 * store site sees a name it knows, not a key that differs on every call);
 * the others go through `environKey`.
 */
function addField(environ: Environ, lowerName: string, value: string): void {
  const e = environ as CommonFields;
  switch (lowerName) {
    case 'host':
      e.HTTP_HOST = joinField(e.HTTP_HOST, value);
      return;
    case 'user-agent':
      e.HTTP_USER_AGENT = joinField(e.HTTP_USER_AGENT, value);
      return;
    case 'accept':
      e.HTTP_ACCEPT = joinField(e.HTTP_ACCEPT, value);
      return;
    case 'accept-encoding':
      e.HTTP_ACCEPT_ENCODING = joinField(e.HTTP_ACCEPT_ENCODING, value);
      return;
    case 'accept-language':
      e.HTTP_ACCEPT_LANGUAGE = joinField(e.HTTP_ACCEPT_LANGUAGE, value);
      return;
    case 'connection':
      e.HTTP_CONNECTION = joinField(e.HTTP_CONNECTION, value);
      return;
    case 'cookie':
      // Cookie pairs are separated by '; ' (RFC 6265 section 5.4).
      e.HTTP_COOKIE = e.HTTP_COOKIE === undefined ? value : `${e.HTTP_COOKIE}; ${value}`;
      return;
  }
  const key = environKey(lowerName);
  if (key === null) return;
  environ[key] = joinField(environ[key] as string | undefined, value);
}

/** The common fields addField stores by name. */
interface CommonFields {
  HTTP_HOST?: string;
  HTTP_USER_AGENT?: string;
  HTTP_ACCEPT?: string;
  HTTP_ACCEPT_ENCODING?: string;
  HTTP_ACCEPT_LANGUAGE?: string;
  HTTP_CONNECTION?: string;
  HTTP_COOKIE?: string;
}

/** A repeated field's values joined by ',' (RFC 9110 section 5.3). */
function joinField(prev: string | undefined, value: string): string {
  return prev === undefined ? value : `${prev},${value}`;
}

/** `wsgi.errors`: collects text into lines and hands each line to `log`. */
export function makeErrorsStream(log: (line: string) => void, lineLimit = ERRORS_LINE_LIMIT): WsgiErrors {
  return new ErrorsStream(log, lineLimit);
}

class ErrorsStream implements WsgiErrors {
  private partial = '';
  constructor(
    private readonly log: (line: string) => void,
    private readonly lineLimit: number,
  ) {}
  write(text: string): void {
    this.partial += String(text);
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.log(line);
    }
    if (this.partial.length > this.lineLimit) this.flush();
  }
  writelines(lines: Iterable<string>): void {
    for (const line of lines) this.write(line);
  }
  flush(): void {
    if (this.partial !== '') this.log(this.partial);
    this.partial = '';
  }
}
