import { describe, expect, it } from 'vitest';
import { GET, makeServer } from './http-channel-helpers.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { captureLogs, Logger, LogPublisher } from '../src/reactor/log.js';
import { Clock } from '../src/reactor/clock.js';
import { DateCache } from '../src/protocols/http/date.js';
import { ConnectionLost } from '../src/reactor/errors.js';
import type { Failure } from '../src/reactor/failure.js';

const hello = (req: IRequest) => {
  req.setHeader('Content-Type', 'text/plain');
  req.write('hello world!');
  req.finish();
};

describe('HTTPChannel: responses and framing', () => {
  it('a small synchronous response leaves as one write with an exact Content-Length', () => {
    const s = makeServer(hello);
    s.send(GET());
    expect(s.writes).toHaveLength(1);
    const [r] = s.responses();
    expect(r).toMatchObject({ status: 200, phrase: 'OK', body: 'hello world!', framing: 'length' });
    expect(r!.headers['content-length']).toBe('12');
    expect(r!.headers['date']).toMatch(/GMT$/);
    expect(r!.headers['connection']).toBeUndefined();
    expect(s.transport.disconnecting).toBe(false);
  });

  it('pipelined synchronous responses share one write', () => {
    const s = makeServer(hello);
    s.send(GET('/1') + GET('/2') + GET('/3'));
    expect(s.writes).toHaveLength(1);
    expect(s.responses().map((r) => r.body)).toEqual(['hello world!', 'hello world!', 'hello world!']);
  });

  it('a response written after the app returned is chunked on 1.1, head and first chunk in one write', () => {
    let req!: IRequest;
    const s = makeServer((r) => void (req = r));
    s.send(GET());
    expect(s.output()).toBe('');
    req.write('abc');
    expect(s.writes).toHaveLength(1);
    req.write('de');
    req.finish();
    const [r] = s.responses();
    expect(r).toMatchObject({ framing: 'chunked', body: 'abcde' });
    expect(s.output().endsWith('0\r\n\r\n')).toBe(true);
  });

  it('a 1.0 client gets a close-delimited body when the length is unknown', () => {
    let req!: IRequest;
    const s = makeServer((r) => void (req = r));
    s.send('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    req.write('abc');
    req.finish();
    const [r] = s.responses();
    expect(r!.headers['connection']).toBe('close');
    expect(r!.headers['transfer-encoding']).toBeUndefined();
    expect(r!.body).toBe('abc');
    expect(s.transport.disconnecting).toBe(true);
  });

  it('a 1.0 keep-alive client with a known length keeps the connection', () => {
    const s = makeServer(hello);
    s.send('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    expect(s.responses()[0]!.headers['connection']).toBe('keep-alive');
    expect(s.transport.disconnecting).toBe(false);
  });

  it('the app-set Content-Length is kept; extra bytes are cut and logged', () => {
    const logs = captureLogs();
    try {
      const s = makeServer((req) => {
        req.setHeader('Content-Length', '4');
        req.write('abcdef');
        req.write('gh');
        req.finish();
      });
      s.send(GET());
      expect(s.responses()[0]).toMatchObject({ body: 'abcd', framing: 'length' });
      expect(s.output().endsWith('abcd')).toBe(true);
      expect(logs.events.some((e) => e.level === 'warn' && /Content-Length/.test(e.message))).toBe(true);
      expect(s.transport.disconnecting).toBe(false);
    } finally {
      logs.restore();
    }
  });

  it('fewer bytes than the Content-Length close the connection after them', () => {
    const logs = captureLogs();
    try {
      const s = makeServer((req) => {
        req.setHeader('Content-Length', '10');
        req.write('abc');
        req.finish();
      });
      s.send(GET() + GET());
      expect(s.output().endsWith('abc')).toBe(true);
      expect(s.transport.disconnecting).toBe(true);
      expect(s.output().split('HTTP/1.1').length - 1).toBe(1);
      expect(logs.events.some((e) => e.level === 'error')).toBe(true);
    } finally {
      logs.restore();
    }
  });

  it('HEAD gets the headers a GET would, no body', () => {
    const s = makeServer(hello);
    s.send('HEAD / HTTP/1.1\r\nHost: t\r\n\r\n' + GET());
    const text = s.output();
    const [head] = text.split('\r\n\r\n');
    expect(head).toContain('Content-Length: 12');
    // The next response starts right after the HEAD's empty line.
    expect(text.slice(head!.length + 4).startsWith('HTTP/1.1 200 OK')).toBe(true);
  });

  it('204 and 304 carry no body and 204 no Content-Length', () => {
    for (const code of [204, 304]) {
      const s = makeServer((req) => {
        req.setResponseCode(code);
        req.write('dropped');
        req.finish();
      });
      s.send(GET() + GET('/again'));
      const rs = s.responses();
      expect(rs.map((r) => r.status)).toEqual([code, code]);
      expect(rs[0]!.body).toBe('');
      expect(s.output()).not.toContain('dropped');
      if (code === 204) expect(rs[0]!.headers['content-length']).toBeUndefined();
    }
  });

  it('an empty write sends nothing, not even the headers', () => {
    let req!: IRequest;
    const s = makeServer((r) => void (req = r));
    s.send(GET());
    req.write('');
    req.write(new Uint8Array(0));
    expect(s.output()).toBe('');
    expect(req.startedWriting).toBe(false);
    req.flushHeaders();
    expect(s.responses()[0]!.status).toBe(200);
    expect(req.startedWriting).toBe(true);
  });

  it('finish() twice throws RequestFinishedError; write after finish too', () => {
    let req!: IRequest;
    const s = makeServer((r) => void (req = r));
    s.send(GET());
    req.finish();
    expect(() => req.finish()).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_FINISHED' }));
    expect(() => req.write('x')).toThrow(expect.objectContaining({ code: 'ERR_REQUEST_FINISHED' }));
    expect(s.responses()[0]!.headers['content-length']).toBe('0');
  });

  it('header injection is refused at setHeader', () => {
    let err: unknown;
    const s = makeServer((req) => {
      try {
        req.setHeader('X-A', 'v\r\nSet-Cookie: evil=1');
      } catch (e) {
        err = e;
      }
      req.finish();
    });
    s.send(GET());
    expect(err).toMatchObject({ code: 'ERR_HTTP_INVALID_HEADER' });
    expect(s.output()).not.toContain('evil');
  });

  it('the Date header follows the reactor clock from a wall-clock base, whole seconds', () => {
    const clock = new Clock();
    const dates = new DateCache(clock, 784111777.5); // Sun, 06 Nov 1994 08:49:37.5 GMT
    expect(dates.get()).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    clock.advance(0.4);
    expect(dates.get()).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    clock.advance(0.1);
    expect(dates.get()).toBe('Sun, 06 Nov 1994 08:49:38 GMT');
    clock.advance(3600);
    expect(dates.get()).toBe('Sun, 06 Nov 1994 09:49:38 GMT');
    const s = makeServer(hello);
    s.send(GET());
    expect(Number.isNaN(Date.parse(s.responses()[0]!.headers['date']!))).toBe(false);
  });

  it('the Server header is sent only when configured', () => {
    const s = makeServer(hello, { serverName: 'spindle' });
    s.send(GET());
    expect(s.responses()[0]!.headers['server']).toBe('spindle');
    const t = makeServer(hello);
    t.send(GET());
    expect(t.responses()[0]!.headers['server']).toBeUndefined();
  });
});

describe('HTTPChannel: keep-alive and pipelining', () => {
  it('1.1 keeps the connection; Connection: close closes it after the response', () => {
    const s = makeServer(hello);
    s.send(GET());
    s.send(GET());
    expect(s.transport.disconnecting).toBe(false);
    s.send(GET('/', 'Connection: close\r\n'));
    const rs = s.responses();
    expect(rs).toHaveLength(3);
    expect(rs[2]!.headers['connection']).toBe('close');
    expect(s.transport.disconnecting).toBe(true);
  });

  it('1.0 without keep-alive closes after the response', () => {
    const s = makeServer(hello);
    s.send('GET / HTTP/1.0\r\n\r\n');
    expect(s.responses()[0]!.headers['connection']).toBe('close');
    expect(s.transport.disconnecting).toBe(true);
  });

  it('pipelined requests are answered in order, the next one dispatched only after the previous finished', () => {
    const pending: IRequest[] = [];
    const seen: string[] = [];
    const s = makeServer((req) => {
      seen.push(req.path);
      if (req.path === '/slow') pending.push(req);
      else {
        req.write(req.path);
        req.finish();
      }
    });
    s.send(GET('/slow') + GET('/fast') + GET('/fast2'));
    expect(seen).toEqual(['/slow']);
    s.reactor.advance(0);
    expect(seen).toEqual(['/slow']);
    pending[0]!.write('slow');
    pending[0]!.finish();
    // The next request runs on the next reactor turn, never inside the app's finish().
    expect(seen).toEqual(['/slow']);
    s.reactor.advance(0);
    expect(seen).toEqual(['/slow', '/fast', '/fast2']);
    expect(s.responses().map((r) => r.body)).toEqual(['slow', '/fast', '/fast2']);
  });

  it('a stalled app stops the channel reading once held pipelined input passes its bound', () => {
    const pending: IRequest[] = [];
    const s = makeServer((req) => void pending.push(req), { maxHeldInputBytes: 1000 });
    const one = GET('/x');
    let sent = 0;
    while (s.transport.producerState === 'producing' && sent < 10_000) {
      s.send(one);
      sent++;
    }
    expect(s.transport.producerState).toBe('paused');
    expect(pending).toHaveLength(1);
    expect(sent * one.length).toBeLessThan(1000 + 2 * one.length);
    pending[0]!.finish();
    s.reactor.advance(0);
    expect(pending).toHaveLength(2);
    // Still more than the bound? no: one request's worth was consumed.
    expect(s.transport.producerState).toBe('producing');
  });
});

describe('HTTPChannel: rejected requests', () => {
  it('a bad request gets its 4xx with Connection: close, never reaches the app, and the connection closes', () => {
    let called = 0;
    const s = makeServer(() => void called++);
    s.send('GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n');
    const [r] = s.responses();
    expect(r).toMatchObject({ status: 400 });
    expect(r!.headers['connection']).toBe('close');
    expect(called).toBe(0);
    expect(s.transport.disconnecting).toBe(true);
    expect(s.factory.stats.badRequests).toBe(1);
  });

  it('a bad request pipelined behind a good one is answered after it', () => {
    const s = makeServer(hello);
    s.send(GET() + 'GET / HTTP/9.9\r\nHost: t\r\n\r\n');
    expect(s.responses().map((r) => r.status)).toEqual([200, 505]);
    expect(s.transport.disconnecting).toBe(true);
  });

  it('bytes after a rejected request are ignored', () => {
    let called = 0;
    const s = makeServer(() => void called++);
    s.send('BAD\r\n');
    s.send(GET());
    expect(called).toBe(0);
    expect(s.responses()).toHaveLength(1);
  });
});

describe('HTTPChannel: timeouts', () => {
  it('a head that does not arrive within headerTimeout gets 408 and a close', () => {
    const s = makeServer(hello, { headerTimeout: 10, idleTimeout: 100 });
    s.send('GET / HTTP/1.1\r\n');
    s.reactor.advance(5);
    s.send('Host: t\r\n');
    s.reactor.advance(4.9);
    expect(s.output()).toBe('');
    s.reactor.advance(0.2);
    expect(s.responses()[0]!.status).toBe(408);
    expect(s.transport.disconnecting).toBe(true);
    expect(s.factory.stats.timeouts).toBe(1);
  });

  it('an idle keep-alive connection closes after idleTimeout; a request resets it', () => {
    const s = makeServer(hello, { idleTimeout: 5 });
    s.reactor.advance(4);
    s.send(GET());
    s.reactor.advance(4);
    expect(s.transport.disconnecting).toBe(false);
    s.reactor.advance(1.1);
    expect(s.transport.disconnecting).toBe(true);
    expect(s.output().split('HTTP/1.1').length - 1).toBe(1);
  });

  it('a request the app is still working on is not timed out', () => {
    let req!: IRequest;
    const s = makeServer((r) => void (req = r), { idleTimeout: 5, headerTimeout: 5 });
    s.send(GET());
    s.reactor.advance(60);
    expect(s.transport.disconnecting).toBe(false);
    req.finish();
    expect(s.responses()[0]!.status).toBe(200);
  });

  it('closing the connection cancels the timer', () => {
    const s = makeServer(hello, { idleTimeout: 5 });
    s.close();
    s.reactor.advance(10);
    expect(s.reactor.getDelayedCalls()).toHaveLength(0);
    expect(s.factory.stats.openChannels).toBe(0);
  });
});

describe('HTTPChannel: access log and stats', () => {
  it('logs one Common Log Format line per response when asked', () => {
    const publisher = new LogPublisher();
    const lines: string[] = [];
    publisher.addObserver((e) => void lines.push(e.message));
    const s = makeServer(hello, { accessLog: new Logger('access', publisher) });
    s.send(GET('/a?b=1'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^192\.0\.2\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\?b=1 HTTP\/1\.1" 200 12$/,
    );
  });

  it('counts requests, responses and open channels', () => {
    const s = makeServer(hello);
    s.send(GET() + GET());
    expect(s.factory.stats).toMatchObject({
      requests: 2,
      responses: 2,
      openChannels: 1,
      totalChannels: 1,
      badRequests: 0,
    });
    s.close(true);
    expect(s.factory.stats.openChannels).toBe(0);
  });
});

describe('HTTPChannel: ordering and half-close', () => {
  it('a response still running after the app returned goes out behind the finished ones', () => {
    let second!: IRequest;
    const s = makeServer((req) => {
      if (req.path === '/1') {
        req.write('one');
        req.finish();
      } else {
        second = req;
        req.write('two-');
      }
    });
    s.send(GET('/1') + GET('/2'));
    second.write('more');
    second.finish();
    expect(s.responses().map((r) => r.body)).toEqual(['one', 'two-more']);
  });

  it('a big synchronous write is not held past MAX_COALESCE_BYTES', () => {
    const s = makeServer((req) => {
      req.write('x'.repeat(20_000));
      req.write('y');
      req.finish();
    });
    s.send(GET());
    const [r] = s.responses();
    expect(r!.framing).toBe('chunked');
    expect(r!.body.length).toBe(20_001);
  });

  it('with allowHalfOpen, after the client half-closes, requests already received are answered, then the connection closes', () => {
    const pending: IRequest[] = [];
    const s = makeServer((req) => void pending.push(req), { allowHalfOpen: true });
    s.send(GET('/a') + GET('/b'));
    s.channel.readConnectionLost();
    expect(s.transport.disconnecting).toBe(false);
    pending[0]!.finish();
    s.reactor.advance(0);
    pending[1]!.finish();
    expect(s.responses()).toHaveLength(2);
    expect(s.transport.disconnecting).toBe(true);
  });

  it('by default a FIN while a response is outstanding is the client leaving: the response ends as lost, pipelined requests are dropped', () => {
    const pending: IRequest[] = [];
    const outcomes: string[] = [];
    const s = makeServer((req) => {
      pending.push(req);
      req.notifyFinish().addCallbacks(
        () => void outcomes.push('finished'),
        (f: Failure) => void outcomes.push(f.value instanceof ConnectionLost ? 'lost' : 'other'),
      );
    });
    s.send(GET('/a') + GET('/b'));
    s.channel.readConnectionLost();
    expect(outcomes).toEqual(['lost']);
    expect(s.transport.disconnecting).toBe(true);
    // Writes after that are dropped, finish() does nothing, and /b never reaches the app.
    pending[0]!.write('late');
    pending[0]!.finish();
    s.reactor.advance(1);
    expect(pending).toHaveLength(1);
    expect(s.transport.value().length).toBe(0);
  });

  it('by default a FIN after the response was answered closes once it is written', () => {
    const s = makeServer(hello);
    s.send(GET());
    s.channel.readConnectionLost();
    expect(s.responses()).toHaveLength(1);
    expect(s.transport.disconnecting).toBe(true);
  });

  it('a half-close on an idle connection closes it', () => {
    const s = makeServer(hello);
    s.send(GET());
    s.channel.readConnectionLost();
    expect(s.transport.disconnecting).toBe(true);
  });
});

describe('HTTPChannel: output backpressure', () => {
  it('a client that pipelines without reading stops being served once the transport is full', () => {
    let served = 0;
    const s = makeServer(
      (req) => {
        served++;
        req.write('x'.repeat(500));
        req.finish();
      },
      { maxHeldInputBytes: 2000 },
      { highWater: 2000 },
    );
    for (let i = 0; i < 1000 && s.transport.producerState === 'producing'; i++) s.send(GET());
    expect(s.transport.producerState).toBe('paused');
    const servedWhenPaused = served;
    expect(servedWhenPaused).toBeLessThan(10);
    // Bytes already in flight are held, not served.
    s.send(GET() + GET());
    s.reactor.advance(1);
    expect(served).toBe(servedWhenPaused);
    // The client reads everything: serving and reading resume.
    s.transport.clear();
    s.reactor.advance(0);
    expect(served).toBe(servedWhenPaused + 2);
    expect(s.transport.producerState).toBe('producing');
  });
});

describe('HTTPChannel: timer cost', () => {
  it('a busy keep-alive connection keeps one delayed call, moved lazily, not one per request', () => {
    const s = makeServer(hello, { idleTimeout: 5, headerTimeout: 5 });
    for (let i = 0; i < 100; i++) {
      s.send(GET());
      s.reactor.advance(0.01);
    }
    expect(s.reactor.getDelayedCalls()).toHaveLength(1);
    expect(s.responses()).toHaveLength(100);
    // And it still fires on time: 5 s after the last request.
    s.reactor.advance(4.9);
    expect(s.transport.disconnecting).toBe(false);
    s.reactor.advance(0.2);
    expect(s.transport.disconnecting).toBe(true);
  });
});
