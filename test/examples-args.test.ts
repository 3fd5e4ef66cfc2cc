/**
 * examples/embed-cli-tool.ts as a new user mistypes it: an argument that is
 * not HOST:PORT is refused with one stderr line and exit 2, instead of being
 * ignored (the tool used to count its built-in source and exit 0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, startNode, stopAll, RUN_BOUND_MS } from './cli-process.js';

afterEach(stopAll);

describe('examples/embed-cli-tool.ts arguments', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('refuses an argument that is not HOST:PORT', async () => {
    const child = startNode(['examples/embed-cli-tool.ts', 'localhost8000']);
    expect(await exitWithin(child, RUN_BOUND_MS)).toEqual({ code: 2, signal: null });
    expect(child.stderr()).toMatch(/expected HOST:PORT .*got 'localhost8000'/);
    expect(child.stdout()).not.toMatch(/received/);
  });
});
