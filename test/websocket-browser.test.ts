/**
 * examples/websocket-echo.ts in a real browser: headless Chromium (Debian's
 * package; .ci/install-deps installs it) loads the page served by
 * `spindle serve ... --style cps`, and the page's own script talks to the CPS
 * echo, the iterator echo and the chat across both styles. The test reads the
 * DOM the script filled in. It fails, not skips, when Chromium is missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, startServer, stopAll } from './cli-process.js';

afterEach(stopAll);

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('the WebSocket echo page in headless Chromium', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('the page’s script gets its echoes from both styles and a chat message across them', async () => {
    const { child, url } = await startServer([
      'src/cli.ts',
      'serve',
      'examples/websocket-echo.ts:app',
      '--style',
      'cps',
      '--port',
      '0',
    ]);
    const profile = mkdtempSync(join(tmpdir(), 'spindle-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await page.waitForSelector('body[data-done="yes"]', { timeout: 20_000 });
      expect(await page.textContent('#cps')).toBe('hello from the page to cps');
      expect(await page.textContent('#iter')).toBe('hello from the page to iter');
      expect(await page.textContent('#chat')).toBe('cps says hi to iter');
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });
});
