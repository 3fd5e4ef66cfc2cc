/**
 * The gateway's pure pieces: startResponse validation (G2, G9, G10) and the
 * environ built from a request (PEP 3333 / CGI variables).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseStatus, ResponseStarter, validateHeaders } from '../src/bridge/startresponse.js';
import { HOP_BY_HOP_HEADERS } from '../src/protocols/http/rules.js';
import { buildEnviron, decodePathInfo, makeErrorsStream } from '../src/bridge/environ.js';
import {
  HopByHopHeaderError,
  StartResponseHeaderError,
  StartResponseStatusError,
  StartResponseTwiceError,
} from '../src/bridge/errors.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StreamingInput } from '../src/bridge/input.js';
import { FakeRequest } from './gateway-fakerequest.js';

describe('startResponse validation', () => {
  it('G10: status is NNN Reason with a code 200-599 and a clean reason', () => {
    expect(parseStatus('200 OK')).toEqual({ code: 200, reason: 'OK' });
    expect(parseStatus('404 ')).toEqual({ code: 404, reason: '' });
    for (const bad of [
      '200',
      '200OK',
      '20 OK',
      'abc OK',
      '099 Low',
      '600 High',
      '101 Switching Protocols',
      '200 OK\r\nX: y',
      '200 O\0K',
      '200 \u20ac',
      42,
    ]) {
      expect(() => parseStatus(bad), String(bad)).toThrow(StartResponseStatusError);
    }
  });

  it('G10: header names are tokens; values are latin-1 without CR, LF, NUL or controls', () => {
    expect(validateHeaders([['X-Ok', 'caf\u00e9 \t v']]).headers).toEqual([['X-Ok', 'caf\u00e9 \t v']]);
    const bad: unknown[] = [
      [['X-A\r\nSet-Cookie', 'x']],
      [['X A', 'x']],
      [['', 'x']],
      [['X-A', 'x\r\nSet-Cookie: y=1']],
      [['X-A', 'x\ny']],
      [['X-A', 'x\0']],
      [['X-A', '\u20ac']],
      [['X-A']],
      [['X-A', 5]],
      'not a list',
      [['Content-Length', '12abc']],
      [
        ['Content-Length', '1'],
        ['Content-Length', '2'],
      ],
    ];
    for (const h of bad) expect(() => validateHeaders(h), JSON.stringify(h)).toThrow(StartResponseHeaderError);
  });

  it('G10: no string at all can smuggle a line break into the head (fast-check)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (name, value) => {
        try {
          const { headers } = validateHeaders([[name, value]]);
          const line = `${headers[0]![0]}: ${headers[0]![1]}`;
          expect(/[\r\n\0]/.test(line)).toBe(false);
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/^ERR_GATEWAY_(INVALID_HEADER|HOP_BY_HOP)$/);
        }
      }),
    );
  });

  it('G9: every hop-by-hop header throws, whatever its case', () => {
    for (const name of HOP_BY_HOP_HEADERS) {
      expect(() => validateHeaders([[name.toUpperCase(), 'x']])).toThrow(HopByHopHeaderError);
    }
    expect(HOP_BY_HOP_HEADERS.size).toBe(8);
  });

  it('G2: the three cases of a second call', () => {
    const s = new ResponseStarter();
    s.start('200 OK', [['X-A', '1']]);
    expect(() => s.start('500 Error', [])).toThrow(StartResponseTwiceError);
    const err = new Error('caught');
    s.start('500 Error', [['X-B', '2']], err);
    expect(s.code).toBe(500);
    expect(s.headers).toEqual([['X-B', '2']]);
    s.headersSent = true;
    let thrown: unknown;
    try {
      s.start('503 Busy', [], err);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(err);
    expect(s.code).toBe(500);
  });

  it('G2: a failed validation leaves the earlier head in place', () => {
    const s = new ResponseStarter();
    s.start('200 OK', []);
    expect(() => s.start('200 OK', [['Upgrade', 'h2c']], new Error('x'))).toThrow(HopByHopHeaderError);
    expect(s.code).toBe(200);
  });
});

describe('environ', () => {
  const reactor = new MemoryReactor();
  const envOf = (req: FakeRequest) =>
    buildEnviron(req, {
      input: new StreamingInput({ deliver: () => {}, clock: reactor, contentLength: null, onHandlerError: () => {} }),
      errors: makeErrorsStream(() => {}),
      reactor,
      pauseOutput: () => () => {},
      inputHandler: () => {},
      flush: () => {},
      headersSent: () => false,
    });

  it('has the CGI variables, SCRIPT_NAME empty at the root, CONTENT_* empty when absent', () => {
    const e = envOf(new FakeRequest(reactor, { method: 'GET', uri: '/a/b?x=1&y=2' }));
    expect(e).toMatchObject({
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '',
      PATH_INFO: '/a/b',
      QUERY_STRING: 'x=1&y=2',
      CONTENT_TYPE: '',
      CONTENT_LENGTH: '',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: '8080',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '10.0.0.2',
      REMOTE_PORT: '51234',
      HTTP_HOST: 'example.test',
      'wsgi.version': [1, 0],
      'wsgi.url_scheme': 'http',
      'wsgi.multithread': false,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
      'spindle.reactor': reactor,
    });
    for (const k of ['wsgi.pause_output', 'wsgi.input_handler', 'x-wsgiorg.flush'])
      expect(typeof e[k]).toBe('function');
  });

  it('PATH_INFO is percent-decoded into latin-1 chars that round-trip the bytes', () => {
    const e = envOf(new FakeRequest(reactor, { uri: '/caf%C3%A9/a%20b/%zz/100%' }));
    expect(e.PATH_INFO).toBe('/caf\u00c3\u00a9/a b/%zz/100%');
    expect(Buffer.from(e.PATH_INFO, 'latin1').toString('utf8')).toBe('/café/a b/%zz/100%');
    expect(e['spindle.raw_path']).toBe('/caf%C3%A9/a%20b/%zz/100%');
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const encoded = [...bytes].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
        expect(Buffer.from(decodePathInfo(encoded), 'latin1')).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('HTTP_* keys: upper case, dashes to underscores, repeats joined with ",", cookies with "; ", underscore names dropped', () => {
    const e = envOf(
      new FakeRequest(reactor, {
        method: 'POST',
        headers: [
          ['Host', 'h'],
          ['X-Empty', ''],
          ['X-Empty', 'b'],
          ['X-Forwarded-For', '1.1.1.1'],
          ['x-forwarded-for', '2.2.2.2'],
          ['X_Forwarded_For', 'spoofed'],
          ['Cookie', 'a=1'],
          ['Cookie', 'b=2'],
          ['Accept', 'text/html'],
          ['accept', '*/*'],
          ['Content-Type', 'text/plain'],
          ['Content-Length', '5'],
        ],
      }),
    );
    expect(e.HTTP_X_FORWARDED_FOR).toBe('1.1.1.1,2.2.2.2');
    expect(e.HTTP_X_EMPTY).toBe(',b');
    expect(e.HTTP_COOKIE).toBe('a=1; b=2');
    expect(e.HTTP_ACCEPT).toBe('text/html,*/*');
    expect(e.CONTENT_TYPE).toBe('text/plain');
    expect(e.CONTENT_LENGTH).toBe('5');
    expect('HTTP_CONTENT_TYPE' in e).toBe(false);
    expect('HTTP_CONTENT_LENGTH' in e).toBe(false);
  });

  it('wsgi.errors hands whole lines to the log, a partial line on flush, a huge one without a newline anyway', () => {
    const lines: string[] = [];
    const err = makeErrorsStream((l) => lines.push(l), 10);
    err.write('one\ntw');
    err.writelines(['o\n', 'thr']);
    expect(lines).toEqual(['one', 'two']);
    err.flush();
    expect(lines).toEqual(['one', 'two', 'thr']);
    err.write('x'.repeat(11));
    expect(lines).toHaveLength(4);
  });
});
