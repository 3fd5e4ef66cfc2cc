/**
 * `spindle serve --listen`: several listeners in one command (TCP and a Unix
 * socket), TLS with --processes 2, and the --tls-cert/--tls-key short form,
 * each reached by real clients; one 'listening on URL' line per listener, the
 * first still 'listening on http://...' for TCP; SIGTERM stops them all.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, startNode, stopAll, waitForStdout, RUN_BOUND_MS } from './cli-process.js';
import { CA, CERT_PATH, KEY_PATH } from './tls-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'spindle-cli-listen-'));
const app = join(dir, 'app.mjs');
writeFileSync(
  app,
  `export const style = 'cps';
export const app = (request) => {
  request.setHeader('X-Spindle-PID', String(process.pid));
  request.write(new TextEncoder().encode((request.isSecure() ? 'secure ' : 'plain ') + (request.client.family || '')));
  request.finish();
};
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => stopAll());

function get(
  options: RequestOptions & { ca?: Buffer; servername?: string },
  tls = false,
): Promise<{ body: string; pid: string }> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)({ ...options, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ body, pid: String(res.headers['x-spindle-pid']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('spindle serve --listen', () => {
  it(
    '--listen twice (tcp + unix): two listening lines, the first http://, both answer, SIGTERM stops both and removes the socket file',
    async () => {
      const sock = join(dir, 'cli.sock');
      const child = startNode([
        'src/cli.ts',
        'serve',
        app,
        '--listen',
        'tcp:0:interface=127.0.0.1',
        '--listen',
        `unix:${sock}`,
      ]);
      await waitForStdout(child, /^listening on unix:.*$/m);
      const lines = child.stdout().trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines[1]).toBe(`listening on unix:${sock}`);
      const port = Number(lines[0]!.split(':').pop());
      expect((await get({ host: '127.0.0.1', port, path: '/' })).body).toBe('plain IPv4');
      expect((await get({ socketPath: sock, path: '/' })).body).toBe('plain unix');
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
      expect(existsSync(sock)).toBe(false);
    },
    CHILD_TEST_TIMEOUT_MS,
  );

  it(
    '--listen tls:... with --processes 2: https:// line, answers from two workers over TLS, stops cleanly',
    async () => {
      const child = startNode([
        'src/cli.ts',
        'serve',
        app,
        '--processes',
        '2',
        '--listen',
        `tls:0:interface=127.0.0.1:privateKey=${KEY_PATH}:certKey=${CERT_PATH}`,
      ]);
      const m = await waitForStdout(child, /^listening on https:\/\/127\.0\.0\.1:(\d+)$/m);
      const port = Number(m[1]);
      const pids = new Set<string>();
      for (let i = 0; i < 200 && pids.size < 2; i++) {
        const r = await get({ host: '127.0.0.1', port, path: '/', ca: CA, servername: 'localhost' }, true);
        expect(r.body).toBe('secure IPv4');
        pids.add(r.pid);
      }
      expect(pids.size).toBe(2);
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
      expect(child.stderr()).toBe('');
    },
    CHILD_TEST_TIMEOUT_MS,
  );

  it(
    '--listen unix:... with --processes 2: both workers answer on the one socket file, which is gone after SIGTERM',
    async () => {
      const sock = join(dir, 'cluster.sock');
      const child = startNode(['src/cli.ts', 'serve', app, '--processes', '2', '--listen', `unix:${sock}`]);
      await waitForStdout(child, /^listening on unix:.*$/m);
      expect(child.stdout()).toBe(`listening on unix:${sock}\n`);
      const pids = new Set<string>();
      for (let i = 0; i < 200 && pids.size < 2; i++) {
        const r = await get({ socketPath: sock, path: '/' });
        expect(r.body).toBe('plain unix');
        pids.add(r.pid);
      }
      expect(pids.size).toBe(2);
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
      expect(existsSync(sock)).toBe(false);
    },
    CHILD_TEST_TIMEOUT_MS,
  );

  it(
    '--tls-cert/--tls-key serve HTTPS on --port; a key file that does not exist is a listen error naming it',
    async () => {
      const child = startNode([
        'src/cli.ts',
        'serve',
        app,
        '--port',
        '0',
        '--tls-cert',
        CERT_PATH,
        '--tls-key',
        KEY_PATH,
      ]);
      const m = await waitForStdout(child, /^listening on https:\/\/127\.0\.0\.1:(\d+)$/m);
      expect(
        (await get({ host: '127.0.0.1', port: Number(m[1]), path: '/', ca: CA, servername: 'localhost' }, true)).body,
      ).toBe('secure IPv4');
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });

      const bad = startNode([
        'src/cli.ts',
        'serve',
        app,
        '--port',
        '0',
        '--tls-cert',
        CERT_PATH,
        '--tls-key',
        join(dir, 'missing.pem'),
      ]);
      const exit = await exitWithin(bad, RUN_BOUND_MS);
      expect(exit.code).not.toBe(0);
      expect(bad.stderr()).toMatch(/cannot read privateKey=.*missing\.pem \(ENOENT\)/);
    },
    CHILD_TEST_TIMEOUT_MS,
  );
});
