/**
 * spindle/testing's TimeoutMixin, DummyRequest and makeEnviron, and the entry
 * point's re-exports.
 */
import { describe, expect, it } from 'vitest';
import {
  Failure,
  LineReceiver,
  NoClockError,
  Protocol,
  ConnectionDone,
  HeadersSentError,
  RequestFinishedError,
  ConnectionLost,
  toCpsApp,
} from '../src/index.js';
import type { IPullProducer, IterApp } from '../src/index.js';
import * as testing from '../src/testing/index.js';
import {
  Clock,
  DummyRequest,
  failureResultOf,
  makeEnviron,
  StringTransport,
  successResultOf,
  TimeoutMixin,
  assertNoResult,
} from '../src/testing/index.js';

class Idle extends TimeoutMixin(LineReceiver) {
  lines: string[] = [];
  override connectionMade(): void {
    this.setTimeout(10);
  }
  override lineReceived(line: string): void {
    this.lines.push(line);
    this.resetTimeout();
  }
}

function idle(clock = new Clock()) {
  const p = new Idle();
  p.clock = clock;
  const t = new StringTransport();
  p.makeConnection(t);
  return { p, t, clock };
}

describe('TimeoutMixin', () => {
  it('closes an idle connection after the period, and activity restarts the timer', () => {
    const { p, t, clock } = idle();
    expect(p.timeOut).toBe(10);
    clock.advance(9);
    p.dataReceived(new TextEncoder().encode('hi\r\n'));
    clock.advance(9.5);
    expect(t.disconnecting).toBe(false);
    clock.advance(0.5);
    expect(t.disconnecting).toBe(true);
    expect(p.timeOut).toBeNull();
  });

  it('setTimeout returns the previous period; null stops the timer', () => {
    const { p, t, clock } = idle();
    expect(p.setTimeout(3)).toBe(10);
    expect(clock.getDelayedCalls()[0]!.getTime()).toBe(3);
    expect(p.setTimeout(null)).toBe(3);
    expect(clock.getDelayedCalls()).toHaveLength(0);
    clock.advance(100);
    expect(t.disconnecting).toBe(false);
    p.resetTimeout(); // no timer: nothing to reset
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it('timeoutConnection can be overridden to say goodbye first', () => {
    class Polite extends TimeoutMixin(Protocol) {
      override connectionMade(): void {
        this.setTimeout(1);
      }
      override timeoutConnection(): void {
        this.transport.write(new TextEncoder().encode('BYE\r\n'));
        super.timeoutConnection();
      }
    }
    const p = new Polite();
    const clock = new Clock();
    p.clock = clock;
    const t = new StringTransport();
    p.makeConnection(t);
    clock.advance(1);
    expect(t.valueString()).toBe('BYE\r\n');
    expect(t.disconnecting).toBe(true);
  });

  it('connectionLost cancels the timer', () => {
    const { p, clock } = idle();
    p.connectionLost(new Failure(new ConnectionDone()));
    expect(clock.getDelayedCalls()).toHaveLength(0);
  });

  it('without a clock, setTimeout says how to give it one', () => {
    const p = new Idle();
    expect(() => p.makeConnection(new StringTransport())).toThrow(NoClockError);
    expect(() => p.setTimeout(1)).toThrow(/set `this.clock` to the reactor/);
  });
});

describe('DummyRequest', () => {
  it('records code, headers and body; prepath/postpath start as site() starts them', () => {
    const r = new DummyRequest({ uri: '/a/b%20c/?x=1' });
    expect([r.path, r.query, r.prepath, r.postpath]).toEqual(['/a/b%20c/', 'x=1', [], ['a', 'b c', '']]);
    r.setResponseCode(201);
    r.setHeader('Content-Type', 'text/plain');
    r.write('hello ');
    r.write('');
    r.write(new TextEncoder().encode('world'));
    expect(r.written).toHaveLength(2);
    expect([r.code, r.codeMessage, r.getResponseHeader('content-type'), r.text(), r.finished]).toEqual([
      201,
      'Created',
      'text/plain',
      'hello world',
      false,
    ]);
  });

  it('finish() fires notifyFinish; writing or setting headers at the wrong time throws the server errors', () => {
    const r = new DummyRequest();
    const done = r.notifyFinish();
    assertNoResult(done);
    r.write('x');
    expect(() => r.setHeader('X', '1')).toThrow(HeadersSentError);
    r.finish();
    successResultOf(done);
    expect(() => r.write('more')).toThrow(RequestFinishedError);
    expect(() => r.finish()).toThrow(RequestFinishedError);
    expect([r.code, r.codeMessage, r.text()]).toEqual([200, 'OK', 'x']);
  });

  it('loseConnection errbacks notifyFinish with ConnectionLost and stops the producer', () => {
    const r = new DummyRequest();
    const done = r.notifyFinish();
    let stopped = 0;
    r.registerProducer({ resumeProducing() {}, stopProducing: () => void stopped++ }, false);
    r.loseConnection();
    failureResultOf(done, ConnectionLost);
    expect(stopped).toBe(1);
  });

  it('pull() asks a pull producer as a transport would, until it unregisters', () => {
    const r = new DummyRequest();
    let n = 0;
    const p: IPullProducer = {
      resumeProducing() {
        r.write(String(++n));
        if (n === 3) {
          r.unregisterProducer();
          r.finish();
        }
      },
      stopProducing() {},
    };
    r.registerProducer(p, false);
    expect(r.pull(10)).toBe(3);
    expect(r.text()).toBe('123');
  });

  it('streams a body in pieces to readBody', () => {
    const r = new DummyRequest({ method: 'POST' });
    const body = r.readBody();
    r.feedBody('ab');
    assertNoResult(body);
    r.feedBody('c');
    r.endBody();
    expect(Buffer.from(successResultOf(body)).toString()).toBe('abc');
  });

  it('hosts an iterator app through the real gateway', () => {
    const app: IterApp = (environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [`path ${String(environ.PATH_INFO)}`];
    };
    const r = new DummyRequest({ uri: '/x/y' });
    toCpsApp(app)(r);
    expect([r.finished, r.text(), r.getResponseHeader('content-type')]).toEqual([true, 'path /x/y', 'text/plain']);
  });
});

describe('makeEnviron', () => {
  it('builds the environ the gateway would, with the body readable and pause_output counted', () => {
    const { environ, controls } = makeEnviron({
      method: 'POST',
      path: '/items/%C3%A9',
      query: 'a=1',
      body: 'x=1',
      headers: [
        ['Host', 'h.test'],
        ['X-Trace', 't'],
      ],
    });
    expect([
      environ.REQUEST_METHOD,
      environ.PATH_INFO,
      environ.QUERY_STRING,
      environ.CONTENT_LENGTH,
      environ.HTTP_X_TRACE,
      environ.SCRIPT_NAME,
    ]).toEqual(['POST', '/items/\xc3\xa9', 'a=1', '3', 't', '']);
    expect(Buffer.from(environ['wsgi.input'].read()).toString()).toBe('x=1');
    const resume = environ['wsgi.pause_output']!();
    expect(controls.paused).toBe(true);
    resume();
    resume();
    expect([controls.pauses, controls.resumes, controls.paused]).toEqual([1, 1, false]);
    environ['wsgi.errors'].write('oops\n');
    expect(controls.errors).toEqual(['oops']);
  });

  it('mounts at a SCRIPT_NAME', () => {
    expect(makeEnviron({ scriptName: '/app', path: '/rest' }).environ).toMatchObject({
      SCRIPT_NAME: '/app',
      PATH_INFO: '/rest',
    });
  });
});

describe('spindle/testing entry point', () => {
  it('re-exports the test doubles so tests import from one place', () => {
    expect(Object.keys(testing).sort()).toEqual(
      [
        'Clock',
        'DeferredResultError',
        'DummyRequest',
        'MemoryReactor',
        'StringTransport',
        'TimeoutMixin',
        'assertNoResult',
        'failureResultOf',
        'loopback',
        'makeEnviron',
        'successResultOf',
      ].sort(),
    );
  });
});
