/**
 * HTTPConnectionPool's maxConnectionsPerHost: past the cap a request waits in a
 * FIFO queue (bounded by maxQueuedPerHost, then PoolQueueFull) for a connection
 * to come back or to close; a waiter that is cancelled or times out leaves the
 * queue. Over loopback to spindle's server on a MemoryReactor.
 */
import { describe, expect, it } from 'vitest';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { PoolQueueFull, ResponseTimeout } from '../src/protocols/http/client/errors.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { CancelledError, ConnectionRefusedError } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { serverWorld, text } from './http-client-helpers.js';

/** A server that answers only when the test says so, in arrival order. */
function heldServer() {
  const held: IRequest[] = [];
  const app: CpsApp = (req) => void held.push(req);
  const release = () => {
    const r = held.shift()!;
    r.write(`done ${r.uri}`);
    r.finish();
  };
  return { app, held, release };
}

/** Send GET `path`; record its body (read at once) or its error. */
function send(w: ReturnType<typeof serverWorld>, path: string, out: string[]) {
  const d = w.agent.request('GET', `http://example.test${path}`);
  d.addCallbacks(
    (r) =>
      void readBody(r).addCallback((b) => {
        out.push(text(b));
      }),
    (f) => void out.push(`error ${(f.value as { code?: string }).code}`),
  );
  return d;
}

