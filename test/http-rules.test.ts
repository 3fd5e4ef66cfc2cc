/**
 * Issue 16, "each HTTP rule in one place": src/protocols/http/rules.ts. Which
 * responses have no body was written five times and the copies disagreed on
 * 1xx and 205; here every user is checked against the one rule, and 205 Reset
 * Content (RFC 9110 §15.3.6: no content) is shown to reach the wire bodiless
 * on spindle's server, in the access log and on the Fetch host.
 */
import { describe, expect, it } from 'vitest';
import { makeServer } from './http-channel-helpers.js';
import { planHead } from '../src/protocols/http/framing.js';
import { withAccessLog } from '../src/cli/accesslog.js';
import { toFetchHandler } from '../src/bridge/fetch.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import {
  HOP_BY_HOP_HEADERS,
  isFieldName,
  isFieldValue,
  isNoContentStatus,
  mayHaveContentLength,
  responseEndsAtHead,
  responseHasNoBody,
} from '../src/protocols/http/rules.js';

const writes =
  (code: number): CpsApp =>
  (req) => {
    req.setResponseCode(code);
    req.write('body');
    req.finish();
  };

describe('rules.ts: one answer to "which responses have no body"', () => {
  it('the server sends nothing after the head for HEAD, 1xx, 204, 205 and 304; a recipient ends at the head for all but 205', () => {
    for (const code of [100, 103, 204, 205, 304]) expect(isNoContentStatus(code)).toBe(true);
    for (const code of [200, 201, 206, 301, 404, 500]) expect(isNoContentStatus(code)).toBe(false);
    expect(responseHasNoBody('HEAD', 200)).toBe(true);
    expect(responseHasNoBody('GET', 205)).toBe(true);
    expect(responseEndsAtHead('GET', 205)).toBe(false);
    expect(responseEndsAtHead('GET', 304)).toBe(true);
    expect([101, 204, 200, 205].map(mayHaveContentLength)).toEqual([false, false, true, true]);
  });

  it('a 205 from the server carries "Content-Length: 0" and none of what the app wrote, and the connection goes on', () => {
    const s = makeServer(writes(205));
    s.send('GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n');
    s.reactor.advance(0);
    const text = s.output();
    expect(text.match(/HTTP\/1\.1 205 /g)).toHaveLength(2);
    expect(text).not.toContain('body');
    expect(s.responses().map((r) => [r.status, r.headers['content-length'], r.body])).toEqual([
      [205, '0', ''],
      [205, '0', ''],
    ]);
    expect(s.transport.disconnecting).toBe(false);
  });

  it('planHead frames each no-body response the same way, whatever Content-Length the app gave', () => {
    const plan = (method: string, code: number) =>
      planHead({
        method,
        version: 'HTTP/1.1',
        code,
        phrase: 'x',
        names: ['Content-Length'],
        values: ['4'],
        keepAlive: true,
        knownLength: -1,
        date: 'd',
        serverName: undefined,
      });
    for (const [method, code] of [
      ['HEAD', 200],
      ['GET', 204],
      ['GET', 205],
      ['GET', 304],
      ['GET', 103],
    ] as const) {
      const p = plan(method, code);
      expect(p.framing, `${method} ${code}`).toBe(plan('HEAD', 200).framing);
      expect(p.text.includes('Transfer-Encoding'), `${method} ${code}`).toBe(false);
    }
    expect(plan('GET', 205).text).toContain('Content-Length: 0\r\n');
    expect(plan('GET', 204).text).not.toContain('Content-Length');
  });

  it('the access log counts 0 body bytes for a 205, like 204 and 304', () => {
    const lines: string[] = [];
    const s = makeServer(
      withAccessLog(
        writes(205),
        (l) => lines.push(l),
        'text',
        () => new Date(0),
      ),
    );
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(lines).toEqual([expect.stringMatching(/" 205 0 /)]);
  });

  it('the Fetch host gives a 205 a null body, as it does 204 and 304', async () => {
    const reactor = new MemoryReactor();
    for (const code of [204, 205, 304]) {
      const p = toFetchHandler(writes(code), { reactor, style: 'cps' })(new Request('http://example.test/'));
      for (let i = 0; i < 5; i++) {
        reactor.advance(0);
        await new Promise<void>((r) => setImmediate(r));
      }
      const res = await p;
      expect([res.status, res.body]).toEqual([code, null]);
    }
  });
});

describe('rules.ts: header names, values and hop-by-hop names', () => {
  it('a name is a token; a value is HTAB, SP, VCHAR or obs-text', () => {
    expect(['X-A', "!#$%&'*+-.^_`|~09az"].every(isFieldName)).toBe(true);
    expect(['', 'bad name', 'a:b', 'a\xa0', 'é', 'a\u2000'].some(isFieldName)).toBe(false);
    expect(['', 'v a\tl', 'caf\xe9', '\xa0'].every(isFieldValue)).toBe(true);
    expect(['a\r\nb', 'a\nb', 'a\0', 'a\x7f', 'a\x0b', 'a\u2028', 'a\u3000'].some(isFieldValue)).toBe(false);
  });

  it('hop-by-hop names are the RFC 9110 §7.6.1 connection fields and the proxy ones, in lower case', () => {
    expect([...HOP_BY_HOP_HEADERS].sort()).toEqual([
      'connection',
      'keep-alive',
      'proxy-authenticate',
      'proxy-authorization',
      'te',
      'trailers',
      'transfer-encoding',
      'upgrade',
    ]);
  });
});
