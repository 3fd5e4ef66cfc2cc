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
});
