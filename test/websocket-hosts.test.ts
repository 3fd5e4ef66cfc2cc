/**
 * Where WebSocket does not make sense, the app gets a clear typed error
 * instead of a hang: on a worker thread (threadedIterApp) and on a Fetch host
 * (toFetchHandler), in both app styles.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { threadedIterApp } from '../src/bridge/threaded.js';
import { toFetchHandler } from '../src/bridge/fetch.js';
import type { Chunk, Environ, StartResponse } from '../src/bridge/interfaces.js';
import { ThreadPool } from '../src/reactor/threadpool.js';
import type { NodeReactor } from '../src/reactor/nodereactor.js';
import { acceptWebSocket } from '../src/protocols/websocket/accept.js';
import { WebSocketUnsupportedError } from '../src/protocols/websocket/errors.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { appsUrl, makeHost, type Hosted } from './threaded-helpers.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '../src/bridge/nodehttp.js';
import { NodeReactor as Reactor } from '../src/reactor/nodereactor.js';
import type { IterApp } from '../src/bridge/interfaces.js';

const UPGRADE: [string, string][] = [
  ['Host', 'h'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Sec-WebSocket-Version', '13'],
];

describe('threadedIterApp', () => {
  let reactor: NodeReactor;
  let serve: (app: IterApp, init?: { headers?: [string, string][] }) => Hosted;
  let pool: ThreadPool;
  beforeEach(() => {
    ({ reactor, serve } = makeHost());
    pool = new ThreadPool(reactor, { size: 1 });
  });
  afterEach(async () => {
    await reactor.stop();
  });

  it('gives a worker app a spindle.websocket whose accept() throws WebSocketUnsupportedError, and none without Upgrade', async () => {
    const h = serve(threadedIterApp(appsUrl, 'websocketAccept', { pool }), { headers: UPGRADE });
    await h.done;
    expect(h.req.bodyText()).toMatch(/^WebSocketUnsupportedError ERR_WS_UNSUPPORTED: .*worker thread/);
    const plain = serve(threadedIterApp(appsUrl, 'websocketAccept', { pool }), { headers: [['Host', 'h']] });
    await plain.done;
    expect(plain.req.bodyText()).toBe('no spindle.websocket');
  });
});

describe('toFetchHandler', () => {
  const upgradeRequest = () => new Request('http://h/ws', { headers: UPGRADE.slice(1) });

  it('a CPS app calling acceptWebSocket gets WebSocketUnsupportedError', async () => {
    const errors: unknown[] = [];
    const handler = toFetchHandler(
      (request: IRequest) => {
        try {
          acceptWebSocket(request, new WebSocketProtocol());
        } catch (err) {
          errors.push(err);
          request.setResponseCode(501);
          request.finish();
        }
      },
      { style: 'cps' },
    );
    const res = await handler(upgradeRequest());
    expect(res.status).toBe(501);
    expect(errors[0]).toBeInstanceOf(WebSocketUnsupportedError);
  });

  it("an iterator app's accept() throws WebSocketUnsupportedError", async () => {
    const errors: unknown[] = [];
    const handler = toFetchHandler(function* (environ: Environ, startResponse: StartResponse): Generator<Chunk> {
      try {
        environ['spindle.websocket']!.accept();
      } catch (err) {
        errors.push(err);
      }
      startResponse('501 Not Implemented', [['Content-Type', 'text/plain']]);
      yield 'no websocket here';
    });
    const res = await handler(upgradeRequest());
    expect(res.status).toBe(501);
    expect(errors[0]).toBeInstanceOf(WebSocketUnsupportedError);
  });
});

describe('a plain GET (no Upgrade) to a CPS app that calls acceptWebSocket', () => {
  /** The app records what acceptWebSocket returned (or threw). */
  const recording = (seen: unknown[]) => (request: IRequest) => {
    try {
      seen.push(acceptWebSocket(request, new WebSocketProtocol()));
    } catch (err) {
      seen.push(err);
      request.setResponseCode(500);
      request.finish();
    }
  };

  it("on node:http (the request event) gets 426 and false, as on spindle's server", async () => {
    const reactor = new Reactor();
    reactor.run();
    const seen: unknown[] = [];
    const listener = toNodeListener(recording(seen), { reactor, style: 'cps' });
    const server = http.createServer(listener);
    server.on('upgrade', listener.upgrade);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ws`);
      expect([res.status, res.headers.get('upgrade'), await res.text()]).toEqual([
        426,
        'websocket',
        expect.stringMatching(/WebSocket only/),
      ]);
      expect(seen).toEqual([false]);
    } finally {
      await new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
      await reactor.stop();
    }
  });

  it('on a Fetch host gets 426 and false; a real handshake there still throws WebSocketUnsupportedError', async () => {
    const seen: unknown[] = [];
    const handler = toFetchHandler(recording(seen), { style: 'cps' });
    const res = await handler(new Request('http://h/ws'));
    expect([res.status, await res.text()]).toEqual([426, expect.stringMatching(/WebSocket only/)]);
    expect(seen).toEqual([false]);
    await handler(new Request('http://h/ws', { headers: UPGRADE.slice(1) }));
    expect(seen[1]).toBeInstanceOf(WebSocketUnsupportedError);
  });
});
