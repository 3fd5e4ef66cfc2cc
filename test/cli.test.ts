/**
 * `spindle serve` as the acceptance checks run it:
 * `node --import tsx src/cli.ts serve /abs/app.mjs:EXPORT --style S --port 0`.
 * Each error path: its exit code and its one `spindle: ` line on stderr.
 * Serving: the first stdout line, answers in every style, and a clean exit 0
 * on SIGTERM and SIGINT, with an in-flight response allowed to finish.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_APP, EXIT_LISTEN, EXIT_USAGE } from '../src/cli/errors.js';
import {
  CHILD_TEST_TIMEOUT_MS,
  ROOT,
  exitWithin,
  fetchText,
  startNode,
  startServer,
  stopAll,
  RUN_BOUND_MS,
} from './cli-process.js';

let dir: string;
const fixtures: Record<string, string> = {
  'iter.mjs': `export function hello(environ, startResponse) {
  startResponse('200 OK', [['content-type', 'text/plain'], ['x-spindle-pid', String(process.pid)]]);
  return ['iter says ', environ.PATH_INFO, '\\n'];
}\n`,
  'cps.mjs': `export const app = (request) => {
  request.setHeader('content-type', 'text/plain');
  request.write('cps says ' + request.path + '\\n');
  request.finish();
};\n`,
  'fetch.mjs': "export default { fetch: (req) => new Response('fetch says ' + new URL(req.url).pathname + '\\n') };\n",
  'slow.mjs': `export const style = 'cps';
export const app = (request) => {
  request.write('started\\n');
  // Finish only after the stop signal: the response is surely in flight when it comes.
  process.once('SIGTERM', () => request.reactor.callLater(0.2, () => { request.write('finished\\n'); request.finish(); }));
};\n`,
  'events.mjs': `import { eventSource } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};
export const style = 'cps';
export const app = (request) => eventSource(request, { heartbeat: 0 }).send({ data: 'first' });
`,
  'hang.mjs': "export const style = 'cps';\nexport const app = (request) => { request.write('started\\n'); };\n",
  'threaded.mjs': `import { threadId } from 'node:worker_threads';
export function app(environ, startResponse) {
  startResponse('200 OK', [['content-type', 'text/plain']]);
  return ['thread ' + threadId];
}\n`,
  'plain.mjs': 'export default function app(a, b) { return []; }\n',
  'throws.mjs': "throw new Error('cannot start: no config');\n",
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spindle-cli-'));
  for (const [name, text] of Object.entries(fixtures)) writeFileSync(join(dir, name), text);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

const cli = (...args: string[]) => ['src/cli.ts', ...args];
const fixture = (name: string) => join(dir, name);

/** Run the CLI to its exit; return code and output. */
async function run(...args: string[]) {
  const child = startNode(cli(...args));
  const exit = await exitWithin(child, RUN_BOUND_MS);
  return { ...exit, stdout: child.stdout(), stderr: child.stderr() };
}

describe('spindle: help and version', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('--help prints usage on stdout and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: spindle <command>/);
  });

  it('serve --help lists the options and exit codes', async () => {
    const r = await run('serve', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--style iter|cps|fetch');
    expect(r.stdout).toContain('Exit codes:');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await run('--version');
    expect(r).toMatchObject({ code: 0, stdout: `spindle ${pkg.version}\n` });
  });
});

