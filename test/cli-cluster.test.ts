/**
 * `spindle serve --processes N` keeps serving when a worker dies (the primary
 * replaces it, logged, bounded per minute), and SIGHUP replaces every worker
 * one by one (a reload of the app's code) with no failed request under load:
 * autocannon runs while the reload happens; a new worker listens before an
 * old one is retired, and a retired one serves what arrives on its open
 * connections with Connection: close, so clients move to the new workers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHILD_TEST_TIMEOUT_MS, exitWithin, fetchText, startServer, stopAll, type Child } from './cli-process.js';

interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  resets: number;
}
interface AutocannonInstance {
  on(event: 'response', fn: () => void): void;
  stop(): void;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: { url: string; connections: number; duration: number },
  done: (err: unknown, result: AutocannonResult) => void,
) => AutocannonInstance;

let dir: string;
const app = (version: string) =>
  `export const style = 'iter';\nexport function app(environ, startResponse) {\n  startResponse('200 OK', [['content-type', 'text/plain']]);\n  return ['${version} ' + process.pid];\n}\n`;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-cluster-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

/** Resolve when `pattern` has appeared `times` times on the child's stderr. */
function stderrSays(child: Child, pattern: RegExp, times = 1): Promise<void> {
  const global = new RegExp(pattern.source, 'g');
  return new Promise((resolve, reject) => {
    const check = (): boolean => (child.stderr().match(global)?.length ?? 0) >= times;
    if (check()) return resolve();
    const onData = () => {
      if (check()) {
        child.proc.stderr!.off('data', onData);
        resolve();
      }
    };
    child.proc.stderr!.on('data', onData);
    void child.exited.then(() => reject(new Error(`exited before stderr said ${pattern}:\n${child.stderr()}`)));
  });
}

describe('spindle serve --processes', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('replaces a worker that is killed, and the server keeps answering', async () => {
    writeFileSync(join(dir, 'kill.mjs'), app('v1'));
    const { child, url } = await startServer([
      'src/cli.ts',
      'serve',
      join(dir, 'kill.mjs'),
      '--processes',
      '2',
      '--port',
      '0',
    ]);
    const victim = Number((await fetchText(`${url}/`)).body.split(' ')[1]);
    process.kill(victim, 'SIGKILL');
    // Once the primary saw it die (a connection handed over at the instant of the
    // kill dies with the worker), the other worker answers every request while
    // the replacement starts.
    await stderrSays(
      child,
      new RegExp(
        `worker ${victim} exited unexpectedly \\(SIGKILL\\); starting a replacement \\(1 of 10 allowed in 60 s\\)`,
      ),
    );
    for (let i = 0; i < 6; i++) expect((await fetchText(`${url}/`)).status).toBe(200);
    await stderrSays(child, /\[spindle\.cluster#info\] worker \d+ serves\n/);
    const pids = new Set<number>();
    for (let i = 0; i < 200 && pids.size < 2; i++) {
      const reply = await fetchText(`${url}/`);
      expect(reply.status).toBe(200);
      pids.add(Number(reply.body.split(' ')[1]));
    }
    expect(pids.size).toBe(2);
    expect(pids.has(victim)).toBe(false);
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });

  it('SIGHUP reloads the code worker by worker under load (autocannon) with 0 failed requests', async () => {
    const file = join(dir, 'reload.mjs');
    writeFileSync(file, app('v1'));
    const { child, url } = await startServer(['src/cli.ts', 'serve', file, '--processes', '2', '--port', '0']);
    expect((await fetchText(`${url}/`)).body).toMatch(/^v1 /);
    writeFileSync(file, app('v2'));
    let load: AutocannonInstance | undefined;
    const result = new Promise<AutocannonResult>((resolve, reject) => {
      load = autocannon({ url, connections: 8, duration: 30 }, (err, r) => (err ? reject(err) : resolve(r)));
    });
    let signalled = false;
    load!.on('response', () => {
      if (signalled) return;
      signalled = true;
      child.proc.kill('SIGHUP');
    });
    // Both old workers replaced and gone, under load the whole time; then the load stops.
    await stderrSays(child, /reload done: every worker was replaced/);
    await stderrSays(child, /worker \d+ retired/, 2);
    load!.stop();
    const r = await result;
    expect(r['2xx']).toBeGreaterThan(0);
    expect({ errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, resets: r.resets }).toEqual({
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      resets: 0,
    });
    for (let i = 0; i < 4; i++) expect((await fetchText(`${url}/`)).body).toMatch(/^v2 /);
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });
});
