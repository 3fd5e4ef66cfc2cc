/**
 * The one-line message for a module that fails to import. A new user's .ts
 * app with a top-level await, outside any "type": "module" package, got only
 * "Transform failed with 1 error:" (tsx's first line) and nothing after it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFailureMessage } from '../src/cli/load.js';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, startNode, stopAll, RUN_BOUND_MS } from './cli-process.js';

describe('importFailureMessage', () => {
  it('keeps the line that says what the error is, and says how to fix a CommonJS top-level await', () => {
    const err = Object.assign(
      new Error(
        'Transform failed with 1 error:\n/tmp/apps/tla.ts:1:17: ERROR: Top-level await is currently not supported with the "cjs" output format',
      ),
      { name: 'TransformError' },
    );
    const message = importFailureMessage('/tmp/apps/tla.ts', err);
    expect(message).toMatch(
      /^importing '\/tmp\/apps\/tla\.ts' failed: Transform failed with 1 error: \/tmp\/apps\/tla\.ts:1:17: ERROR: Top-level await/,
    );
    expect(message).toMatch(/rename it to \.mts/);
    expect(message).not.toContain('\n');
  });

  it('keeps a one-line message as it is, and hints tsx for an unknown .ts extension', () => {
    expect(importFailureMessage('/a.mjs', new Error('boom at import'))).toBe(
      "importing '/a.mjs' failed: boom at import",
    );
    const ext = Object.assign(new TypeError('Unknown file extension ".ts" for /a.ts'), {
      code: 'ERR_UNKNOWN_FILE_EXTENSION',
    });
    expect(importFailureMessage('/a.ts', ext)).toMatch(
      /Unknown file extension "\.ts".*run spindle under tsx: 'node --import tsx node_modules\/\.bin\/spindle serve app\.ts'/,
    );
  });
});

describe('spindle serve with an app that has a syntax error', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spindle-syntax-'));
    writeFileSync(
      join(dir, 'bad.mjs'),
      "export const style = 'iter';\nexport function app(e, sr) {\n  sr('200 OK', [['a', 'b']]\n  return [];\n}\n",
    );
    writeFileSync(
      join(dir, 'bad.ts'),
      "export const style = 'iter';\nexport function app(e: unknown) {\n  const x = ;\n}\n",
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(stopAll);

  const serve = async (file: string) => {
    const child = startNode(['src/cli.ts', 'serve', `${join(dir, file)}:app`, '--port', '0']);
    const exit = await exitWithin(child, RUN_BOUND_MS);
    return { code: exit.code, stderr: child.stderr() };
  };

  it('names the file, line and column of a JavaScript syntax error in its one line', async () => {
    const r = await serve('bad.mjs');
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `spindle: importing '${join(dir, 'bad.mjs')}' failed: missing ) after argument list at ${join(dir, 'bad.mjs')}:3:27\n`,
    );
  });

  it('names the file and line of a TypeScript syntax error', async () => {
    const r = await serve('bad.ts');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${join(dir, 'bad.ts')}:3:12`);
    expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  });
});