describe('spindle: error paths, one stderr line and a distinct exit code', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  const expectOneLine = (stderr: string, pattern: RegExp) => {
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(stderr).toMatch(/^spindle: /);
    expect(stderr).toMatch(pattern);
  };

  it(`a bad argument exits ${EXIT_USAGE}`, async () => {
    const r = await run('serve', fixture('iter.mjs'), '--port', 'eighty');
    expect(r.code).toBe(EXIT_USAGE);
    expectOneLine(r.stderr, /--port expects a whole number from 0 to 65535, got 'eighty'/);
    expect(r.stdout).toBe('');
  });

  it(`no command exits ${EXIT_USAGE}`, async () => {
    const r = await run();
    expect(r.code).toBe(EXIT_USAGE);
    expectOneLine(r.stderr, /missing command/);
  });

  it(`an access log that cannot be opened exits ${EXIT_USAGE}`, async () => {
    const r = await run(
      'serve',
      `${fixture('cps.mjs')}:app`,
      '--style',
      'cps',
      '--port',
      '0',
      `--access-log=${join(dir, 'no', 'such', 'dir.log')}`,
    );
    expect(r.code).toBe(EXIT_USAGE);
    expectOneLine(r.stderr, /--access-log cannot open '.*dir\.log' for appending: ENOENT/);
  });

  it(`a missing module exits ${EXIT_APP}`, async () => {
    const r = await run('serve', fixture('nope.mjs'), '--style', 'iter', '--port', '0');
    expect(r.code).toBe(EXIT_APP);
    expectOneLine(r.stderr, /cannot find module '.*nope\.mjs'/);
  });

  it(`a missing export exits ${EXIT_APP} and names the exports there are`, async () => {
    const r = await run('serve', `${fixture('iter.mjs')}:app`, '--style', 'iter', '--port', '0');
    expect(r.code).toBe(EXIT_APP);
    expectOneLine(r.stderr, /no export named 'app'; its exports: hello/);
  });

  it(`a module that throws on import exits ${EXIT_APP}`, async () => {
    const r = await run('serve', fixture('throws.mjs'), '--style', 'cps', '--port', '0');
    expect(r.code).toBe(EXIT_APP);
    expectOneLine(r.stderr, /importing '.*throws\.mjs' failed: cannot start: no config/);
  });

  it(`an app whose style cannot be told exits ${EXIT_APP} and asks for --style`, async () => {
    const r = await run('serve', fixture('plain.mjs'), '--port', '0');
    expect(r.code).toBe(EXIT_APP);
    expectOneLine(r.stderr, /cannot tell the style of .*plain\.mjs:default: pass --style iter\|cps\|fetch/);
  });

  describe('with a port taken', () => {
    let blocker: Server;
    let port: number;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
      port = (blocker.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((done) => blocker.close(() => done())));

    it(`a port in use exits ${EXIT_LISTEN}`, async () => {
      const r = await run('serve', `${fixture('iter.mjs')}:hello`, '--style', 'iter', '--port', String(port));
      expect(r.code).toBe(EXIT_LISTEN);
      expectOneLine(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
      expect(r.stdout).toBe('');
    });
  });
});

