/**
 * The one-line message for a module that fails to import. A new user's .ts
 * app with a top-level await, outside any "type": "module" package, got only
 * "Transform failed with 1 error:" (tsx's first line) and nothing after it.
 */
import { describe, expect, it } from 'vitest';
import { importFailureMessage } from '../src/cli/load.js';

describe('importFailureMessage', () => {
  it('keeps the line that says what the error is, and says how to fix a CommonJS top-level await', () => {
    const err = Object.assign(
      new Error('Transform failed with 1 error:\n/tmp/apps/tla.ts:1:17: ERROR: Top-level await is currently not supported with the "cjs" output format'),
      { name: 'TransformError' },
    );
    const message = importFailureMessage('/tmp/apps/tla.ts', err);
    expect(message).toMatch(/^importing '\/tmp\/apps\/tla\.ts' failed: Transform failed with 1 error: \/tmp\/apps\/tla\.ts:1:17: ERROR: Top-level await/);
    expect(message).toMatch(/rename it to \.mts/);
    expect(message).not.toContain('\n');
  });

  it('keeps a one-line message as it is, and hints tsx for an unknown .ts extension', () => {
    expect(importFailureMessage('/a.mjs', new Error('boom at import'))).toBe("importing '/a.mjs' failed: boom at import");
    const ext = Object.assign(new TypeError('Unknown file extension ".ts" for /a.ts'), { code: 'ERR_UNKNOWN_FILE_EXTENSION' });
    expect(importFailureMessage('/a.ts', ext)).toMatch(/Unknown file extension "\.ts".*run through tsx/);
  });
});
