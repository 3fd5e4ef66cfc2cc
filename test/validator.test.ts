/**
 * `validator(app)`: catches apps and gateways that break the contract, naming
 * the rule; lets a correct app on spindle's gateway through untouched.
 */
import { describe, expect, it } from 'vitest';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { captureLogs, Logger, LogPublisher } from '../src/reactor/log.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import { validator } from '../src/bridge/validator.js';
import { ValidationError } from '../src/bridge/errors.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { buildEnviron, makeErrorsStream } from '../src/bridge/environ.js';
import { StreamingInput } from '../src/bridge/input.js';
import { FakeRequest } from './gateway-fakerequest.js';

const quiet = () => {};

/** Host a validated app on the real gateway with a fake request. */
function hostValidated(app: IterApp) {
  const reactor = new MemoryReactor();
  const v = validator(app, { onViolation: quiet });
  const publisher = new LogPublisher();
  publisher.addObserver((e) => {
    if (process.env.DEBUG_TEST) console.log(e.message, e.failure?.value);
  });
  const cps = toCpsApp(v, { reactor, logger: new Logger('test', publisher) });
  const req = new FakeRequest(reactor);
  void cps(req);
  return { v, req, reactor };
}

/** A hand-driven "gateway" for the gateway-side checks. */
function environFor(headersSent: () => boolean = () => false): { environ: Environ; resumes: Array<() => void> } {
  const reactor = new MemoryReactor();
  const resumes: Array<() => void> = [];
  const environ = buildEnviron(new FakeRequest(reactor), {
    input: new StreamingInput({ deliver: () => {}, clock: reactor, contentLength: null, onHandlerError: quiet }),
    errors: makeErrorsStream(quiet),
    reactor,
    pauseOutput: () => {
      const r = () => {};
      resumes.push(r);
      return r;
    },
    inputHandler: quiet,
    flush: quiet,
    headersSent,
  });
  return { environ, resumes };
}
const sr: StartResponse = () => () => {};
const rules = (v: { violations: ValidationError[] }) => v.violations.map((e) => e.rule);

describe('validator: the app side', () => {
  it("keeps the gateway's hint for a CPS app hosted as an iterator app (reading request.setHeader names style 'cps')", () => {
    const environ = environFor().environ;
    let seen: unknown;
    const cpsApp = ((req: { setHeader(n: string, v: string): void }) => {
      try {
        req.setHeader('X', 'y');
      } catch (err) {
        seen = err;
      }
      return [];
    }) as unknown as IterApp;
    validator(cpsApp, { onViolation: quiet })(environ, sr);
    expect(String((seen as Error)?.message)).toMatch(/request\.setHeader.*style 'cps'/);
  });

  it('lets a correct pausing app on spindle gateway through, and sees its iterable closed', () => {
    const { v, req, reactor } = hostValidated(function* (e, start) {
      start('200 OK', [['Content-Type', 'text/plain']]);
      const resume = e['wsgi.pause_output']!();
      e['spindle.reactor']!.callLater(1, resume);
      yield '';
      yield 'done';
    });
    reactor.advance(1);
    expect(req.bodyText()).toBe('done');
    expect(v.violations).toEqual([]);
    expect(v.openResponses).toBe(0);
  });

  it('a bare string returned by the app', () => {
    const { v, req } = hostValidated((() => 'hello') as unknown as IterApp);
    expect(rules(v)).toEqual(['app-result']);
    expect(req.code).toBe(500);
  });

  it('G2: startResponse twice without excInfo', () => {
    const { v } = hostValidated((_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [];
    });
    expect(rules(v)).toEqual(['G2']);
  });

  it('G9, G10 and Content-Type: bad heads are named by rule', () => {
    const cases: Array<[string, [string, string][], string]> = [
      [
        '200 OK',
        [
          ['Content-Type', 'text/plain'],
          ['Transfer-Encoding', 'chunked'],
        ],
        'G9',
      ],
      ['200 OK', [['Content-Type', 'text/plain\r\nX-Evil: 1']], 'G10'],
      ['OK', [['Content-Type', 'text/plain']], 'G10'],
      ['200 OK', [], 'content-type'],
    ];
    for (const [status, headers, rule] of cases) {
      const { v, req } = hostValidated((_e, start) => (start(status, headers), ['x']));
      expect(rules(v), rule).toEqual([rule]);
      expect(req.code).toBe(500);
    }
    const { v } = hostValidated((_e, start) => (start('204 No Content', []), []));
    expect(v.violations).toEqual([]);
  });

  it('body chunks must be strings or bytes, never numbers', () => {
    const { v } = hostValidated(
      (_e, start) => (start('200 OK', [['Content-Type', 'text/plain']]), [42 as unknown as Chunk]),
    );
    expect(rules(v)).toEqual(['chunk']);
  });

  it('G14: a write() after the iterable was closed', () => {
    let write!: (c: Chunk) => void;
    const { v } = hostValidated((_e, start) => {
      write = start('200 OK', [['Content-Type', 'text/plain']]);
      return ['x'];
    });
    expect(() => write('late')).toThrow(ValidationError);
    expect(rules(v)).toEqual(['G14']);
  });
});

