/**
 * Graceful shutdown under load: SIGTERM to `spindle serve` while slow
 * responses are in flight (and fast clients keep arriving) lets every
 * in-flight response complete, refuses new connections and new requests on
 * open keep-alive connections (503, close), and exits 0 within the CLI's 5 s
 * bound.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, startServer, stopAll } from '../cli-process.js';
import { completeResponses, rawClient, until, type RawClient } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'spindle-shutdown-'));
const APP = join(dir, 'app.mjs');
// A CPS app: /slow sends its first chunk at once and finishes SLOW seconds later; / answers at once.
writeFileSync(
  APP,
  `export const style = 'cps';
export const app = (request) => {
  request.setHeader('content-type', 'text/plain');
  if (request.path === '/slow') {
    request.write('start;');
    request.reactor.callLater(1.5, () => { request.write('done'); request.finish(); });
    return;
  }
  request.write('fast');
  request.finish();
};
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const clients: RawClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.reset();
  stopAll();
});

describe('SIGTERM during a load run', () => {
  it('in-flight responses complete, new connections are refused, exit 0 within 5 s', async () => {
    const { child, url } = await startServer(['src/cli.ts', 'serve', APP, '--style', 'cps', '--port', '0']);
    const port = Number(new URL(url).port);
    const slow = Array.from({ length: 8 }, () => rawClient(port));
    clients.push(...slow);
    slow.forEach((c) => c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'));
    // In flight: each has its first chunk.
    await until(() => slow.every((c) => c.text().includes('start;')), 'the slow responses to start');
    // Fast clients keep coming during the shutdown; count what happens to them.
    let fastServed = 0;
    let fastRefused = 0;
    let stopping = false;
    const fastLoop = (async () => {
      while (!stopping && fastRefused === 0) {
        const c = rawClient(port);
        clients.push(c);
        c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        await c.closed;
        if (c.bodies()[0] === 'fast') fastServed++;
        else fastRefused++;
      }
    })();
    // Keep-alive clients send their next request as soon as each response ends.
    let signalled = 0;
    const afterSignal: Array<{ status: number; connection: string }> = [];
    const keepers = Array.from({ length: 5 }, () => {
      const c = rawClient(port);
      clients.push(c);
      const sentAfter: boolean[] = [];
      const send = () => {
        sentAfter.push(signalled > 0);
        c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      };
      let n = 0;
      c.sock.on('data', () => {
        const rs = completeResponses(c.text());
        for (; n < rs.length; n++) {
          if (sentAfter[n]) afterSignal.push({ status: rs[n]!.status, connection: rs[n]!.headers.connection ?? '' });
          if (!/close/i.test(rs[n]!.headers.connection ?? '')) send();
        }
      });
      send();
      return c;
    });
    await until(() => fastServed >= 5 && keepers.every((k) => k.text().includes('fast')), 'fast clients served before the signal');
    signalled = performance.now();
    child.proc.kill('SIGTERM');
    const exit = await exitWithin(child);
    const exitedAfterMs = performance.now() - signalled;
    stopping = true;
    await fastLoop;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(5000);
    // Every in-flight response arrived whole.
    for (const c of slow) {
      await c.closed;
      expect(completeResponses(c.text()).map((r) => r.body)).toEqual(['start;done']);
    }
    // Connections after the signal got no response (refused or closed unanswered).
    expect(fastRefused).toBeGreaterThan(0);
    // Requests sent after the signal on open keep-alive connections are refused: 503 and close, never served.
    await Promise.all(keepers.map((k) => k.closed));
    expect(afterSignal.filter((r) => r.status !== 503 || !/close/i.test(r.connection))).toEqual([]);
    expect(child.stderr()).not.toMatch(/Unhandled|error/i);
  }, CHILD_TEST_TIMEOUT_MS);
});
