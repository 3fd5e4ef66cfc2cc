/**
 * Every example runs, as a user would run it, in a child process with a
 * bound: the tools finish by themselves with exit 0; the servers print
 * `listening on http://...`, answer a request, and exit 0 after SIGTERM.
 * A new file in examples/ without a case here fails the suite, so none rots.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  CHILD_TEST_TIMEOUT_MS,
  ROOT,
  exitWithin,
  fetchText,
  startNode,
  startServer,
  stopAll,
  waitForStdout,
  type Reply,
  RUN_BOUND_MS,
} from './cli-process.js';

afterEach(stopAll);

type ServerCheck = (url: string) => Promise<void>;
const ok = (r: Reply): Reply => {
  expect(r.status).toBe(200);
  return r;
};

/** Examples that serve HTTP: what to ask and what must come back. */
const servers: Record<string, ServerCheck> = {
  'http-deferred.ts': async (url) => {
    expect(ok(await fetchText(`${url}/?user=ada`)).body).toBe(
      'hello ada (member since 2024)\n- welcome, ada\n- you have no new mail\n',
    );
  },
  'port-async-to-iter.ts': async (url) => {
    expect(JSON.parse(ok(await fetchText(`${url}/users/7`)).body)).toEqual({ id: '7', name: 'user 7' });
    expect(JSON.parse(ok(await fetchText(`${url}/legacy/users/8`)).body)).toEqual({ id: '8', name: 'user 8' });
  },
  'fetch-handler.ts': async (url) => {
    expect(ok(await fetchText(`${url}/count?to=3`)).body).toBe('1\n2\n3\n');
    expect(ok(await fetchText(`${url}/upper`, { method: 'POST', body: 'streams through' })).body).toBe(
      'STREAMS THROUGH',
    );
  },
  'reverse-proxy.ts': async (url) => {
    const r = ok(await fetchText(`${url}/hello?x=1`, { method: 'POST', body: 'abc' }));
    expect(r.body).toMatch(
      /^upstream got POST \/hello\?x=1 \(3 body bytes\)\nX-Forwarded-For: 127\.0\.0\.1\nForwarded: for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"\n$/,
    );
    // A WebSocket through the proxy to the stand-in upstream's echo.
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`${url.replace('http:', 'ws:')}/ws`);
    await new Promise((done, fail) => ws.once('open', done).once('error', fail));
    const echoed = new Promise<string>((done) => ws.once('message', (d) => done(d.toString())));
    ws.send('through the proxy');
    expect(await echoed).toBe('through the proxy');
    const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  },
  'node-http.ts': async (url) => {
    expect(ok(await fetchText(`${url}/spindle/hello`)).body).toBe(
      'iterator app, path /spindle/hello\nchunk 1\nchunk 2\nchunk 3\n',
    );
    expect(ok(await fetchText(`${url}/cps/hello`)).body).toBe('CPS app, GET /cps/hello\n');
    expect(ok(await fetchText(`${url}/`)).body).toMatch(/plain node:http/);
  },
};

