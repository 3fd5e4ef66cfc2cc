/**
 * The gateway hands the head startResponse checked (G9, G10) to spindle's
 * requests through `CHECKED_HEAD`, not through `setResponseCode`/`addHeader`
 * (which would check it a second time). The wire must be what those calls
 * would have made: checked against a CPS app setting the same head.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { HeadersSentError } from '../src/protocols/http/errors.js';
import { CHECKED_HEAD, RequestCore } from '../src/protocols/http/requestcore.js';
import { HOP_BY_HOP_HEADERS } from '../src/protocols/http/rules.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { DummyRequest } from '../src/testing/index.js';
import { ResponseStarter } from '../src/bridge/startresponse.js';
import { HopByHopHeaderError } from '../src/bridge/errors.js';
import { FakeRequest } from './gateway-fakerequest.js';
import { oneGetWire, quietLogger } from './gateway-hosts.js';

const wire = oneGetWire;

function viaGateway(status: string, headers: [string, string][], body: string): string {
  const app: IterApp = (_e, sr) => {
    sr(status, headers);
    return [body];
  };
  return wire(toCpsApp(app, { logger: quietLogger() }));
}

function viaCps(code: number, phrase: string, headers: [string, string][], body: string): string {
  return wire((request) => {
    request.setResponseCode(code, phrase);
    for (const [n, v] of headers) request.addHeader(n, v);
    request.write(body);
    request.finish();
  });
}

afterEach(() => vi.restoreAllMocks());

describe('the head startResponse checked goes to the request once (CHECKED_HEAD)', () => {
  it('a hello through spindle’s server calls neither setResponseCode nor addHeader', () => {
    const code = vi.spyOn(RequestCore.prototype, 'setResponseCode');
    const add = vi.spyOn(RequestCore.prototype, 'addHeader');
    const out = viaGateway('200 OK', [['Content-Type', 'text/plain']], 'hello');
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toContain('\r\nContent-Type: text/plain\r\n');
    expect(out.endsWith('\r\n\r\nhello')).toBe(true);
    expect(code).not.toHaveBeenCalled();
    expect(add).not.toHaveBeenCalled();
  });

  it('a Content-Length with SP/HTAB around its digits goes out as the digits, once', () => {
    const out = viaGateway(
      '201 Created',
      [
        ['Content-Length', ' \t5 '],
        ['X-A', '1'],
        ['x-a', '2'],
      ],
      'hello',
    );
    expect(out).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(out.match(/content-length/gi)).toHaveLength(1);
    expect(out).toContain('\r\nContent-Length: 5\r\n');
    expect(out.indexOf('X-A: 1')).toBeLessThan(out.indexOf('x-a: 2'));
    expect(out).toBe(
      viaCps(
        201,
        'Created',
        [
          ['Content-Length', ' \t5 '],
          ['X-A', '1'],
          ['x-a', '2'],
        ],
        'hello',
      ),
    );
  });

  it('the same bytes as a CPS app setting the same status and headers (random heads)', () => {
    const tchar = fc.constantFrom(...'abcxyzABCXYZ019!#$%&*+-.^_`|~');
    const name = fc.string({ unit: tchar, minLength: 1, maxLength: 12 }).filter((n) => {
      const l = n.toLowerCase();
      return !HOP_BY_HOP_HEADERS.has(l) && l !== 'content-length' && l !== 'date' && l !== 'server';
    });
    const value = fc.string({ unit: fc.constantFrom(...'ab z09\t;=,/é\u00ff'), maxLength: 10 });
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 599 }).filter((c) => c !== 204 && c !== 304 && (c < 100 || c >= 200)),
        fc.string({ unit: fc.constantFrom(...'ab OK'), maxLength: 8 }),
        fc.array(fc.tuple(name, value), { maxLength: 5 }),
        (code, phrase, headers) => {
          expect(viaGateway(`${code} ${phrase}`, headers, 'body')).toBe(viaCps(code, phrase, headers, 'body'));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a request without CHECKED_HEAD gets the head through setResponseCode and addHeader', () => {
    const reactor = new MemoryReactor();
    const req = new FakeRequest(reactor);
    Object.defineProperty(req, CHECKED_HEAD, { value: undefined });
    const add = vi.spyOn(req, 'addHeader');
    const app: IterApp = (_e, sr) => {
      sr('202 Accepted', [['X-One', 'a']]);
      return ['x'];
    };
    void toCpsApp(app, { reactor, logger: quietLogger() })(req);
    expect(add).toHaveBeenCalledWith('X-One', 'a');
    expect(req.code).toBe(202);
    expect(req.getResponseHeader('x-one')).toBe('a');
  });

  it('CHECKED_HEAD after the head went out throws HeadersSentError, as setResponseCode does', () => {
    const req = new DummyRequest();
    req.write('x');
    expect(() => req[CHECKED_HEAD](200, 'OK', [])).toThrow(HeadersSentError);
  });
  it('a middleware’s header set before the app stays; the app’s head follows it', () => {
    const app: IterApp = (_e, sr) => {
      sr('200 OK', [['X-App', 'a']]);
      return ['x'];
    };
    const gw = toCpsApp(app, { logger: quietLogger() });
    const out = wire((request) => {
      request.setHeader('X-Mw', 'm');
      gw(request);
    });
    expect(out).toContain('\r\nX-Mw: m\r\n');
    expect(out.indexOf('X-Mw: m')).toBeLessThan(out.indexOf('X-App: a'));
  });
});

describe('spindle’s request holds the head from startResponse on (no copy in the gateway)', () => {
  it('the request takes status and headers at start(); the starter keeps no list', () => {
    const req = new DummyRequest();
    const s = new ResponseStarter(req);
    s.start('201 Made', [['X-A', '1']]);
    expect(req.code).toBe(201);
    expect(req.codeMessage).toBe('Made');
    expect(req.responseHeaders).toEqual([['X-A', '1']]);
    expect(s.headers).toBeNull();
    expect(req.startedWriting).toBe(false); // held until the first byte (G3)
  });

  it('G2: a head replaced with excInfo drops the earlier head’s headers, not those set before it', () => {
    const req = new DummyRequest();
    req.setHeader('X-Before', 'b');
    const s = new ResponseStarter(req);
    s.start('200 OK', [
      ['X-A', '1'],
      ['X-C', '3'],
    ]);
    s.start('500 Oops', [['X-B', '2']], new Error('caught'));
    expect(req.code).toBe(500);
    expect(req.responseHeaders).toEqual([
      ['X-Before', 'b'],
      ['X-B', '2'],
    ]);
  });

  it('G2: a replacement that fails its checks leaves the request’s head as it was', () => {
    const req = new DummyRequest();
    const s = new ResponseStarter(req);
    s.start('200 OK', [['X-A', '1']]);
    expect(() => s.start('500 Oops', [['Upgrade', 'h2c']], new Error('x'))).toThrow(HopByHopHeaderError);
    expect(req.code).toBe(200);
    expect(req.responseHeaders).toEqual([['X-A', '1']]);
  });

  it('G2 on the wire: the replaced head’s headers do not go out', () => {
    const app: IterApp = (_e, sr) => {
      sr('200 OK', [['X-First', 'a']]);
      sr('503 Busy', [['X-Second', 'b']], new Error('caught'));
      return ['x'];
    };
    const out = viaGateway2(app);
    expect(out).toMatch(/^HTTP\/1\.1 503 Busy\r\n/);
    expect(out).toContain('\r\nX-Second: b\r\n');
    expect(out).not.toContain('X-First');
  });

  it('an app that fails after startResponse gets a 500 without its own headers', () => {
    const app: IterApp = (_e, sr) => {
      sr('200 OK', [
        ['Set-Cookie', 'secret=1'],
        ['Content-Length', '5'],
      ]);
      throw new Error('boom');
    };
    const out = viaGateway2(app);
    expect(out).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    expect(out).not.toContain('secret');
    expect(out).toContain('\r\nContent-Length: 22\r\n');
    expect(out.endsWith('\r\n\r\nInternal Server Error\n')).toBe(true);
  });

  it('an app whose generator fails before its first chunk gets a 500 without its own headers', () => {
    const app: IterApp = function* (_e, sr) {
      sr('200 OK', [['X-App', 'a']]);
      yield '';
      throw new Error('boom');
    };
    const out = viaGateway2(app);
    expect(out).toMatch(/^HTTP\/1\.1 500 /);
    expect(out).not.toContain('X-App');
  });
});

function viaGateway2(app: IterApp): string {
  return wire(toCpsApp(app, { logger: quietLogger() }));
}
