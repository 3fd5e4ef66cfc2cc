/**
 * `spindle serve --trusted-proxy`: behind a proxy on 127.0.0.1 the app sees
 * the client and scheme the proxy forwarded; without the flag (or with
 * another proxy trusted) the same headers from that peer are ignored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, fetchText, startServer, stopAll } from './cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-proxy-'));
  writeFileSync(
    join(dir, 'who.mjs'),
    "export const style = 'iter';\nexport function app(environ, startResponse) {\n  startResponse('200 OK', [['content-type', 'text/plain']]);\n  return [environ.REMOTE_ADDR + ' ' + environ['wsgi.url_scheme']];\n}\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

const forwarded = { 'x-forwarded-for': '6.6.6.6, 203.0.113.50', 'x-forwarded-proto': 'https' };

describe('spindle serve --trusted-proxy', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('believes X-Forwarded-For/-Proto from a trusted peer and ignores them from any other', async () => {
    for (const [flags, expected] of [
      [['--trusted-proxy', '127.0.0.1'], '203.0.113.50 https'],
      [['--trusted-proxy', '10.0.0.0/8,::1'], '127.0.0.1 http'],
      [[], '127.0.0.1 http'],
    ] as const) {
      const { child, url } = await startServer(['src/cli.ts', 'serve', join(dir, 'who.mjs'), '--port', '0', ...flags]);
      expect((await fetchText(`${url}/`, { headers: forwarded })).body).toBe(expected);
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    }
  });
});
