/**
 * `wsgi.input` and `wsgi.input_handler` (G11, G15) and whole-body mode, through
 * the gateway with a fake request. Deterministic: MemoryReactor's clock.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { Logger, LogPublisher } from '../src/reactor/log.js';
import { toCpsApp, type GatewayOptions } from '../src/bridge/gateway.js';
import type { Environ, IterApp, WsgiInput } from '../src/bridge/interfaces.js';
import { FakeRequest, type FakeRequestInit } from './gateway-fakerequest.js';

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function host(app: IterApp, init: FakeRequestInit = {}, options: GatewayOptions = {}) {
  const reactor = new MemoryReactor();
  const cps = toCpsApp(app, { reactor, logger: new Logger('test', new LogPublisher()), ...options });
  const req = new FakeRequest(reactor, { method: 'POST', ...init });
  void cps(req);
  return { req, reactor, stats: cps.gatewayStats };
}

/** An app that parks until the test is done with its environ; returns the environ. */
function parked(init: FakeRequestInit = {}, options: GatewayOptions = {}) {
  let env!: Environ;
  const h = host(
    function* (e, sr) {
      env = e;
      sr('200 OK', [['Content-Type', 'text/plain']]);
      e['wsgi.pause_output']!();
      yield '';
    },
    init,
    options,
  );
  return { ...h, env, input: env['wsgi.input'] };
}

describe('wsgi.input (G11)', () => {
  it('G11: read(n) returns at most n bytes, read() the rest, empty at the end', () => {
    const { req, input } = parked({
      headers: [
        ['Host', 'h'],
        ['Content-Length', '11'],
      ],
    });
    expect(input.read(3).length).toBe(0); // first read starts delivery; nothing arrived yet
    req.feedBody('hello ');
    req.feedBody('world');
    req.endBody();
    expect(dec(input.read(3))).toBe('hel');
    expect(dec(input.read(100))).toBe('lo world');
    expect(input.read().length).toBe(0);
    expect(input.atEOF).toBe(true);
    expect(input.clientGone).toBe(false);
  });

  it('G11: never past CONTENT_LENGTH, whatever the transport hands over', () => {
    const { req, input } = parked({
      headers: [
        ['Host', 'h'],
        ['Content-Length', '4'],
      ],
    });
    input.read();
    req.feedBody('abcdefgh');
    req.endBody();
    expect(dec(input.read())).toBe('abcd');
  });

  it('G11: readline(size), readlines() and iteration; a partial line waits for more', () => {
    const { req, input } = parked();
    input.read(0);
    req.feedBody('one\ntw');
    expect(dec(input.readline())).toBe('one\n');
    expect(input.readline().length).toBe(0); // 'tw' is not a line yet
    req.feedBody('o\nthree\nfour');
    expect(dec(input.readline(2))).toBe('tw');
    expect(dec(input.readline())).toBe('o\n');
    expect(input.readlines().map(dec)).toEqual(['three\n']);
    req.endBody();
    expect([...input].map(dec)).toEqual(['four']);
    expect(input.atEOF).toBe(true);
  });

  it('G11: lines at every split of the body come out the same (fast-check)', () => {
    const body = 'alpha\nbeta\n\ngamma delta\nlast';
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 8 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const { req, input } = parked();
        input.read(0);
        const lines: string[] = [];
        let prev = 0;
        for (const p of [...points, body.length]) {
          req.feedBody(body.slice(prev, p));
          prev = p;
          for (const l of input) lines.push(dec(l));
        }
        req.endBody();
        for (const l of input) lines.push(dec(l));
        expect(lines).toEqual(['alpha\n', 'beta\n', '\n', 'gamma delta\n', 'last']);
      }),
    );
  });

  it('G11: 100 Continue goes out on the first read, not before', () => {
    const { req, reactor, input } = parked({
      headers: [
        ['Host', 'h'],
        ['Expect', '100-continue'],
        ['Content-Length', '2'],
      ],
    });
    reactor.advance(1);
    expect(req.continueSent).toBe(false);
    input.read();
    expect(req.continueSent).toBe(true);
  });

  it('G11: end of body and client gone are told apart', () => {
    const a = parked();
    a.input.read();
    a.req.feedBody('par');
    a.req.loseClient();
    expect(a.input.clientGone).toBe(true);
    expect(a.input.atEOF).toBe(false);
    const b = parked();
    b.input.read();
    b.req.endBody();
    expect(b.input.clientGone).toBe(false);
    expect(b.input.atEOF).toBe(true);
  });
});

