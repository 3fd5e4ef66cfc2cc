/**
 * Server-sent events read by real clients, both app styles: Node's fetch
 * stream, curl -N, and EventSource in headless Chromium, which reconnects
 * with Last-Event-ID after the server ends a response and resumes from there.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HTTPFactory,
  Logger,
  LogPublisher,
  NOT_DONE_YET,
  NodeReactor,
  Resource,
  WSGIResource,
  eventSource,
  iterEventSource,
  site,
} from '../src/index.js';
import type { IListeningPort, IWebRequest, IterApp } from '../src/index.js';

const run = promisify(execFile);
/** Each connection sends the next PER_CONNECTION events after Last-Event-ID, up to LAST; then 204 tells the client to stop. */
const PER_CONNECTION = 3;
const LAST = 6;
const seen: Record<string, string[]> = { cps: [], iter: [] };

function plan(lastEventId: string): number[] {
  const from = Number(lastEventId || '0');
  const ids: number[] = [];
  for (let id = from + 1; id <= Math.min(from + PER_CONNECTION, LAST); id++) ids.push(id);
  return ids;
}

class CpsEvents extends Resource {
  render_GET(request: IWebRequest): string | typeof NOT_DONE_YET {
    const last = request.headers.get('last-event-id') ?? '';
    seen.cps!.push(last);
    if (plan(last).length === 0) {
      request.setResponseCode(204);
      return '';
    }
    const stream = eventSource(request, { heartbeat: 0, retry: 50 });
    for (const id of plan(last)) stream.send({ id: String(id), data: `cps ${id}\nline 2` });
    stream.end();
    return NOT_DONE_YET;
  }
}

const iterEvents: IterApp = (environ, startResponse) => {
  const last = typeof environ.HTTP_LAST_EVENT_ID === 'string' ? environ.HTTP_LAST_EVENT_ID : '';
  seen.iter!.push(last);
  if (plan(last).length === 0) {
    startResponse('204 No Content', []);
    return [];
  }
  const stream = iterEventSource(environ, startResponse, { heartbeat: 0, retry: 50 });
  for (const id of plan(last)) stream.send({ id: String(id), event: 'message', data: `iter ${id}\nline 2` });
  stream.end();
  return stream;
};

class Page extends Resource {
  override isLeaf = true;
  render_GET(request: IWebRequest): string {
    const url = `/${request.postpath[0] ?? 'cps'}`;
    return `<!DOCTYPE html><html><body><script>
window.got = [];
const es = new EventSource(${JSON.stringify(url)});
es.onmessage = (e) => {
  window.got.push(e.lastEventId + '|' + e.data);
  if (window.got.length === ${LAST}) { es.close(); window.done = true; }
};
</script></body></html>`;
  }
}

let reactor: NodeReactor;
let port: IListeningPort;
let base: string;
beforeAll(async () => {
  const root = new Resource();
  root.putChild('cps', new CpsEvents());
  root.putChild('iter', new WSGIResource(iterEvents));
  root.putChild('page', new Page());
  reactor = new NodeReactor();
  reactor.run();
  const quiet = new Logger('test.sse', new LogPublisher());
  port = await reactor.listenTCP(0, new HTTPFactory(site(root), { reactor, logger: quiet }), { host: '127.0.0.1' });
  base = `http://127.0.0.1:${port.getHost().port}`;
});
afterAll(async () => {
  await port.stopListening();
  await reactor.stop();
});

const frames = (style: string, ids: number[]) =>
  'retry: 50\n\n' +
  ids
    .map((id) => `${style === 'iter' ? 'event: message\n' : ''}id: ${id}\ndata: ${style} ${id}\ndata: line 2\n\n`)
    .join('');

describe.each(['cps', 'iter'])('server-sent events (%s) to real clients', (style) => {
  it("Node's fetch reads the stream as it comes, and Last-Event-ID resumes it", async () => {
    const first = await fetch(`${base}/${style}`);
    expect([first.status, first.headers.get('content-type'), first.headers.get('cache-control')]).toEqual([
      200,
      'text/event-stream; charset=utf-8',
      'no-cache',
    ]);
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of first.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
    expect(text).toBe(frames(style, [1, 2, 3]));
    const resumed = await fetch(`${base}/${style}`, { headers: { 'Last-Event-ID': '3' } });
    expect(await resumed.text()).toBe(frames(style, [4, 5, 6]));
    const over = await fetch(`${base}/${style}`, { headers: { 'Last-Event-ID': '6' } });
    expect(over.status).toBe(204);
  });

  it('curl -N receives the frames byte for byte', async () => {
    const { stdout } = await run('curl', ['-sN', '-H', 'Last-Event-ID: 2', `${base}/${style}`]);
    expect(stdout).toBe(frames(style, [3, 4, 5]));
  });
});

describe('server-sent events in headless Chromium', () => {
  let browser: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    // A fresh profile directory per run (playwright passes it as --user-data-dir).
    profile = mkdtempSync(join(tmpdir(), 'spindle-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it.each(['cps', 'iter'])('%s: EventSource gets every event and reconnects with Last-Event-ID', async (style) => {
    seen[style] = [];
    const page = await browser.newPage();
    await page.goto(`${base}/page/${style}`);
    await page.waitForFunction(() => (globalThis as unknown as { done?: boolean }).done === true);
    const got = await page.evaluate(() => (globalThis as unknown as { got: string[] }).got);
    await page.close();
    expect(got).toEqual([1, 2, 3, 4, 5, 6].map((id) => `${id}|${style} ${id}\nline 2`));
    expect(seen[style]!.slice(0, 2)).toEqual(['', '3']); // the second connection carried Last-Event-ID: 3
  });
});
