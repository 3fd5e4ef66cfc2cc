/**
 * Issue 12 item 13: every place the README shows how to serve gives one
 * command that passes SIGTERM on. `npx tsx src/cli.ts serve ...` (the README's
 * old line) dies of a SIGTERM sent to its PID alone and leaves the server
 * running with the port open, which is what systemd, Docker or `kill` do. The
 * test takes the README's own serve line, runs it (its app and port swapped
 * for a fixture and port 0), signals that one PID, and expects the server gone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { CHILD_TEST_TIMEOUT_MS, EXIT_BOUND_MS, fetchText, ROOT, START_BOUND_MS } from './cli-process.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** Lines in the README's sh blocks and inline code that start a server from this checkout. */
const serveLines = [
  ...readme.matchAll(/`([^`\n]*(?:src\/cli\.ts serve|examples\/[A-Za-z*-]+\.ts|examples\/NAME\.ts)[^`\n]*)`/g),
  ...readme.matchAll(/^((?:npx|node|tsx)\b.*(?:src\/cli\.ts serve).*)$/gm),
]
  .map((m) => m[1]!.replace(/\s+#.*$/, ''))
  .filter((l) => !l.startsWith('test/') && !/^examples\/[^ ]+$/.test(l));

let dir: string;
const groups: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-readme-'));
  writeFileSync(
    join(dir, 'my-app.mjs'),
    "export function app(environ, startResponse) {\n  startResponse('200 OK', [['content-type', 'text/plain']]);\n  return ['readme app'];\n}\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  // Kill whatever the command left behind (its whole process group).
  for (const p of groups.splice(0)) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

describe("the README's serve commands", { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('all start the server as node --import tsx (one process, so SIGTERM reaches it), never npx', () => {
    expect(serveLines.length).toBeGreaterThanOrEqual(3);
    for (const line of serveLines) expect(line, line).toMatch(/^node --import tsx /);
  });

  it('the quick-start serve line stops on a SIGTERM sent to its PID alone, and frees the port', async () => {
    const quick = serveLines.find((l) => l.includes('./my-app.ts:app'));
    expect(quick).toBeDefined();
    const argv = quick!
      .replace('./my-app.ts:app', `${join(dir, 'my-app.mjs')}:app`)
      .replace(/--port \d+/, '--port 0')
      .split(' ');
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    groups.push(child);
    let out = '';
    child.stdout!.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no listening line within ${START_BOUND_MS} ms: ${out}`)),
        START_BOUND_MS,
      );
      child.stdout!.on('data', (d: string) => {
        out += d;
        const m = /^listening on (http:\/\/\S+)$/m.exec(out);
        if (m) (clearTimeout(timer), resolve(m[1]!));
      });
    });
    expect((await fetchText(`${url}/`)).body).toBe('readme app');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM'); // this PID only, as systemd or docker stop do
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), EXIT_BOUND_MS))]);
    expect(code).toBe(0);
    expect(await refused(Number(new URL(url).port))).toBe(true);
  });
});
