/**
 * A new user's first mistake with the hosts: passing a CPS app `(request) =>
 * void` to toFetchHandler / toNodeListener without `style: 'cps'` (the default
 * is 'iter'). The app then gets an environ; the failure must name the fix, not
 * just "req.setHeader is not a function".
 */
import { describe, expect, it } from 'vitest';
import { toFetchHandler } from '../src/bridge/fetch.js';
import { captureLogs } from '../src/reactor/log.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import type { IReactor } from '../src/reactor/interfaces.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';

const cpsApp: CpsApp = (request) => {
  request.setHeader('content-type', 'text/plain');
  request.write(`hello ${request.path}`);
  request.finish();
};

describe('a CPS app hosted as an iterator app', () => {
  it('fails with a message naming style: cps, and the same app works with it', async () => {
    const reactor = new MemoryReactor() as unknown as IReactor;
    const logs = captureLogs();
    try {
      const wrong = await toFetchHandler(cpsApp, { reactor })(new Request('http://h.test/x'));
      expect(wrong.status).toBe(500);
      const text = logs.events.map((e) => `${e.message} ${e.failure?.getErrorMessage() ?? ''}`).join('\n');
      expect(text).toMatch(/request\.setHeader.*style 'cps'/);
    } finally {
      logs.restore();
    }
    const right = await toFetchHandler(cpsApp, { reactor, style: 'cps' })(new Request('http://h.test/x'));
    expect(await right.text()).toBe('hello /x');
  });

  it('leaves the environ of a real iterator app unchanged: same own keys, no trap on WSGI keys', async () => {
    const reactor = new MemoryReactor() as unknown as IReactor;
    let keys: string[] = [];
    let spread: Record<string, unknown> = {};
    const app: IterApp = (environ, startResponse) => {
      keys = Object.keys(environ);
      spread = { ...environ };
      startResponse('200 OK', [['content-type', 'text/plain']]);
      return [String(environ['HTTP_X_MISSING'] ?? 'none')];
    };
    const res = await toFetchHandler(app, { reactor })(new Request('http://h.test/y'));
    expect(await res.text()).toBe('none');
    expect(keys).toContain('REQUEST_METHOD');
    expect(keys).not.toContain('setHeader');
    expect(Object.keys(spread)).toEqual(keys);
  });
});

describe('a Fetch handler hosted as an iterator app', () => {
  it('answers 500 naming the styles, and its rejected Promise does not escape as an unhandled rejection', async () => {
    const reactor = new MemoryReactor() as unknown as IReactor;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    const logs = captureLogs();
    try {
      const fetchHandler = async (req: Request): Promise<Response> => new Response(`hi ${new URL(req.url).pathname}`);
      const res = await toFetchHandler(fetchHandler as unknown as IterApp, { reactor })(new Request('http://h.test/z'));
      expect(res.status).toBe(500);
      const text = logs.events.map((e) => e.failure?.getErrorMessage() ?? '').join('\n');
      expect(text).toMatch(/returned a Promise.*style 'fetch'/);
      // Let the rejection's turn (and Node's unhandled-rejection check) pass.
      await new Promise((done) => setImmediate(done));
      await new Promise((done) => setImmediate(done));
      expect(unhandled).toEqual([]);
    } finally {
      logs.restore();
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
