/**
 * Using the HTTP client from an iterator app without blocking (the Web-SIG
 * async WSGI idea): while a Deferred has not fired, the app pauses its output
 * (`resume = environ['wsgi.pause_output']()`), yields `''`, and is resumed
 * when the result is there.
 *
 *     function* app(environ, startResponse) {
 *       const response = yield* waitFor(environ, agent.request('GET', url));
 *       startResponse(`${response.code} ${response.phrase}`, [['Content-Type', 'text/plain']]);
 *       yield* relayBody(environ, response);
 *     }
 *
 * An async-generator app needs neither: it awaits the Deferred, and iterates
 * the response (a Response is an AsyncIterable of its body).
 */
import type { Deferred } from '../reactor/deferred.js';
import type { ITransport } from '../reactor/interfaces.js';
import { ResponseDone } from '../reactor/errors.js';
import type { Failure } from '../reactor/failure.js';
import type { IResponse } from '../protocols/http/client/interfaces.js';
import { NoPauseOutputError } from './errors.js';
import type { Chunk, Environ, PauseOutput } from './interfaces.js';

/** Bytes `relayBody` holds before it stops reading the response's connection. */
export const RELAY_BODY_HIGH_WATER = 64 * 1024;

function pauser(environ: Environ, what: string): PauseOutput {
  const pause = environ['wsgi.pause_output'];
  if (typeof pause !== 'function') throw new NoPauseOutputError(what);
  return pause;
}

/** Yield `''` with output paused until `d` fires; returns its result, or throws its error. */
export function* waitFor<T>(environ: Environ, d: Deferred<T>): Generator<Chunk, T, unknown> {
  const pause = pauser(environ, 'waitFor()');
  let settled: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  let resume: (() => void) | null = null;
  d.addCallbacks(
    (value) => {
      settled = { ok: true, value };
      resume?.();
    },
    (f: Failure) => {
      settled = { ok: false, error: f.value };
      resume?.();
      return null;
    },
  );
  while (settled === null) {
    resume = pause();
    yield '';
  }
  const s = settled as { ok: true; value: T } | { ok: false; error: unknown };
  if (!s.ok) throw s.error;
  return s.value;
}

/**
 * Yield the response body's chunks as they arrive, pausing output between
 * them; past `highWater` bytes waiting, reading the connection pauses until
 * the gateway has taken them. Throws the body's error if it breaks off.
 */
export function* relayBody(
  environ: Environ,
  response: IResponse,
  highWater = RELAY_BODY_HIGH_WATER,
): Generator<Chunk, void, unknown> {
  const pause = pauser(environ, 'relayBody()');
  const queue: Uint8Array[] = [];
  let held = 0;
  let end: Failure | null = null;
  let resume: (() => void) | null = null;
  let transport: ITransport | null = null;
  let readPaused = false;
  response.deliverBody({
    makeConnection: (t) => void (transport = t),
    dataReceived: (d) => {
      queue.push(Uint8Array.prototype.slice.call(d));
      held += d.length;
      if (held >= highWater && !readPaused) {
        readPaused = true;
        transport!.pauseProducing();
      }
      resume?.();
    },
    connectionLost: (reason) => {
      end = reason;
      resume?.();
    },
  });
  try {
    for (;;) {
      if (queue.length > 0) {
        const chunk = queue.shift()!;
        held -= chunk.length;
        if (readPaused && held < highWater) {
          readPaused = false;
          (transport as ITransport | null)?.resumeProducing();
        }
        yield chunk;
        continue;
      }
      if (end !== null) {
        const e = end as Failure;
        if (!e.check(ResponseDone)) throw e.value;
        return;
      }
      resume = pause();
      yield '';
    }
  } finally {
    // Closed early (the client left): abandon the body, which closes its connection.
    if (end === null) (transport as ITransport | null)?.stopProducing();
  }
}