/** A TCP client that collects what it receives, for the line-based examples. */
async function client(
  port: number,
): Promise<{ socket: Socket; received: () => string; waitFor: (text: string) => Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
  let received = '';
  const waiters: Array<() => void> = [];
  socket.setEncoding('utf8').on('data', (d: string) => {
    received += d;
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = async (text: string): Promise<void> => {
    while (!received.includes(text)) await new Promise<void>((done) => waiters.push(done));
  };
  return { socket, received: () => received, waitFor };
}

/** Raw TCP examples (examples/echo.ts and chat.ts, by the TCP engineer): argv, ready line, check. */
const tcpServers: Record<string, (port: number) => Promise<void>> = {
  'echo.ts': async (port) => {
    const c = await client(port);
    c.socket.write('hello, echo\n');
    await c.waitFor('hello, echo\n');
    c.socket.end();
    await new Promise((done) => c.socket.once('close', done));
    expect(c.received()).toBe('hello, echo\n');
  },
  'chat.ts': async (port) => {
    const ann = await client(port);
    const bob = await client(port);
    await ann.waitFor('What is your name?');
    await bob.waitFor('What is your name?');
    ann.socket.write('ann\r\n');
    await ann.waitFor('Hello ann');
    bob.socket.write('bob\r\n');
    await ann.waitFor('<bob> (joined)');
    ann.socket.write('hi bob\r\n');
    await bob.waitFor('<ann> hi bob\r\n');
    ann.socket.destroy();
    bob.socket.destroy();
  },
};

/** Examples that export an app for `spindle serve MODULE:app --style cps`: what to check on it. */
const cliServers: Record<string, ServerCheck> = {
  'twisted-web-port.ts': async (url) => {
    expect(ok(await fetchText(`${url}/delayed?seconds=0.05`)).body).toBe(
      '<html><body>Sorry to keep you waiting.</body></html>',
    );
    expect(ok(await fetchText(`${url}/form`)).body).toContain('<form method="POST"><input name="the-field"');
    const posted = ok(
      await fetchText(`${url}/form`, {
        method: 'POST',
        body: 'the-field=%3Cb%3Ehi%3C%2Fb%3E',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(posted.body).toBe('<html><body>You submitted: &#60;b&#62;hi&#60;/b&#62;</body></html>');
    const old = await fetchText(`${url}/old`);
    expect([old.status, old.headers.location]).toEqual([302, '/form']);
  },
  'websocket-echo.ts': async (url) => {
    expect(ok(await fetchText(`${url}/`)).body).toMatch(/<title>spindle WebSocket<\/title>/);
    const { default: WebSocket } = await import('ws');
    for (const path of ['/ws/cps', '/ws/iter']) {
      const ws = new WebSocket(`${url.replace('http:', 'ws:')}${path}`);
      await new Promise((done, fail) => ws.once('open', done).once('error', fail));
      const echoed = new Promise<string>((done) => ws.once('message', (d) => done(d.toString())));
      ws.send(`hello ${path}`);
      expect(await echoed).toBe(`hello ${path}`);
      const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
      ws.close(1000);
      expect(await closed).toBe(1000);
    }
    // A browser or curl opening a WebSocket path as a page is told so, by either style (not a 500).
    for (const path of ['/ws/cps', '/ws/iter', '/chat/cps', '/chat/iter']) {
      const reply = await fetchText(`${url}${path}`);
      expect([path, reply.status, reply.body]).toEqual([path, expect.any(Number), expect.stringMatching(/WebSocket/)]);
      expect(reply.status === 400 || reply.status === 426).toBe(true);
    }
  },
};

/** Examples that run to completion: argv and what stdout must hold. */
const tools: Record<string, { args: string[]; stdout: RegExp }> = {
  'embed-cli-tool.ts': { args: [], stdout: /^received 50 lines$/m },
  'http-client.ts': {
    args: [],
    stdout:
      /^GET http:\/\/127\.0\.0\.1:\d+\/ -> 200 OK, 63 bytes, text\/html; charset=utf-8\nsent 0% \(initial\)\n[\s\S]*upload done: 200 received 16777216 bytes\n$/,
  },
  'test-your-protocol.ts': { args: [], stdout: /^(ok - .+\n){2}$/ },
};

describe('examples', { timeout: CHILD_TEST_TIMEOUT_MS }, () => {
  it('every example in examples/ has a case here', () => {
    const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'));
    const known = [
      ...Object.keys(servers),
      ...Object.keys(tools),
      ...Object.keys(tcpServers),
      ...Object.keys(cliServers),
    ];
    expect(files.filter((f) => !known.includes(f))).toEqual([]);
  });

  for (const [file, check] of Object.entries(servers)) {
    it(`${file} serves, answers, and exits 0 on SIGTERM`, async () => {
      const { child, url } = await startServer([`examples/${file}`], { PORT: '0' });
      await check(url);
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    });
  }

  for (const [file, check] of Object.entries(cliServers)) {
    it(`${file} runs under spindle serve --style cps, answers, and exits 0 on SIGTERM`, async () => {
      const { child, url } = await startServer([
        'src/cli.ts',
        'serve',
        `examples/${file}:app`,
        '--style',
        'cps',
        '--port',
        '0',
      ]);
      await check(url);
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    });
  }

  for (const [file, check] of Object.entries(tcpServers)) {
    it(`${file} listens on port 0, talks, and exits 0 on SIGTERM`, async () => {
      const child = startNode([`examples/${file}`, '0']);
      const m = await waitForStdout(child, /listening on 127\.0\.0\.1:(\d+)/);
      await check(Number(m[1]));
      child.proc.kill('SIGTERM');
      expect(await exitWithin(child)).toEqual({ code: 0, signal: null });
    });
  }

  for (const [file, { args, stdout }] of Object.entries(tools)) {
    it(`${file} runs to completion with exit 0`, async () => {
      const child = startNode([`examples/${file}`, ...args]);
      expect(await exitWithin(child, RUN_BOUND_MS)).toEqual({ code: 0, signal: null });
      expect(child.stdout()).toMatch(stdout);
    });
  }
});
