/**
 * RedirectAgent and ContentDecoderAgent on real sockets against node:http:
 * redirects followed (and bounded), credentials not sent to another origin,
 * gzip/deflate/br bodies decoded as they stream, with backpressure, and
 * broken compressed bodies failing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { RedirectAgent } from '../src/protocols/http/client/redirect.js';
import { ContentDecoderAgent } from '../src/protocols/http/client/decoder.js';
import { ResponseFailed, TooManyRedirects } from '../src/protocols/http/client/errors.js';
import type { IResponse } from '../src/protocols/http/client/interfaces.js';
import type { ITransport } from '../src/reactor/interfaces.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function agent() {
  const reactor = new NodeReactor();
  reactor.run();
  const pool = new HTTPConnectionPool(reactor);
  cleanups.push(() => reactor.stop());
  cleanups.push(() => pool.closeCachedConnections());
  return new Agent(reactor, { pool });
}

async function server(handler: http.RequestListener): Promise<{ base: string; connections: () => number }> {
  const s = http.createServer(handler);
  let n = 0;
  s.on('connection', () => n++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))));
  return { base: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, connections: () => n };
}

const text = async (r: IResponse) => Buffer.from(await readBody(r)).toString();

describe('RedirectAgent', () => {
  it('follows a chain of redirects, keeps the connection, links previousResponse', async () => {
    const srv = await server((req, res) => {
      const m = /^\/hop\/(\d+)$/.exec(req.url!);
      if (m && Number(m[1]) > 0) return res.writeHead(302, { Location: `/hop/${Number(m[1]) - 1}` }).end('moved');
      res.end(`arrived by ${req.method}`);
    });
    const r = await new RedirectAgent(agent()).request('GET', `${srv.base}/hop/3`);
    expect(r.code).toBe(200);
    expect(await text(r)).toBe('arrived by GET');
    expect(r.url).toBe(`${srv.base}/hop/0`);
    expect(r.previousResponse!.code).toBe(302);
    expect(r.previousResponse!.previousResponse!.previousResponse!.url).toBe(`${srv.base}/hop/3`);
    expect(srv.connections()).toBe(1);
  });

  it('303 turns a POST into a GET without a body; 307 on a POST is returned as it is', async () => {
    const srv = await server((req, res) => {
      if (req.url === '/form') return res.writeHead(303, { Location: '/done' }).end();
      if (req.url === '/keep') return res.writeHead(307, { Location: '/done' }).end();
      res.end(`${req.method} ${req.headers['content-length'] ?? '-'}`);
    });
    const a = new RedirectAgent(agent());
    expect(await text(await a.request('POST', `${srv.base}/form`, null, 'data'))).toBe('GET -');
    const kept = await a.request('POST', `${srv.base}/keep`, null, 'data');
    expect(kept.code).toBe(307);
    await readBody(kept);
  });

  it('stops after redirectLimit with TooManyRedirects', async () => {
    const srv = await server((_req, res) => res.writeHead(301, { Location: '/again' }).end());
    await expect(
      new RedirectAgent(agent(), { redirectLimit: 3 }).request('GET', `${srv.base}/`).asPromise(),
    ).rejects.toBeInstanceOf(TooManyRedirects);
  });

  it('does not send Authorization or Cookie to another origin', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const other = await server((req, res) => {
      seen.push(req.headers);
      res.end('other');
    });
    const first = await server((req, res) => {
      seen.push(req.headers);
      res.writeHead(302, { Location: `${other.base}/x` }).end();
    });
    const r = await new RedirectAgent(agent()).request('GET', `${first.base}/`, {
      Authorization: 'Bearer t',
      Cookie: 'a=1',
      'X-Keep': 'k',
    });
    expect(await text(r)).toBe('other');
    expect(seen[0]!.authorization).toBe('Bearer t');
    expect(seen[1]!.authorization).toBeUndefined();
    expect(seen[1]!.cookie).toBeUndefined();
    expect(seen[1]!['x-keep']).toBe('k');
  });
});

describe('ContentDecoderAgent', () => {
  const payload = Buffer.from('spindle '.repeat(50_000));
  const encoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: zlib.gzipSync,
    deflate: zlib.deflateSync,
    br: zlib.brotliCompressSync,
  };

  it('asks for gzip, deflate, br and decodes each; drops Content-Encoding and Content-Length', async () => {
    let asked = '';
    const srv = await server((req, res) => {
      asked = req.headers['accept-encoding'] ?? '';
      const coding = req.url!.slice(1);
      const body = encoders[coding]!(payload);
      res.writeHead(200, { 'Content-Encoding': coding, 'Content-Length': body.length }).end(body);
    });
    const a = new ContentDecoderAgent(agent());
    for (const coding of Object.keys(encoders)) {
      const r = await a.request('GET', `${srv.base}/${coding}`);
      expect(r.headers.has('content-encoding')).toBe(false);
      expect(r.headers.has('content-length')).toBe(false);
      expect(Buffer.from(await readBody(r)).equals(payload)).toBe(true);
    }
    expect(asked).toBe('gzip, deflate, br');
  });

  it('a body protocol that pauses stops the decoded stream; resuming finishes it', async () => {
    const srv = await server((_req, res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      res.end(zlib.gzipSync(payload));
    });
    const r = await new ContentDecoderAgent(agent()).request('GET', `${srv.base}/`);
    let t: ITransport | null = null;
    let got = 0;
    let pausedAt = -1;
    let onPause!: () => void;
    const paused = new Promise<void>((res) => (onPause = res));
    let onEnd!: () => void;
    const ended = new Promise<void>((res) => (onEnd = res));
    r.deliverBody({
      makeConnection: (x) => void (t = x),
      dataReceived: (d) => {
        got += d.length;
        if (pausedAt < 0) {
          pausedAt = got;
          t!.pauseProducing();
          onPause();
        }
      },
      connectionLost: () => onEnd(),
    });
    await paused;
    await new Promise<void>((res) => setImmediate(res));
    expect(got).toBeLessThan(payload.length);
    t!.resumeProducing();
    await ended;
    expect(got).toBe(payload.length);
  });

  it('a body that does not decode fails with ResponseFailed; unknown codings pass through', async () => {
    const srv = await server((req, res) => {
      if (req.url === '/bad') return res.writeHead(200, { 'Content-Encoding': 'gzip' }).end('not gzip at all');
      res.writeHead(200, { 'Content-Encoding': 'zstd' }).end('raw');
    });
    const a = new ContentDecoderAgent(agent());
    await expect(readBody(await a.request('GET', `${srv.base}/bad`)).asPromise()).rejects.toBeInstanceOf(
      ResponseFailed,
    );
    const raw = await a.request('GET', `${srv.base}/zstd`);
    expect(raw.headers.get('content-encoding')).toBe('zstd');
    expect(await text(raw)).toBe('raw');
  });
});
