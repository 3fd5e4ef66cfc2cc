/**
 * Differential test: every corpus request goes to Node's own parser (a
 * node:http server on 127.0.0.1:0, raw bytes over a net socket) and to
 * spindle's. spindle must never accept what Node rejects, must parse what both
 * accept identically, and may refuse what Node accepts only where the corpus
 * case says why (`stricter`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { corpus } from './http-corpus.js';
import { enc, parseWhole } from './http-parser-helpers.js';
import { validRequest } from './http-arbitraries.js';
import fc from 'fast-check';

interface NodeSeen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
  rawTrailers: string[];
  /** node:http's own reading of Connection (res.shouldKeepAlive before any header is set). */
  keepAlive: boolean;
}

let server: http.Server;
let port = 0;
/** Requests Node's parser accepted, keyed by the case id sent in the stream order. */
const seen: NodeSeen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    const keepAlive = res.shouldKeepAlive;
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(parts).toString('latin1'),
        rawTrailers: req.rawTrailers,
        keepAlive,
      });
      res.setHeader('Connection', 'close');
      res.end('ok');
    });
    req.on('error', () => res.destroy());
  });
  server.on('connect', (_req, socket: net.Socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Send raw bytes, half-close, and read until Node closes. Returns the response status (0 if none). */
function sendToNode(raw: string): Promise<{ status: number; request: NodeSeen | null }> {
  return new Promise((resolve, reject) => {
    const before = seen.length;
    const sock = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    sock.on('data', (d) => parts.push(d));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(parts).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, request: seen.length > before ? seen[before]! : null });
    });
    sock.end(Buffer.from(raw, 'latin1'));
  });
}

describe('differential: spindle vs node:http parser', () => {
  for (const c of corpus) {
    it(`${c.name}`, async () => {
      const node = await sendToNode(c.raw);
      const events = parseWhole(enc(c.raw));
      const firstError = events.find((e) => e.type === 'error');
      const completeAt = events.findIndex((e) => e.type === 'complete');
      const spindleAccepts =
        events[0]?.type === 'head' && completeAt >= 0 && (!firstError || completeAt < events.indexOf(firstError));
      const nodeAccepts = node.request !== null;
      if (spindleAccepts) {
        // Never accept what Node refuses.
        expect(nodeAccepts, `Node refused (status ${node.status}) what spindle accepts`).toBe(true);
        const head = events[0] as Extract<(typeof events)[number], { type: 'head' }>;
        const end = completeAt;
        const body = events
          .slice(1, end)
          .map((e) => (e.type === 'body' ? e.data : ''))
          .join('');
        const complete = events[end] as Extract<(typeof events)[number], { type: 'complete' }>;
        expect({
          method: head.method,
          url: head.target,
          rawHeaders: head.headers.flat(),
          body,
          rawTrailers: (complete.trailers ?? []).flat(),
          keepAlive: head.keepAlive,
        }).toEqual(node.request);
        expect(c.stricter).toBeUndefined();
      } else if (nodeAccepts) {
        // spindle refuses what Node accepts: the case must say why.
        expect(
          c.stricter,
          `Node accepted ${JSON.stringify(c.raw.slice(0, 60))}; give the case a 'stricter' reason`,
        ).toBeTruthy();
      } else {
        expect(c.stricter, 'both refuse: no stricter note expected').toBeUndefined();
        expect(node.status === 0 || node.status >= 400).toBe(true);
      }
    });
  }
});

describe('differential: generated valid requests', () => {
  it('both parsers read method, target, headers and body identically', async () => {
    await fc.assert(
      fc.asyncProperty(validRequest, async (raw) => {
        const node = await sendToNode(raw);
        const events = parseWhole(enc(raw));
        expect(node.request, `Node refused ${JSON.stringify(raw)}`).not.toBeNull();
        const head = events[0] as Extract<(typeof events)[number], { type: 'head' }>;
        const end = events.findIndex((e) => e.type === 'complete');
        const body = events
          .slice(1, end)
          .map((e) => (e.type === 'body' ? e.data : ''))
          .join('');
        expect({
          method: head.method,
          url: head.target,
          rawHeaders: head.headers.flat(),
          body,
          rawTrailers: [],
          keepAlive: head.keepAlive,
        }).toEqual(node.request);
      }),
      { numRuns: 60 },
    );
  });
});
