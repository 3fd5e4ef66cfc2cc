/**
 * Issue 12 item 4: a body past `readBody({ limit })` gets 413 whatever its
 * framing. An app that returns the read's Deferred (so its failure fails the
 * response) used to get 500 for a chunked body (the errback ran before the
 * server's 413) while a Content-Length body got 413.
 */
import { describe, expect, it } from 'vitest';
import { makeServer } from './http-channel-helpers.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { toFetchHandler } from '../src/bridge/fetch.js';
import { captureLogs } from '../src/reactor/log.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { DEFAULT_LINGER_TIMEOUT } from '../src/protocols/http/options.js';

const LIMIT = 5;
const withLength = (body: string) => `POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
const chunked = (parts: string[]) =>
  `POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('')}0\r\n\r\n`;

/** The app hands its failure to the server by returning the read's Deferred (no errback of its own). */
const returnsTheRead: CpsApp = (req: IRequest) =>
  req.readBody({ limit: LIMIT }).addCallback((body) => {
    req.write(`${body.length}`);
    req.finish();
  });

function answer(raw: string, cuts: 'whole' | 'bytewise'): { status: number; closed: boolean; codes: string[] } {
  const logs = captureLogs();
  try {
    const s = makeServer(returnsTheRead);
    if (cuts === 'whole') s.send(raw);
    else for (const ch of raw) s.send(ch);
    s.reactor.advance(0);
    // A 413 while body bytes may still come closes by lingering (docs/http.md): the close follows the linger.
    s.reactor.advance(DEFAULT_LINGER_TIMEOUT);
    const codes = logs.events
      .map((e) => (e.failure?.value as { code?: string } | undefined)?.code ?? '')
      .filter((c) => c !== '');
    // The server says it closes (it may linger reading what the client still sends first, RFC 9112 §9.6).
    const r = s.responses()[0]!;
    return { status: r.status, closed: r.headers.connection === 'close', codes };
  } finally {
    logs.restore();
  }
}

describe('a body past readBody({ limit }) gets 413 for either framing', () => {
  for (const cuts of ['whole', 'bytewise'] as const) {
    it(`a chunked body past the limit gets 413 and a close, not 500 (fed ${cuts})`, () => {
      const r = answer(chunked(['abc', 'def', 'ghi']), cuts);
      expect(r.status).toBe(413);
      expect(r.closed).toBe(true);
      // What is logged is the limit the app met, never an internal error.
      expect(r.codes.every((c) => c === 'ERR_HTTP_BODY_TOO_LARGE')).toBe(true);
    });

    it(`a Content-Length body past the limit gets the same 413 (fed ${cuts})`, () => {
      const r = answer(withLength('abcdefghi'), cuts);
      expect(r.status).toBe(413);
      expect(r.closed).toBe(true);
    });
  }

  it('a chunked body within the limit is read whole', () => {
    const s = makeServer(returnsTheRead);
    s.send(chunked(['ab', 'cde']));
    s.reactor.advance(0);
    expect(s.responses()[0]).toMatchObject({ status: 200, body: '5' });
  });

  it('the error names the bytes received so far instead of "unknown"', () => {
    let message = '';
    const s = makeServer(
      (req) => void req.readBody({ limit: LIMIT }).addErrback((f) => void (message = (f.value as Error).message)),
    );
    s.send(chunked(['abcd', 'efgh']));
    expect(message).toContain('8 bytes received so far');
    expect(message).not.toContain('unknown');
  });

  it('toFetchHandler: a streamed body past the limit gets 413 when the app returns the read', async () => {
    const reactor = new MemoryReactor();
    const logs = captureLogs();
    try {
      const handler = toFetchHandler(returnsTheRead, { reactor, style: 'cps' });
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode('abc'));
          c.enqueue(new TextEncoder().encode('defgh'));
          c.close();
        },
      });
      const p = handler(new Request('http://example.test/up', { method: 'POST', body, duplex: 'half' } as RequestInit));
      let res: Response | null = null;
      void p.then((r) => (res = r));
      for (let i = 0; i < 50 && res === null; i++) {
        reactor.advance(0);
        await new Promise<void>((r) => setImmediate(r));
      }
      expect(res).not.toBeNull();
      expect(res!.status).toBe(413);
    } finally {
      logs.restore();
    }
  });
});