describe('HTTPConnectionPool maxConnectionsPerHost', () => {
  it('opens at most the cap; the rest wait and are served in order on the same connections', () => {
    const s = heldServer();
    const w = serverWorld(s.app, { maxConnectionsPerHost: 2 });
    const out: string[] = [];
    for (let i = 1; i <= 6; i++) send(w, `/${i}`, out);
    w.settle();
    expect(w.reactor.tcpClients).toHaveLength(2);
    expect(w.pool.openCount('http://example.test:80')).toBe(2);
    expect(w.pool.queuedCount('http://example.test:80')).toBe(4);
    expect(s.held.map((r) => r.uri)).toEqual(['/1', '/2']);
    while (s.held.length > 0) {
      s.release();
      w.settle();
    }
    expect(out).toEqual(['done /1', 'done /2', 'done /3', 'done /4', 'done /5', 'done /6']);
    expect(w.reactor.tcpClients).toHaveLength(2);
    expect(w.pool.queuedCount('http://example.test:80')).toBe(0);
    expect(w.pool.cachedCount()).toBe(2);
  });

  it('each host has its own cap', () => {
    const s = heldServer();
    const w = serverWorld(s.app, { maxConnectionsPerHost: 1 });
    const out: string[] = [];
    send(w, '/a', out);
    send(w, '/b', out);
    w.agent.request('GET', 'http://other.test/c');
    w.settle();
    expect(w.reactor.tcpClients.map((c) => c.host)).toEqual(['example.test', 'other.test']);
    expect(w.pool.queuedCount('http://example.test:80')).toBe(1);
  });

  it('the queue is bounded: past maxQueuedPerHost a request fails at once with PoolQueueFull, opening nothing', () => {
    const s = heldServer();
    const w = serverWorld(s.app, { maxConnectionsPerHost: 1, maxQueuedPerHost: 3 });
    const out: string[] = [];
    // A server that never answers: 1000 requests cannot grow what the pool holds past the bound.
    for (let i = 0; i < 1000; i++) send(w, `/${i}`, out);
    w.settle();
    expect(w.reactor.tcpClients).toHaveLength(1);
    expect(w.pool.queuedCount('http://example.test:80')).toBe(3);
    expect(out).toHaveLength(996);
    expect(new Set(out)).toEqual(new Set(['error ERR_HTTP_POOL_QUEUE_FULL']));
    let err: unknown = null;
    w.agent.request('GET', 'http://example.test/more').addErrback((f) => void (err = f.value));
    expect(err).toBeInstanceOf(PoolQueueFull);
    expect((err as Error).message).toMatch(/maxQueuedPerHost/);
    expect((err as PoolQueueFull).queued).toBe(3);
    // Draining serves the three that waited.
    for (let i = 0; i < 4; i++) {
      s.release();
      w.settle();
    }
    expect(out.slice(996)).toEqual(['done /0', 'done /1', 'done /2', 'done /3']);
  });

  it('a waiter that is cancelled or times out leaves the queue; the others keep their turn; no timer is left', () => {
    const s = heldServer();
    const w = serverWorld(s.app, { maxConnectionsPerHost: 1 }, { timeout: 5 });
    const out: string[] = [];
    send(w, '/1', out);
    w.settle();
    w.reactor.advance(3);
    send(w, '/2', out); // times out at 8 (3 + 5)
    const third = send(w, '/3', out);
    w.settle();
    expect(w.pool.queuedCount('http://example.test:80')).toBe(2);
    third.cancel();
    expect(out).toEqual([`error ${new CancelledError().code}`]);
    expect(w.pool.queuedCount('http://example.test:80')).toBe(1);
    s.release(); // /1 answers at 3 s: /2 gets the connection
    w.settle();
    expect(out).toEqual([`error ${new CancelledError().code}`, 'done /1']);
    w.reactor.advance(6); // /2 now waits on the server past its timeout
    w.settle();
    expect(out[2]).toBe(`error ${new ResponseTimeout(5, '').code}`);
    expect(w.pool.queuedCount('http://example.test:80')).toBe(0);
    // A timed-out waiter that never got a connection leaves the queue too.
    const s2 = heldServer();
    const w2 = serverWorld(s2.app, { maxConnectionsPerHost: 1 }, { timeout: 5 });
    const out2: string[] = [];
    send(w2, '/1', out2);
    send(w2, '/2', out2);
    w2.settle();
    w2.reactor.advance(5.1);
    w2.settle();
    expect(out2).toEqual([`error ERR_HTTP_RESPONSE_TIMEOUT`, `error ERR_HTTP_RESPONSE_TIMEOUT`]);
    expect(w2.pool.queuedCount('http://example.test:80')).toBe(0);
    expect(w2.reactor.tcpClients).toHaveLength(1);
    expect(w2.reactor.getDelayedCalls().filter((c) => c.active())).toEqual([]);
  });

  it('a connection that closes frees its slot: with a non-persistent pool each waiter opens the next one', () => {
    const s = heldServer();
    const w = serverWorld(s.app, { maxConnectionsPerHost: 1, persistent: false });
    const out: string[] = [];
    for (let i = 1; i <= 3; i++) send(w, `/${i}`, out);
    w.settle();
    for (let i = 1; i <= 3; i++) {
      expect(w.reactor.tcpClients).toHaveLength(i);
      expect(w.open()).toBe(1); // never two at once
      s.release();
      w.settle();
    }
    expect(out).toEqual(['done /1', 'done /2', 'done /3']);
    expect(w.open()).toBe(0);
    expect(w.pool.openCount('http://example.test:80')).toBe(0);
  });

  it('a connection attempt that fails frees its slot: the first waiter opens the next one', () => {
    const s = heldServer();
    const w = serverWorld(s.app, { maxConnectionsPerHost: 1 });
    const out: string[] = [];
    send(w, '/1', out);
    send(w, '/2', out);
    const first = w.reactor.tcpClients[0]!;
    first.factory.clientConnectionFailed(first.connector, new Failure(new ConnectionRefusedError('example.test', 80)));
    expect(out).toEqual(['error ERR_CONNECTION_REFUSED']);
    expect(w.reactor.tcpClients).toHaveLength(2); // the waiter's own attempt
    w.settle();
    s.release();
    w.settle();
    expect(out).toEqual(['error ERR_CONNECTION_REFUSED', 'done /2']);
    expect(w.pool.openCount('http://example.test:80')).toBe(1);
  });

  it('uncapped (the default) opens a connection per concurrent request, as before', () => {
    const s = heldServer();
    const w = serverWorld(s.app);
    const out: string[] = [];
    for (let i = 1; i <= 5; i++) send(w, `/${i}`, out);
    w.settle();
    expect(w.reactor.tcpClients).toHaveLength(5);
    expect(w.pool.maxConnectionsPerHost).toBe(Infinity);
  });
});