describe('validator: the gateway side', () => {
  const app: IterApp = function* (e, start) {
    start('200 OK', [['Content-Type', 'text/plain']]);
    e['wsgi.pause_output']!();
    yield '';
    yield 'after';
  };

  it('G13: a gateway that pulls while the app paused its output', () => {
    const v = validator(app, { onViolation: quiet });
    const { environ } = environFor();
    const it = (v(environ, sr) as Iterable<Chunk>)[Symbol.iterator]();
    it.next();
    expect(() => it.next()).toThrow(/G13/);
    expect(rules(v)).toEqual(['G13']);
  });

  it('G3/G4: a gateway that flushes the head on an empty chunk', () => {
    const v = validator(
      function* (_e, start) {
        start('200 OK', [['Content-Type', 'text/plain']]);
        yield '';
        yield 'x';
      },
      { onViolation: quiet },
    );
    let sent = false;
    const { environ } = environFor(() => sent);
    const it = (v(environ, sr) as Iterable<Chunk>)[Symbol.iterator]();
    it.next();
    sent = true; // this "gateway" flushed the head on the '' it just got
    expect(() => it.next()).toThrow(/G3/);
  });

  it('G7: close() twice, next() after close(), and a response never closed', () => {
    const v = validator(app, { onViolation: quiet });
    const r = v(environFor().environ, sr) as AppIterable & Iterable<Chunk>;
    expect(v.openResponses).toBe(1);
    r.close!();
    expect(v.openResponses).toBe(0);
    expect(() => r.close!()).toThrow(/G7/);
    expect(() => r[Symbol.iterator]().next()).toThrow(/G7/);
  });

  it('G5: an async iterable pulled again while its next() is pending', async () => {
    const v = validator(
      async function* (_e, start) {
        start('200 OK', [['Content-Type', 'text/plain']]);
        await new Promise((r) => setImmediate(r));
        yield 'a';
      },
      { onViolation: quiet },
    );
    const it = (v(environFor().environ, sr) as AsyncIterable<Chunk>)[Symbol.asyncIterator]();
    const first = it.next();
    await expect(it.next()).rejects.toThrow(/G5/);
    await first;
  });

  it('G11: a wsgi.input that returns more than asked for', () => {
    const v = validator(
      (e, start) => {
        e['wsgi.input'].read(2);
        start('200 OK', [['Content-Type', 'text/plain']]);
        return [];
      },
      { onViolation: quiet },
    );
    const { environ } = environFor();
    const greedy = {
      ...environ['wsgi.input'],
      read: () => new Uint8Array(5),
      readline: () => new Uint8Array(0),
      readlines: () => [],
      [Symbol.iterator]: () => [][Symbol.iterator](),
    };
    expect(() => v({ ...environ, 'wsgi.input': greedy as unknown as Environ['wsgi.input'] }, sr)).toThrow(/G11/);
    expect(rules(v)).toEqual(['G11']);
  });

  it('environ checks: keys present and typed, paths start with /', () => {
    const v = validator(app, { onViolation: quiet });
    const { environ } = environFor();
    expect(() => v({ ...environ, PATH_INFO: 'no-slash' }, sr)).toThrow(/PATH_INFO/);
    expect(() => v({ ...environ, 'wsgi.url_scheme': 'ftp' as 'http' }, sr)).toThrow(/url_scheme/);
    expect(() => v({ ...environ, 'wsgi.version': [2, 0] }, sr)).toThrow(/wsgi.version/);
    expect(() => v({ ...environ, HTTP_X: 5 }, sr)).toThrow(/HTTP_X/);
    expect(rules(v)).toEqual(['environ', 'environ', 'environ', 'environ']);
    expect(v.violations[0]!.code).toBe('ERR_WSGI_VALIDATION');
  });

  it('accepts an environ without CONTENT_TYPE, CONTENT_LENGTH, QUERY_STRING, SCRIPT_NAME or PATH_INFO (PEP 3333: absent when empty)', () => {
    const v = validator(app, { onViolation: quiet });
    const { environ } = environFor();
    const sparse = { ...environ } as Record<string, unknown>;
    for (const k of ['CONTENT_TYPE', 'CONTENT_LENGTH', 'QUERY_STRING', 'SCRIPT_NAME', 'PATH_INFO']) delete sparse[k];
    expect(() => v(sparse as Environ, sr)).not.toThrow();
    expect(() => v({ ...environ, CONTENT_TYPE: '', CONTENT_LENGTH: '' }, sr)).not.toThrow();
    expect(v.violations).toEqual([]);
  });

  it('rejects what PEP 3333 and wsgiref.validate reject: a missing or empty REQUEST_METHOD/SERVER_NAME/SERVER_PORT, a missing wsgi.* key, a CGI key that is not a string, HTTP_CONTENT_LENGTH, SCRIPT_NAME "/"', () => {
    const v = validator(app, { onViolation: quiet });
    const { environ } = environFor();
    const without = (k: string) => {
      const e = { ...environ } as Record<string, unknown>;
      delete e[k];
      return e as Environ;
    };
    expect(() => v(without('REQUEST_METHOD'), sr)).toThrow(/REQUEST_METHOD.*non-empty/);
    expect(() => v({ ...environ, SERVER_NAME: '' }, sr)).toThrow(/SERVER_NAME/);
    expect(() => v(without('SERVER_PORT'), sr)).toThrow(/SERVER_PORT/);
    expect(() => v(without('wsgi.errors'), sr)).toThrow(/wsgi\.errors.*missing/);
    expect(() => v({ ...environ, REMOTE_PORT: 8080 as unknown as string }, sr)).toThrow(/REMOTE_PORT.*string/);
    expect(() => v({ ...environ, HTTP_CONTENT_LENGTH: '5' }, sr)).toThrow(/CONTENT_LENGTH/);
    expect(() => v({ ...environ, SCRIPT_NAME: '/' }, sr)).toThrow(/SCRIPT_NAME/);
    expect(() => v({ ...environ, CONTENT_LENGTH: '-1' }, sr)).toThrow(/CONTENT_LENGTH must be digits/);
    expect(rules(v)).toEqual(Array(8).fill('environ'));
  });

  it('logs each violation by default (spindle.validator, level error)', () => {
    const capture = captureLogs();
    try {
      const v = validator((() => 'x') as unknown as IterApp);
      expect(() => v(environFor().environ, sr)).toThrow(ValidationError);
      const ev = capture.events.find((e) => e.namespace === 'spindle.validator');
      expect(ev?.level).toBe('error');
      expect((ev?.failure?.value as ValidationError).rule).toBe('app-result');
    } finally {
      capture.restore();
    }
  });
});
