/**
 * A clock that ticks once a second: an iterator app that streams with
 * `wsgi.pause_output`. Between ticks it pauses its output and yields '' (a
 * yield point, never a wire chunk); a delayed call resumes it. No thread, no
 * busy loop, and each tick reaches the client as soon as it is yielded.
 *
 *   GET /clock?ticks=N   N ticks (default DEFAULT_TICKS, at most MAX_TICKS)
 */
import type { Environ, IDelayedCall, IterApp, StartResponse } from '../../src/index.js';

export const DEFAULT_TICKS = 10;
export const MAX_TICKS = 3600;

export function parseTicks(query: string): number {
  const raw = new URLSearchParams(query).get('ticks');
  const n = raw === null ? DEFAULT_TICKS : Number.parseInt(raw, 10);
  return Number.isFinite(n) ? Math.min(Math.max(n, 1), MAX_TICKS) : DEFAULT_TICKS;
}

/** The clock app, ticking every `interval` seconds (1 in the demo; tests pass less). */
export function clockApp(interval = 1): IterApp {
  return (environ: Environ, startResponse: StartResponse) => {
    const pauseOutput = environ['wsgi.pause_output'];
    const reactor = environ['spindle.reactor'];
    if (!pauseOutput || !reactor)
      throw new Error('the clock needs a gateway with wsgi.pause_output and spindle.reactor (spindle serve)');
    const ticks = parseTicks(environ.QUERY_STRING);
    startResponse('200 OK', [
      ['content-type', 'text/plain; charset=utf-8'],
      // Browsers then render each tick as it arrives instead of sniffing first.
      ['x-content-type-options', 'nosniff'],
      ['cache-control', 'no-store'],
    ]);
    let timer: IDelayedCall | undefined;
    return (function* () {
      try {
        for (let i = 1; i <= ticks; i++) {
          if (i > 1) {
            const resume = pauseOutput();
            timer = reactor.callLater(interval, resume);
            yield ''; // no next() until resume() (G13)
          }
          yield `tick ${i}/${ticks}  ${new Date().toISOString()}\n`;
        }
      } finally {
        // return() on a client that left: cancel the pending tick (G7, G14).
        if (timer?.active()) timer.cancel();
      }
    })();
  };
}
