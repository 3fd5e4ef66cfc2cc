/**
 * Graceful shutdown under load: SIGTERM to `spindle serve` while slow
 * responses are in flight and fast clients keep arriving.
 *
 * What the server promises (src/cli/serve.ts, src/cli/shutdown.ts), asserted
 * without reading the parent's clock — signal delivery is asynchronous, so the
 * moment the parent calls kill() says nothing about what the child has seen:
 * - on each kept-alive connection: zero or more 200s, then a 503 with
 *   `Connection: close` (RFC 9110 §15.6.4) or a close; never a 200 after that;
 * - successive new connections: served, then 503/closed unanswered, then
 *   refused (ECONNREFUSED) while the process is still draining;
 * - responses in flight at the signal complete whole;
 * - the process exits 0 by itself, and the drain finished inside its grace
 *   (no "still running" warning), so the hard exit was not what ended it.
 *
 * The slow responses finish only when the test sends SIGUSR2, so they are
 * certainly in flight when the port is seen closed: no timer decides the order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CHILD_TEST_TIMEOUT_MS, startServer, stopAll } from '../cli-process.js';
import { completeResponses, rawClient, until, type RawClient } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'spindle-shutdown-'));
const APP = join(dir, 'app.mjs');
// A CPS app: /slow sends its first chunk at once and finishes on SIGUSR2; / answers at once.
writeFileSync(
  APP,
  `export const style = 'cps';
const pending = [];
process.on('SIGUSR2', () => {
  for (const request of pending.splice(0)) request.reactor.callLater(0, () => { request.write('done'); request.finish(); });
});
export const app = (request) => {
  request.setHeader('content-type', 'text/plain');
  if (request.path === '/slow') {
    request.write('start;');
    pending.push(request);
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

/** What one new connection got: served (200), refused by 503 + close, closed unanswered, or not accepted. */
type Outcome = 'ok' | '503-close' | 'dropped' | 'refused' | 'other';

async function oneConnection(port: number): Promise<Outcome> {
  const c = rawClient(port);
  clients.push(c);
  let code = '';
  c.sock.once('error', (e: NodeJS.ErrnoException) => void (code ||= e.code ?? 'error'));
  const accepted = await c.connected.then(
    () => true,
    () => false,
  );
  if (!accepted) return code === 'ECONNREFUSED' ? 'refused' : 'other';
  c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await c.closed;
  const [r] = completeResponses(c.text());
  if (!r) return 'dropped';
  if (r.status === 200 && r.body === 'fast') return 'ok';
  if (r.status === 503 && /close/i.test(String(r.headers.connection ?? ''))) return '503-close';
  return 'other';
}

describe('SIGTERM during a load run', () => {
  it(
    'keep-alive connections get 200s then 503/close, in-flight responses complete, new connections are refused, exit 0',
    async () => {
      const { child, url } = await startServer(['src/cli.ts', 'serve', APP, '--style', 'cps', '--port', '0']);
      const port = Number(new URL(url).port);
      const slow = Array.from({ length: 8 }, () => rawClient(port));
      clients.push(...slow);
      slow.forEach((c) => c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'));
      await until(() => slow.every((c) => c.text().includes('start;')), 'the slow responses to start');

      // New connections, one after another, until one is refused.
      const outcomes: Outcome[] = [];
      const fastLoop = (async () => {
        while (outcomes.at(-1) !== 'refused' && outcomes.at(-1) !== 'other') outcomes.push(await oneConnection(port));
      })();
      // Keep-alive clients send their next request as soon as each response ends, until told to close.
      const keepers = Array.from({ length: 5 }, () => {
        const c = rawClient(port);
        clients.push(c);
        const send = () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        let n = 0;
        c.sock.on('data', () => {
          const rs = completeResponses(c.text());
          for (; n < rs.length; n++) if (!/close/i.test(String(rs[n]!.headers.connection ?? ''))) send();
        });
        send();
        return c;
      });
      await until(
        () => outcomes.filter((o) => o === 'ok').length >= 5 && keepers.every((k) => k.text().includes('fast')),
        'fast clients served before the signal',
      );

      child.proc.kill('SIGTERM');
      await fastLoop;
      // The port was closed while the drain still waited on the slow responses.
      expect(child.proc.exitCode).toBe(null);
      expect(slow.map((c) => c.text().includes('done'))).toEqual(slow.map(() => false));
      // Kept-alive connections were refused (503 + close) or closed by the server, and nothing follows.
      await Promise.all(keepers.map((k) => k.closed));

      child.proc.kill('SIGUSR2');
      const exit = await child.exited; // bounded by the test's timeout
      expect(exit).toEqual({ code: 0, signal: null });
      for (const c of slow) {
        await c.closed;
        expect(completeResponses(c.text()).map((r) => r.body)).toEqual(['start;done']);
      }
      // Served, then refused by 503/closed unanswered, then not accepted: never served after a refusal.
      expect(outcomes.join(' ')).toMatch(/^(ok )+((503-close|dropped) )*refused$/);
      for (const k of keepers) {
        const rs = completeResponses(k.text());
        const shape = rs.map((r) =>
          r.status === 200 && r.body === 'fast' && !/close/i.test(String(r.headers.connection ?? ''))
            ? '200'
            : r.status === 503 && /close/i.test(String(r.headers.connection ?? ''))
              ? '503'
              : `${r.status}`,
        );
        expect(shape.join(' ')).toMatch(/^200( 200)*( 503)?$/);
        // No partial response left when the server closed: every status line began a complete response.
        expect(k.text().split('HTTP/1.1 ').length - 1).toBe(rs.length);
      }
      // The drain ended because the in-flight responses finished, not because the grace ran out.
      expect(child.stderr()).not.toMatch(/still running|Unhandled|error/i);
    },
    CHILD_TEST_TIMEOUT_MS,
  );
});
