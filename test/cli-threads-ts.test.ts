/**
 * Issue 12 item 10: `--threads` with a `.ts` app outside an ESM package (no
 * "type": "module" above it, as the README's threads example is for a new
 * user) printed "listening" and then answered every request with 500
 * (ERR_REQUIRE_CYCLE_MODULE): the worker threads had tsx's ESM hooks but not
 * its CommonJS ones, which such a module needs. Now it is served.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, fetchText, startServer, stopAll } from './cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-threads-ts-'));
  // A CommonJS package by default: no package.json here or above (tmpdir).
  writeFileSync(
    join(dir, 'app.ts'),
    `import { threadId } from 'node:worker_threads';
export const style = 'iter';
export function app(environ: Record<string, unknown>, startResponse: (s: string, h: [string, string][]) => unknown): string[] {
  startResponse('200 OK', [['content-type', 'text/plain']]);
  const typed: number = threadId;
  return ['thread ' + typed + ' ' + String(environ.PATH_INFO)];
}\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

describe('spindle serve --threads with a .ts app in a CommonJS package', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('answers 200 from a worker thread, not 500 with ERR_REQUIRE_CYCLE_MODULE', async () => {
    const { child, url } = await startServer([
      'src/cli.ts',
      'serve',
      `${join(dir, 'app.ts')}:app`,
      '--threads',
      '2',
      '--port',
      '0',
    ]);
    const first = await fetchText(`${url}/a`);
    const second = await fetchText(`${url}/b`);
    expect(first.status).toBe(200);
    expect(first.body).toMatch(/^thread [1-9]\d* \/a$/);
    expect(second.status).toBe(200);
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    expect(child.stderr()).not.toMatch(/ERR_REQUIRE|iterator app failed/);
  });
});
