/**
 * Issue 12 item 1: HTTP's whitespace is SP and HTAB only (RFC 9110 §5.6.3).
 * U+00A0 and the other characters `trim()` and `\s` strip must not make a
 * framing or connection token take effect, anywhere spindle reads one: the
 * parser (Transfer-Encoding, Connection, Expect), the response path (an app's
 * Connection) and the gateway (an app's Content-Length).
 */
import { describe, expect, it } from 'vitest';
import { makeServer } from './http-channel-helpers.js';
import { CONTROL_SPACES, UNICODE_SPACES } from './http-corpus.js';
import { planHead } from '../src/protocols/http/framing.js';
import { hasListToken, listElements, trimOWS } from '../src/protocols/http/syntax.js';
import { parseContentLength } from '../src/protocols/http/rules.js';
import { validateHeaders } from '../src/bridge/startresponse.js';
import { StartResponseHeaderError } from '../src/bridge/errors.js';
import { toCpsApp } from '../src/bridge/gateway.js';

const EVERY_SPACE = [...UNICODE_SPACES, ...CONTROL_SPACES, ['U+2028', '\u2028'], ['U+FEFF', '\ufeff']] as const;

describe('request smuggling through Unicode spaces (issue 12, item 1)', () => {
  it('"Transfer-Encoding: \\xa0chunked" is refused with 400: the app sees no body and the smuggled request is never dispatched', () => {
    const seen: string[] = [];
    const s = makeServer((req) => {
      seen.push(`${req.method} ${req.uri}`);
      req.finish();
    });
    s.send(
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \xa0chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    s.reactor.advance(0);
    expect(seen).toEqual([]);
    expect(s.responses().map((r) => r.status)).toEqual([400]);
    expect(s.transport.disconnecting).toBe(true);
  });

  it('"Connection: keep-alive\\xa0" does not keep an HTTP/1.0 connection open', () => {
    const s = makeServer((req) => req.finish());
    s.send('GET / HTTP/1.0\r\nConnection: keep-alive\xa0\r\n\r\n');
    s.reactor.advance(0);
    expect(s.responses()[0]).toMatchObject({ status: 200 });
    expect(s.responses()[0]!.headers.connection).toBe('close');
    expect(s.transport.disconnecting).toBe(true);
  });

  it('"Expect: \\xa0100-continue" is not 100-continue: 417 and no interim 100', () => {
    let called = false;
    const s = makeServer((req) => {
      called = true;
      req.finish();
    });
    s.send('PUT /u HTTP/1.1\r\nHost: a\r\nExpect: \xa0100-continue\r\nContent-Length: 2\r\n\r\n');
    s.reactor.advance(0);
    expect(called).toBe(false);
    expect(s.responses().map((r) => r.status)).toEqual([417]);
  });

  it('an app\'s "Connection: \\xa0close" is not "close", while "close" among SP/HTAB and commas is', () => {
    const plan = (value: string) =>
      planHead({
        method: 'GET',
        version: 'HTTP/1.1',
        code: 200,
        phrase: 'OK',
        names: ['Connection'],
        values: [value],
        keepAlive: true,
        knownLength: 0,
        date: 'd',
        serverName: undefined,
      }).keepAlive;
    expect(plan('\xa0close')).toBe(true);
    expect(plan('close\u3000')).toBe(true);
    expect(plan(' \tclose\t ')).toBe(false);
    expect(plan('Upgrade,CLOSE')).toBe(false);
  });

  it('startResponse refuses a Content-Length with a Unicode space around the digits, and takes SP/HTAB', () => {
    expect(() => validateHeaders([['Content-Length', '\xa05']])).toThrow(StartResponseHeaderError);
    expect(() => validateHeaders([['Content-Length', '5\u2003']])).toThrow(StartResponseHeaderError);
    expect(validateHeaders([['Content-Length', ' 5\t']]).contentLength).toBe(5);
  });

  it('a Content-Length startResponse takes (SP/HTAB around the digits) is served by the gateway, not turned into a 500', () => {
    const app = toCpsApp((_environ, startResponse) => {
      startResponse('200 OK', [['Content-Length', ' 5\t']]);
      return [Buffer.from('hello')];
    });
    const s = makeServer(app);
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    s.reactor.advance(0);
    expect(s.responses().map((r) => [r.status, r.headers['content-length'], r.body])).toEqual([[200, '5', 'hello']]);
  });

  it('Request.setHeader takes the same Content-Length rule (rules.ts parseContentLength): SP/HTAB yes, a Unicode space no', () => {
    const seen: string[] = [];
    const s = makeServer((req) => {
      for (const v of ['\xa05', '5\u2003', ' 5\t']) {
        try {
          req.setHeader('Content-Length', v);
          seen.push('ok');
        } catch (e) {
          seen.push((e as Error).name);
        }
      }
      req.write('hello');
      req.finish();
    });
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    s.reactor.advance(0);
    expect(seen).toEqual(['InvalidHeaderError', 'InvalidHeaderError', 'ok']);
    expect(s.responses().map((r) => [r.status, r.headers['content-length'], r.body])).toEqual([[200, '5', 'hello']]);
  });
});

describe('the SP/HTAB helpers every layer shares (src/protocols/http/syntax.ts, rules.ts)', () => {
  for (const [label, sp] of EVERY_SPACE) {
    it(`${label} is data, not whitespace: kept by trimOWS and listElements, refused around a Content-Length`, () => {
      expect(trimOWS(`${sp}x${sp}`)).toBe(`${sp}x${sp}`);
      expect(listElements(`a,${sp}chunked`)).toEqual(['a', `${sp}chunked`]);
      expect(hasListToken(`${sp}close`, 'close')).toBe(false);
      expect(parseContentLength(`${sp}5`)).toBeNull();
      expect(parseContentLength(`5${sp}`)).toBeNull();
    });
  }

  it('SP and HTAB are trimmed; signs, hex, exponents and lists are not lengths', () => {
    expect(trimOWS(' \t a b \t ')).toBe('a b');
    expect(listElements(' a ,, b\t,')).toEqual(['a', 'b']);
    expect(parseContentLength('\t 42 ')).toBe(42);
    for (const bad of ['', '+1', '-1', '0x10', '1e3', '1.0', '3, 3', '1234567890123456'])
      expect(parseContentLength(bad)).toBeNull();
  });
});
