/**
 * `spindle serve app.ts:app --style cps` for an iterator app: the app calls
 * startResponse, which that style never passes. A new user got
 * "startResponse is not a function"; the log now names --style iter.
 */
import { describe, expect, it } from 'vitest';
import { toServedApp } from '../src/cli/serve.js';
import type { LoadedApp } from '../src/cli/load.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { captureLogs } from '../src/reactor/log.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { makeServer } from './http-channel-helpers.js';

const iterApp: IterApp = (_environ, startResponse) => {
  startResponse('200 OK', [['content-type', 'text/plain']]);
  return ['hello'];
};

function loaded(style: LoadedApp['style']): LoadedApp {
  return { app: iterApp as LoadedApp['app'], style, path: '/abs/app.ts', url: 'file:///abs/app.ts', exportName: 'app' };
}

describe('an iterator app served with the wrong --style', () => {
  for (const style of ['cps'] as const) {
    it(`--style ${style}: 500, and the log says to use --style iter`, async () => {
      const logs = captureLogs();
      try {
        const server = makeServer(toServedApp(loaded(style), { threads: undefined }, new MemoryReactor()));
        server.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        for (let i = 0; i < 5; i++) await new Promise((done) => setImmediate(done));
        expect(server.output()).toMatch(/^HTTP\/1\.1 500 /);
        const text = logs.events.map((e) => e.failure?.getErrorMessage() ?? e.message).join('\n');
        expect(text).toMatch(new RegExp(`startResponse\\(\\), but it is served with --style ${style}.*--style iter`));
      } finally {
        logs.restore();
      }
    });
  }

  it('--style iter still serves it', () => {
    const server = makeServer(toServedApp(loaded('iter'), { threads: undefined }, new MemoryReactor()));
    server.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(server.output()).toMatch(/^HTTP\/1\.1 200 [^]*hello/);
  });
});