describe('wsgi.input_handler (G15)', () => {
  it('G15: onReadable runs when bytes or the end arrive, never inside the registering call; read() returns only what is there', () => {
    const { req, reactor, env, input } = parked();
    const seen: string[] = [];
    env['wsgi.input_handler']!(input, () => {
      const got = dec(input.read());
      seen.push(input.atEOF ? `${got}<eof>` : got);
    });
    expect(seen).toEqual([]);
    req.feedBody('ab');
    req.feedBody('cd');
    expect(seen).toEqual([]); // coalesced and scheduled, not on the transport's stack
    reactor.advance(0);
    expect(seen).toEqual(['abcd']);
    req.endBody();
    reactor.advance(0);
    expect(seen).toEqual(['abcd', '<eof>']);
  });

  it('G15: upload backpressure — past the high-water mark the socket read pauses, reading resumes it', () => {
    const { req, input } = parked({}, { inputHighWater: 100 });
    input.read(0);
    for (let i = 0; i < 10; i++) req.feedBody('x'.repeat(20));
    expect(req.bodyReadingPaused).toBe(true);
    expect(req.bodyPauses).toBe(1);
    input.read(120); // 80 left: above half the mark, still paused
    expect(req.bodyReadingPaused).toBe(true);
    input.read(40); // 40 left: below half, reading resumes
    expect(req.bodyReadingPaused).toBe(false);
    expect(req.bodyResumes).toBe(1);
  });

  it('G15: an app reads a 100 MiB upload through input_handler with bounded memory', () => {
    const highWater = 64 * 1024;
    let maxHeld = 0;
    let total = 0;
    const { req, reactor, env, input } = parked({}, { inputHighWater: highWater });
    env['wsgi.input_handler']!(input, () => {
      // Edge-triggered: read what is there, in 16 KiB pieces.
      for (let got = input.read(16 * 1024); got.length > 0; got = input.read(16 * 1024)) total += got.length;
    });
    const piece = new Uint8Array(8 * 1024);
    const target = 100 * 1024 * 1024;
    let fed = 0;
    while (fed < target) {
      // The "socket" delivers only while the gateway has not paused reading.
      if (req.bodyReadingPaused) {
        reactor.advance(0);
        continue;
      }
      req.feedBody(piece);
      fed += piece.length;
      maxHeld = Math.max(maxHeld, (input as WsgiInput & { bufferedBytes: number }).bufferedBytes);
      if (fed % (256 * 1024) === 0) reactor.advance(0); // the reactor turns now and then
    }
    req.endBody();
    for (let i = 0; i < 20 && !input.atEOF; i++) reactor.advance(0);
    expect(total).toBe(target);
    expect(maxHeld).toBeLessThanOrEqual(highWater + piece.length);
  });

  it('G15: onReadable that throws fails the response (500 before headers)', () => {
    const { req, reactor, env, input } = parked();
    env['wsgi.input_handler']!(input, () => {
      throw new Error('handler bug');
    });
    req.feedBody('x');
    reactor.advance(0);
    expect(req.code).toBe(500);
  });
});

describe('bufferInput (whole-body mode)', () => {
  it('calls the app only once the whole body arrived; read() then returns all of it', () => {
    let body = '';
    let calls = 0;
    const { req } = host(
      (e, sr) => {
        calls++;
        body = dec(e['wsgi.input'].read());
        sr('200 OK', [['Content-Type', 'text/plain']]);
        return [body.toUpperCase()];
      },
      {},
      { bufferInput: { limit: 100 } },
    );
    req.feedBody('abc');
    expect(calls).toBe(0);
    req.feedBody('def');
    req.endBody();
    expect(calls).toBe(1);
    expect(req.bodyText()).toBe('ABCDEF');
  });

  it('answers 413 past the limit and never calls the app', () => {
    let calls = 0;
    const { req, stats } = host(() => (calls++, []), {}, { bufferInput: { limit: 4 } });
    req.feedBody('too long');
    expect(calls).toBe(0);
    expect(req.code).toBe(413);
    expect(req.finished).toBe(true);
    expect(stats.activeResponses).toBe(0);
  });
});
