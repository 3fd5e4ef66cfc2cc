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

  it("gives a worker app a spindle.websocket whose accept() throws WebSocketUnsupportedError, and none without Upgrade", async () => {
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
