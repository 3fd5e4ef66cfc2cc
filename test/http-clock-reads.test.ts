/**
 * Clock readings per request (issue 17: each costs ~0.1 us on a VM, three per
 * keep-alive hello were 0.3-0.4 us of ~8). A request answered while the
 * channel drives it reads the reactor's clock once, shared by its Date header
 * and the idle deadline that follows; the deadlines themselves still run
 * from the right moments (timeouts below on the injected clock).
 */
import { describe, expect, it } from 'vitest';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { makeServer } from './http-channel-helpers.js';

const hello: CpsApp = (req) => {
  req.setHeader('Content-Type', 'text/plain');
  req.write('hello world!');
  req.finish();
};

/** A server whose reactor counts its clock readings. */
function counted(app: CpsApp, options = {}) {
  const s = makeServer(app, options);
  const seconds = s.reactor.seconds.bind(s.reactor);
  let reads = 0;
  s.reactor.seconds = () => (reads++, seconds());
  return { ...s, reads: () => reads };
}

describe('clock readings per request', () => {
  it('a keep-alive hello that comes whole reads the clock once', () => {
    const s = counted(hello);
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    s.reactor.advance(0);
    const before = s.reads();
    for (let i = 0; i < 10; i++) s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(s.reads() - before).toBe(10);
    expect(s.responses().map((r) => r.status)).toEqual(Array(11).fill(200));
  });

  it('ten pipelined hellos in one read take one reading each (the Date stays fresh over a long burst)', () => {
    const s = counted(hello);
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(10));
    s.reactor.advance(0);
    expect(s.reads()).toBeLessThanOrEqual(10 + 1); // + the scheduled resume's
    expect(s.responses()).toHaveLength(10);
  });

  it('a head in pieces is still timed from its first bytes; a finished request leaves the idle deadline', () => {
    const s = makeServer(hello, { headerTimeout: 5, idleTimeout: 20 });
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    s.reactor.advance(19);
    s.send('GET / HT'); // the next head starts at 19 s: 408 at 24 s, not at 39 s
    s.reactor.advance(4.9);
    expect(s.transport.disconnecting).toBe(false);
    s.reactor.advance(0.2);
    expect(s.responses().map((r) => r.status)).toEqual([200, 408]);
  });

  it('the idle deadline of an answered request runs from the answer', () => {
    const app: CpsApp = (req) => void s.reactor.callLater(3, () => hello(req));
    const s = makeServer(app, { idleTimeout: 10 });
    s.send('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    s.reactor.advance(3); // answered at 3 s: idle until 13 s
    s.reactor.advance(9.9);
    expect(s.transport.disconnecting).toBe(false);
    s.reactor.advance(0.2);
    expect(s.transport.disconnecting).toBe(true);
  });
});