describe('spindle serve', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('serves an iter app on port 0: first stdout line, a 200, exit 0 on SIGTERM', async () => {
    const { child, url } = await startServer(
      cli('serve', `${fixture('iter.mjs')}:hello`, '--style', 'iter', '--port', '0'),
    );
    expect(child.stdout().split('\n')[0]).toMatch(/^listening on http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const reply = await fetchText(`${url}/a/b`);
    expect(reply).toMatchObject({ status: 200, body: 'iter says /a/b\n' });
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });

  it('serves a CPS app (file: URL, named export) and exits 0 on SIGINT', async () => {
    const { child, url } = await startServer(
      cli('serve', `file://${fixture('cps.mjs')}:app`, '--style', 'cps', '--port', '0'),
    );
    expect(await fetchText(`${url}/x`)).toMatchObject({ status: 200, body: 'cps says /x\n' });
    child.proc.kill('SIGINT');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });

  it('detects a Fetch handler object without --style', async () => {
    const { child, url } = await startServer(cli('serve', fixture('fetch.mjs'), '--port', '0'));
    expect(await fetchText(`${url}/f`)).toMatchObject({ status: 200, body: 'fetch says /f\n' });
    child.proc.kill('SIGTERM');
    expect((await exitWithin(child)).code).toBe(0);
  });

  it('serves a TypeScript module: the Fetch handler example, relative to the working directory', async () => {
    const { child, url } = await startServer(
      cli('serve', 'examples/fetch-handler.ts:handler', '--style', 'fetch', '--port', '0'),
    );
    expect(await fetchText(`${url}/count?to=2`)).toMatchObject({ status: 200, body: '1\n2\n' });
    child.proc.kill('SIGTERM');
    expect((await exitWithin(child)).code).toBe(0);
  });

  it('lets an in-flight response finish after SIGTERM, then exits 0', async () => {
    const { child, url } = await startServer(cli('serve', fixture('slow.mjs'), '--port', '0'));
    // Signal once the first half of the body has arrived: the response is in flight.
    const body = await new Promise<string>((resolve, reject) => {
      httpGet(`${url}/`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.once('data', () => child.proc.kill('SIGTERM'));
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe('started\nfinished\n');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });

  it('ends an open server-sent event stream at SIGTERM instead of holding the drain for its grace', async () => {
    const { child, url } = await startServer(cli('serve', fixture('events.mjs'), '--port', '0'));
    const body = await new Promise<string>((resolve, reject) => {
      httpGet(`${url}/`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.once('data', () => child.proc.kill('SIGTERM'));
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text)); // a whole response: the stream was ended, not cut
        res.on('error', reject);
      }).on('error', reject);
    });
    expect(body).toBe('data: first\n\n');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    expect(child.stderr()).not.toMatch(/still running/);
  });

  it('exits 0 within the bound after SIGTERM even when a response never finishes (logged as JSON); a repeat at once is not a force', async () => {
    const { child, url } = await startServer(cli('serve', fixture('hang.mjs'), '--port', '0', '--log-format', 'json'));
    await new Promise<void>((resolve, reject) => {
      httpGet(`${url}/`, { agent: false }, (res) => {
        res.once('data', () => {
          // The same stop delivered twice (as npm, tsx and a terminal can): still a graceful stop.
          child.proc.kill('SIGTERM');
          child.proc.kill('SIGTERM');
          resolve();
        });
        res.on('error', () => undefined);
      }).on('error', () => undefined);
      setTimeout(() => reject(new Error('no response started')), 10_000).unref();
    });
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    // spindle's own log follows --log-format: one JSON object per line on stderr.
    const events = child
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; namespace: string; message: string });
    expect(events).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        namespace: 'spindle.cli',
        message: '1 response(s) still running 3s after the stop signal; closing them',
      }),
    );
  });

  it('a client that sends FIN mid-response is gone: the response is not counted in flight, SIGTERM exits without waiting for it', async () => {
    const { child, url } = await startServer(cli('serve', fixture('hang.mjs'), '--port', '0', '--log-format', 'json'));
    const { port } = new URL(url);
    const sock = connect(Number(port), '127.0.0.1');
    sock.on('error', () => undefined);
    // The server closes its side once it has taken the FIN as the client leaving.
    const closedByServer = new Promise<void>((resolve) => sock.once('end', () => resolve()));
    await new Promise<void>((resolve) => {
      sock.once('data', () => resolve());
      sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    sock.end();
    await closedByServer;
    sock.destroy();
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    expect(child.stderr()).not.toContain('still running');
  });

  it('writes an access log line per response, as text or JSON', async () => {
    const text = await startServer(
      cli('serve', `${fixture('cps.mjs')}:app`, '--style', 'cps', '--port', '0', '--access-log'),
    );
    await fetchText(`${text.url}/logged?q=1`, { headers: { 'user-agent': 'vitest' } });
    text.child.proc.kill('SIGTERM');
    await exitWithin(text.child);
    expect(text.child.stdout().split('\n')[1]).toMatch(
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/logged\?q=1 HTTP\/1\.1" 200 17 \d+\.\d{3}s$/,
    );

    const json = await startServer(
      cli(
        'serve',
        `${fixture('cps.mjs')}:app`,
        '--style',
        'cps',
        '--port',
        '0',
        '--access-log',
        '-',
        '--log-format',
        'json',
      ),
    );
    await fetchText(`${json.url}/j`, { headers: { 'user-agent': 'vitest' } });
    json.child.proc.kill('SIGTERM');
    await exitWithin(json.child);
    const line = JSON.parse(json.child.stdout().split('\n')[1]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      method: 'GET',
      uri: '/j',
      status: 200,
      bytes: 12,
      completed: true,
      user_agent: 'vitest',
    });
  });

  it('--threads runs an iter app on worker threads', async () => {
    const { child, url } = await startServer(
      cli('serve', fixture('threaded.mjs'), '--style', 'iter', '--threads', '2', '--port', '0'),
    );
    const reply = await fetchText(`${url}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/^thread [1-9]\d*$/);
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
  });

  it('--processes 2 answers from two processes on one port and stops cleanly', async () => {
    const { child, url } = await startServer(
      cli('serve', `${fixture('iter.mjs')}:hello`, '--style', 'iter', '--processes', '2', '--port', '0'),
    );
    const pids = new Set<string>();
    // Fresh connections are spread over the workers; stop as soon as two have answered.
    for (let i = 0; i < 200 && pids.size < 2; i++) {
      const reply = await fetchText(`${url}/`);
      expect(reply.status).toBe(200);
      pids.add(String(reply.headers['x-spindle-pid']));
    }
    expect(pids.size).toBe(2);
    expect(pids.has(String(child.proc.pid))).toBe(false);
    child.proc.kill('SIGTERM');
    expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    expect(child.stderr()).toBe('');
  });

  it(`--processes reports a worker's start-up error once, with its exit code`, async () => {
    const r = await run('serve', fixture('nope.mjs'), '--style', 'iter', '--processes', '2', '--port', '0');
    expect(r.code).toBe(EXIT_APP);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^spindle: cannot find module/);
  });
});
