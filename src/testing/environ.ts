/**
 * `makeEnviron(options)`: a WSGI environ for calling an iterator app by hand,
 * built by the same code the gateway uses (so its keys and types are what the
 * app sees in production). The body has fully arrived; `wsgi.pause_output`
 * works and its calls are counted in the returned `controls`.
 *
 *     const { environ } = makeEnviron({ method: 'POST', path: '/items', body: 'x=1' });
 *     const chunks = [...app(environ, startResponse)];
 */
import { Buffer } from 'node:buffer';
import { buildEnviron, makeErrorsStream } from '../bridge/environ.js';
import { StreamingInput } from '../bridge/input.js';
import type { Environ } from '../bridge/interfaces.js';
import { MemoryReactor } from '../reactor/memoryreactor.js';
import type { IReactor } from '../reactor/interfaces.js';
import { DummyRequest } from './dummyrequest.js';

export interface MakeEnvironOptions {
  method?: string;
  /** The percent-encoded path, '/' by default; PATH_INFO is its decoded form. */
  path?: string;
  /** The query string without '?'. */
  query?: string;
  headers?: [string, string][];
  body?: string | Uint8Array;
  /** SCRIPT_NAME (where the app is mounted); PATH_INFO is then `path` alone. */
  scriptName?: string;
  reactor?: IReactor;
  /** Extra keys, set last. */
  extra?: Record<string, unknown>;
}

/** What happened to the environ's callables while the app ran. */
export interface EnvironControls {
  /** Times `wsgi.pause_output()` was called, and times a returned `resume()` was. */
  pauses: number;
  resumes: number;
  /** True between a `pause_output()` and its `resume()`. */
  paused: boolean;
  /** Lines written to `wsgi.errors`. */
  errors: string[];
  /** Times `x-wsgiorg.flush()` was called. */
  flushes: number;
}

export function makeEnviron(options: MakeEnvironOptions = {}): { environ: Environ; controls: EnvironControls } {
  const reactor = options.reactor ?? new MemoryReactor();
  const body =
    options.body === undefined
      ? new Uint8Array(0)
      : typeof options.body === 'string'
        ? Buffer.from(options.body, 'utf8')
        : options.body;
  const headers = options.headers ?? [['Host', 'example.test']];
  if (body.length > 0 && !headers.some(([n]) => n.toLowerCase() === 'content-length'))
    headers.push(['Content-Length', String(body.length)]);
  const query = options.query ?? '';
  const request = new DummyRequest({
    method: options.method ?? 'GET',
    uri: (options.path ?? '/') + (query === '' ? '' : `?${query}`),
    headers,
    reactor,
    body,
  });
  const controls: EnvironControls = { pauses: 0, resumes: 0, paused: false, errors: [], flushes: 0 };
  const input = StreamingInput.fromBytes(body, reactor);
  const environ = buildEnviron(request, {
    input,
    errors: makeErrorsStream((line) => controls.errors.push(line)),
    reactor,
    pauseOutput: () => {
      controls.pauses++;
      controls.paused = true;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        controls.resumes++;
        controls.paused = false;
      };
    },
    inputHandler: (_input, onReadable) => reactor.callLater(0, onReadable),
    flush: () => void controls.flushes++,
    headersSent: () => false,
  });
  if (options.scriptName !== undefined) environ.SCRIPT_NAME = options.scriptName;
  if (options.extra) Object.assign(environ, options.extra);
  return { environ, controls };
}
