/**
 * The demo, in process on 127.0.0.1 port 0: every link on the index answers
 * 200, each part does what the index says, and every response names the
 * process that answered (X-Spindle-Pid).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';
import { createDemo, type Demo } from '../examples/demo/app.js';
import { LINKS } from '../examples/demo/pages.js';
import { clockApp, parseTicks, MAX_TICKS } from '../examples/demo/clock.js';
import { Clock } from '../src/reactor/clock.js';
import type { Chunk, Environ } from '../src/bridge/interfaces.js';
import { fetchText } from './cli-process.js';
import { captureLogs } from '../src/reactor/log.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let reactor: NodeReactor;
let logs: ReturnType<typeof captureLogs>;
let port: IListeningPort;
let demo: Demo;
let base: string;

beforeAll(async () => {
  logs = captureLogs();
  reactor = new NodeReactor();
  reactor.run();
  demo = createDemo({ tickSeconds: 0.01 });
  port = await reactor.listenTCP(0, new HTTPFactory(demo.app, { reactor }), { host: '127.0.0.1' });
  base = `http://127.0.0.1:${port.getHost().port}`;
});

afterAll(async () => {
  await port.stopListening();
  await reactor.stop();
  logs.restore();
});

describe('the demo', () => {
  it('links every part from the index, and every link answers 200 with X-Spindle-Pid', async () => {
    const index = await fetchText(`${base}/`);
    expect(index.status).toBe(200);
    const hrefs = [...index.body.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(hrefs).toEqual(['/', ...LINKS.map(([href]) => href)]);
    for (const href of hrefs) {
      const reply = await fetchText(`${base}${href}`);
      expect(reply.status, href).toBe(200);
      expect(reply.headers['x-spindle-pid'], href).toBe(String(process.pid));
    }
  });

  it('the CPS app answers the same through toIterApp and the gateway', async () => {
    const direct = await fetchText(`${base}/cps`);
    const bridged = await fetchText(`${base}/cps-via-iter`);
    expect(bridged.body).toBe(direct.body.replace('GET /cps\n', 'GET /cps-via-iter\n'));
    expect(direct.body).toMatch(/^Hello from a CPS app.*\nYou asked for GET \/cps\nThe Deferred fired: /);
  });

  it('the iterator app streams its environ lines', async () => {
    const reply = await fetchText(`${base}/iter?x=1`, { headers: { 'user-agent': 'demo-test' } });
    expect(reply.body).toContain('You asked for GET /iter?x=1\n');
    expect(reply.body).toContain('HTTP_USER_AGENT = demo-test\n');
  });

  it('the clock ticks the number of times asked, then ends', async () => {
    const reply = await fetchText(`${base}/clock?ticks=3`);
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(
      reply.body
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('  ')[0]),
    ).toEqual(['tick 1/3', 'tick 2/3', 'tick 3/3']);
  });

  it('the upload echo returns a large body byte for byte, and its form on GET', async () => {
    const body = Array.from({ length: 40_000 }, (_, i) => `line ${i}\n`).join('');
    const reply = await fetchText(`${base}/upload`, { method: 'POST', body });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(body.length);
    expect(reply.body === body).toBe(true);
    expect((await fetchText(`${base}/upload`)).body).toContain('<form method="post" action="/upload"');
    expect((await fetchText(`${base}/upload`, { method: 'DELETE' })).status).toBe(405);
  });

  it('the upload echo answers curl -T (PUT, with Expect: 100-continue past 1 MiB) byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spindle-put-'));
    try {
      const file = join(dir, 'big.bin');
      const data = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
      writeFileSync(file, data);
      const out = await new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((resolve) => {
        const curl = spawn('curl', [
          '-sS',
          '--max-time',
          '30',
          '-T',
          file,
          '-D',
          join(dir, 'head.txt'),
          `${base}/upload`,
        ]);
        const parts: Buffer[] = [];
        let stderr = '';
        curl.stdout.on('data', (d: Buffer) => parts.push(d));
        curl.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        curl.on('close', (code) => resolve({ code, stdout: Buffer.concat(parts), stderr }));
      });
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(readFileSync(join(dir, 'head.txt'), 'latin1')).toMatch(
        /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
      );
      expect(out.stdout.equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the statistics count requests and show the reactor', async () => {
    const before = demo.requestStats.requests;
    const reply = await fetchText(`${base}/stats.json`);
    const stats = JSON.parse(reply.body) as {
      pid: number;
      reactor: { openConnections: number; listeningPorts: number; pendingDelayedCalls: number };
      requests: { requests: number };
    };
    expect(stats.pid).toBe(process.pid);
    expect(stats.requests.requests).toBe(before + 1);
    expect(stats.reactor.openConnections).toBeGreaterThanOrEqual(1);
    expect(stats.reactor.listeningPorts).toBe(1);
    expect((await fetchText(`${base}/stats`)).body).toContain('<meta http-equiv="refresh" content="1">');
  });

  it('/files/ lists examples/ and serves a file with ranges and 304', async () => {
    const listing = await fetchText(`${base}/files/`);
    expect(listing.body).toContain('<a href="demo/">demo/</a>');
    const whole = await fetchText(`${base}/files/demo/tree.ts`);
    expect([whole.status, whole.headers['content-type']]).toEqual([200, 'text/plain; charset=utf-8']);
    const part = await fetchText(`${base}/files/demo/tree.ts`, { headers: { range: 'bytes=0-2' } });
    expect([part.status, part.body]).toEqual([206, whole.body.slice(0, 3)]);
    const again = await fetchText(`${base}/files/demo/tree.ts`, {
      headers: { 'if-none-match': String(whole.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect((await fetchText(`${base}/files/../package.json`)).status).toBe(404);
  });

  it('/events streams count ticks as server-sent events, then ends; Last-Event-ID resumes', async () => {
    const reply = await fetchText(`${base}/events?count=3`);
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect([...reply.body.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['1', '2', '3']);
    const resumed = await fetchText(`${base}/events?count=3`, { headers: { 'last-event-id': '2' } });
    expect([...resumed.body.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['3']);
  });

  it('an unknown path is a 404 that points to the index', async () => {
    const reply = await fetchText(`${base}/nowhere`);
    expect(reply).toMatchObject({ status: 404, body: 'no page at /nowhere; the index is at /\n' });
  });

  it('logged no warnings or errors while serving all of the above', () => {
    const bad = logs.events.filter((e) => e.level !== 'debug' && e.level !== 'info');
    expect(bad.map((e) => `${e.namespace}: ${e.message} ${e.failure?.getErrorMessage() ?? ''}`)).toEqual([]);
  });
});

describe('the demo clock, on a Clock', () => {
  function start(query: string) {
    const clock = new Clock();
    let paused = 0;
    let resumed = 0;
    const environ = {
      QUERY_STRING: query,
      'wsgi.pause_output': () => {
        paused++;
        return () => void resumed++;
      },
      'spindle.reactor': clock,
    } as unknown as Environ;
    const body = clockApp(1)(environ, () => () => undefined) as Iterable<Chunk>;
    return { clock, iterator: body[Symbol.iterator](), counts: () => ({ paused, resumed }) };
  }

  it('yields a tick, then pauses with an empty chunk until its timer resumes it', () => {
    const { clock, iterator, counts } = start('ticks=2');
    expect(iterator.next().value).toMatch(/^tick 1\/2 /);
    expect(iterator.next().value).toBe('');
    expect(counts()).toEqual({ paused: 1, resumed: 0 });
    clock.advance(1);
    expect(counts()).toEqual({ paused: 1, resumed: 1 });
    expect(iterator.next().value).toMatch(/^tick 2\/2 /);
    expect(iterator.next().done).toBe(true);
  });

  it('cancels its pending tick when the client goes away (return())', () => {
    const { clock, iterator } = start('ticks=5');
    iterator.next();
    iterator.next();
    expect(clock.getDelayedCalls()).toHaveLength(1);
    iterator.return?.(undefined);
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it('bounds ?ticks', () => {
    expect(parseTicks('ticks=0')).toBe(1);
    expect(parseTicks('ticks=99999999')).toBe(MAX_TICKS);
    expect(parseTicks('ticks=abc')).toBe(10);
    expect(parseTicks('')).toBe(10);
  });
});
