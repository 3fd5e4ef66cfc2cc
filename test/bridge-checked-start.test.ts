/**
 * `toCpsApp(toIterApp(cpsApp))`: the bridge hands spindle's gateway the head
 * its request checked (CHECKED_START, checkedstart.ts) instead of calling
 * `startResponse`, which would check it again (G9, G10). Only with the
 * gateway's own `startResponse` in hand, a status of 200-599 and one
 * Content-Length value; everything else goes through `startResponse`. The
 * wire must be what the ordinary path makes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import { validator } from '../src/bridge/validator.js';
import type { Environ, IterApp } from '../src/bridge/interfaces.js';
import { ResponseStarter } from '../src/bridge/startresponse.js';
import { oneGetWire, quietLogger } from './gateway-hosts.js';

const wire = oneGetWire;

const bridged = (app: CpsApp, wrap: (inner: IterApp) => IterApp = (a) => a): string =>
  wire(toCpsApp(wrap(toIterApp(app)), { logger: quietLogger() }));

/** A middleware that passes environ and startResponse on unchanged. */
const passThrough =
  (inner: IterApp): IterApp =>
  (environ, startResponse) =>
    inner(environ, startResponse);

/** A middleware that wraps startResponse to add a header (it must see and change the head). */
const addsHeader =
  (inner: IterApp): IterApp =>
  (environ, startResponse) =>
    inner(environ, (status, headers, excInfo) => startResponse(status, [...headers, ['X-Mw', 'yes']], excInfo));

afterEach(() => vi.restoreAllMocks());

describe('the bridge hands spindle’s gateway a checked head (CHECKED_START)', () => {
  const hello: CpsApp = (request) => {
    request.setHeader('Content-Type', 'text/plain');
    request.write('hello world!');
    request.finish();
  };

  it('a bridged hello makes the same bytes as the CPS app itself, without startResponse’s checks', () => {
    const start = vi.spyOn(ResponseStarter.prototype, 'start');
    const out = bridged(hello);
    expect(start).not.toHaveBeenCalled();
    // The bridge goes chunked where the CPS app's own write/finish would too: compare with the ordinary path.
    vi.restoreAllMocks();
    const ordinary = vi.spyOn(ResponseStarter.prototype, 'start');
    expect(bridged(hello, addsHeader).replace('X-Mw: yes\r\n', '')).toBe(out);
    expect(ordinary).toHaveBeenCalledTimes(1);
  });

  it('a middleware that passes startResponse on unchanged keeps the checked path; one that wraps it sees the head', () => {
    const start = vi.spyOn(ResponseStarter.prototype, 'start');
    expect(bridged(hello, passThrough)).toContain('\r\nContent-Type: text/plain\r\n');
    expect(start).not.toHaveBeenCalled();
    const out = bridged(hello, addsHeader);
    expect(start).toHaveBeenCalledTimes(1);
    expect(out).toContain('\r\nX-Mw: yes\r\n');
  });

  it('the validator around the bridge still checks the head it is handed', () => {
    const start = vi.spyOn(ResponseStarter.prototype, 'start');
    const checked = validator(toIterApp(hello));
    const out = wire(toCpsApp(checked, { logger: quietLogger() }));
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out.endsWith('hello world!')).toBe(true);
    expect(start).toHaveBeenCalledTimes(1);
    expect(checked.violations).toEqual([]);
  });

  it('Content-Length from the checked head cuts the body (G8), repeated equal values count once', () => {
    const out = bridged((request) => {
      request.setHeader('Content-Length', '5');
      request.addHeader('Content-Length', '5');
      request.write('hello world!');
      request.finish();
    });
    expect(out.endsWith('\r\n\r\nhello')).toBe(true);
    expect(out).not.toContain('Transfer-Encoding');
  });

  it('two different Content-Length values go through startResponse, which refuses them: a 500', () => {
    const start = vi.spyOn(ResponseStarter.prototype, 'start');
    const out = bridged((request) => {
      request.addHeader('Content-Length', '5');
      request.addHeader('Content-Length', '6');
      request.write('hello');
      request.finish();
    });
    expect(start).toHaveBeenCalled();
    expect(out).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
  });

  it('a status startResponse refuses (1xx) goes through it, as before: a 500', () => {
    const out = bridged((request) => {
      request.setResponseCode(103);
      request.write('early');
      request.finish();
    });
    expect(out).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
  });

  it('a status or phrase a plain-JS app assigned past the request’s checks goes through startResponse: a 500', () => {
    for (const [code, phrase] of [
      [200.5, 'OK'],
      [200, 'Bad\r\nX-Injected: 1'],
    ] as const) {
      const start = vi.spyOn(ResponseStarter.prototype, 'start');
      const out = bridged((request) => {
        Object.assign(request, { code, codeMessage: phrase });
        request.write('x');
        request.finish();
      });
      expect(start).toHaveBeenCalled();
      expect(out).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
      expect(out).not.toContain('X-Injected');
      vi.restoreAllMocks();
    }
  });

  it('hop-by-hop names the CPS app set are dropped on the checked path (G9); a status and phrase pass as set', () => {
    const out = bridged((request) => {
      request.setResponseCode(201, 'Made It');
      request.setHeader('Connection', 'close');
      request.setHeader('Keep-Alive', 'timeout=5');
      request.setHeader('X-Ok', '1');
      request.finish();
    });
    expect(out).toMatch(/^HTTP\/1\.1 201 Made It\r\n/);
    expect(out).toContain('\r\nX-Ok: 1\r\n');
    expect(out).not.toMatch(/Keep-Alive|Connection: close/i);
  });

  it('an iterator app sees no new environ key: the host rides on a symbol', () => {
    let keys: string[] = [];
    let host: unknown;
    wire(
      toCpsApp(
        (environ: Environ, startResponse) => {
          keys = Object.keys(environ);
          host = Object.getOwnPropertySymbols(environ).length;
          startResponse('200 OK', []);
          return [];
        },
        { logger: quietLogger() },
      ),
    );
    expect(keys.some((k) => /checked/i.test(k))).toBe(false);
    expect(host).toBe(1);
  });

  it('a head already given through startResponse is not replaced by a checked one (G2)', () => {
    // An iterator app between that starts the response itself, then runs the bridged app with the same
    // startResponse: the bridge's head must meet startResponse's "called twice" rule, not slip past it.
    const out = bridged(
      (request: IRequest) => {
        request.setHeader('X-Inner', '1');
        request.write('inner');
        request.finish();
      },
      (inner) => (environ, startResponse) => {
        startResponse('200 OK', [['X-Outer', '1']]);
        return inner(environ, startResponse);
      },
    );
    expect(out).not.toContain('X-Inner');
  });
});
