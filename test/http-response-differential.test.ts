/**
 * Differential test of the response parser against Node's own client parser:
 * a raw net server on 127.0.0.1:0 sends each corpus response's bytes and
 * closes; node:http's client reads them, and spindle's ResponseParser reads the
 * same bytes. spindle must refuse every response Node refuses, read what both
 * accept identically (status, fields, body, trailers), and refuse what Node
 * accepts only where the corpus case says why (`stricter`), and accept what
 * Node refuses only where the case says why (`nodeRefuses`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseResponse, responseCorpus, type ResponseEvent } from './http-response-helpers.js';

let server: net.Server;
let port = 0;
/** What the server sends next, by the case index in the request path. */
const payloads: string[] = [];

beforeAll(async () => {
  server = net.createServer((sock) => {
    let got = '';
    sock.on('data', (d) => {
      got += d.toString('latin1');
      const m = /^[A-Z]+ \/(\d+) /.exec(got);
      if (m && got.includes('\r\n\r\n')) sock.end(Buffer.from(payloads[Number(m[1])]!, 'latin1'));
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface NodeResult {
  ok: boolean;
  infos: number[];
  code?: number;
  rawHeaders?: string[];
  body?: string;
  rawTrailers?: string[];
}

function viaNode(raw: string, method = 'GET'): Promise<NodeResult> {
  const id = payloads.push(raw) - 1;
  return new Promise((resolve) => {
    const infos: number[] = [];
    let done = false;
    const finish = (r: NodeResult) => {
      if (!done) ((done = true), resolve(r));
    };
    const req = http.request({ host: '127.0.0.1', port, method, path: `/${id}`, agent: false });
    req.on('information', (info) => infos.push(info.statusCode));
    req.on('error', () => finish({ ok: false, infos }));
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('aborted', () => finish({ ok: false, infos }));
      res.on('error', () => finish({ ok: false, infos }));
      res.on('end', () =>
        finish({
          ok: true,
          infos,
          code: res.statusCode!,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(parts).toString('latin1'),
          rawTrailers: res.rawTrailers,
        }),
      );
    });
    req.end();
  });
}

function spindleView(ev: ResponseEvent[]): NodeResult {
  if (ev.some((e) => e.type === 'error'))
    return { ok: false, infos: ev.flatMap((e) => (e.type === 'info' ? [e.code] : [])) };
  const head = ev.find((e) => e.type === 'head') as Extract<ResponseEvent, { type: 'head' }>;
  const end = ev.find((e) => e.type === 'complete') as Extract<ResponseEvent, { type: 'complete' }>;
  return {
    ok: true,
    infos: ev.flatMap((e) => (e.type === 'info' ? [e.code] : [])),
    code: head.code,
    rawHeaders: head.headers.flat(),
    body: ev
      .filter((e) => e.type === 'body')
      .map((e) => (e as { data: string }).data)
      .join(''),
    rawTrailers: end.trailers?.flat() ?? [],
  };
}

describe('response parser vs node:http client', () => {
  for (const c of responseCorpus.filter((x) => x.name !== 'two responses on one connection')) {
    it(`${c.name}: ${c.error ? (c.stricter ? 'refused (stricter than Node, documented)' : 'refused like Node') : 'read like Node'}`, async () => {
      const node = await viaNode(c.raw, c.method);
      // Only the first final response matters: spindle sees the bytes Node saw.
      const mine = spindleView(parseResponse(c.raw, c.method));
      if (!node.ok && c.nodeRefuses) expect(mine.ok).toBe(true);
      else if (!node.ok) expect(mine.ok).toBe(false);
      else if (!mine.ok) expect(c.stricter, `spindle refused what Node accepts: ${c.name}`).toBeTruthy();
      else expect(mine).toEqual(node);
      // The corpus says what spindle does; a stricter case must really be one Node accepts.
      expect(mine.ok).toBe(c.error === undefined);
      if (c.stricter) expect(node.ok).toBe(true);
      if (c.nodeRefuses) expect(node.ok).toBe(false);
    });
  }
});
