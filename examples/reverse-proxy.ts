/**
 * A streaming reverse proxy in front of an upstream HTTP server. Bodies stream
 * both ways with backpressure (a slow client slows the upstream read, a slow
 * upstream slows the client read); an upstream that is down gets 502, one that
 * does not answer in time 504. WebSocket (any Upgrade) passes through: the
 * upstream's 101 goes to the client and the two connections are joined.
 *
 *     node --import tsx examples/reverse-proxy.ts                   (proxies a small upstream it starts itself)
 *     UPSTREAM=http://127.0.0.1:8000 node --import tsx examples/reverse-proxy.ts
 *     then: curl -i http://127.0.0.1:8082/hello
 *     and a WebSocket to ws://127.0.0.1:8082/ws (the stand-in upstream echoes it), e.g. from a
 *     browser's console: s = new WebSocket('ws://127.0.0.1:8082/ws'); s.onmessage = (e) => console.log(e.data)
 *
 * PORT and HOST set the proxy's address (PORT=0 picks a free port). Ctrl-C stops it.
 */
// In your project: from 'spindle' and 'spindle/reactor'.
import {
  Agent,
  HTTPConnectionPool,
  HTTPFactory,
  WebSocketProtocol,
  acceptWebSocket,
  reverseProxy,
  type CpsApp,
  type WebSocketMessage,
} from '../src/index.js';
import reactor from '../src/reactor/index.js';

/** The stand-in upstream's WebSocket: echoes each message, text or binary. */
class Echo extends WebSocketProtocol {
  override messageReceived(data: WebSocketMessage): void {
    this.sendMessage(data);
  }
}

/** The stand-in upstream: a WebSocket echo at /ws; elsewhere says what it got, including what the proxy added. */
const upstreamApp: CpsApp = (request) => {
  if (request.path === '/ws') {
    acceptWebSocket(request, new Echo());
    return;
  }
  request.readBody({ limit: 1 << 20 }).addCallback((body) => {
    request.setHeader('Content-Type', 'text/plain; charset=utf-8');
    request.write(`upstream got ${request.method} ${request.uri} (${body.length} body bytes)\n`);
    request.write(`X-Forwarded-For: ${request.headers.get('x-forwarded-for') ?? '-'}\n`);
    request.write(`Forwarded: ${request.headers.get('forwarded') ?? '-'}\n`);
    request.finish();
  });
};

async function main(): Promise<void> {
  let upstream = process.env.UPSTREAM;
  if (upstream === undefined) {
    const port = await reactor.listenTCP(0, new HTTPFactory(upstreamApp, { reactor }), { host: '127.0.0.1' });
    upstream = `http://127.0.0.1:${port.getHost().port}`;
    reactor.addSystemEventTrigger('before', 'shutdown', () => port.stopListening());
  }
  const pool = new HTTPConnectionPool(reactor, { maxPersistentPerHost: 10 });
  const app = reverseProxy(upstream, { agent: new Agent(reactor, { pool, timeout: 30 }), timeout: 30 });
  const listening = await reactor.listenTCP(Number(process.env.PORT ?? 8082), new HTTPFactory(app, { reactor }), {
    host: process.env.HOST ?? '127.0.0.1',
  });
  const { host, port } = listening.getHost();
  console.log(`listening on http://${host}:${port}`);
  console.error(`proxying to ${upstream}`);
  reactor.addSystemEventTrigger('before', 'shutdown', () => listening.stopListening());
  reactor.addSystemEventTrigger('before', 'shutdown', () => pool.closeCachedConnections());
}

reactor.run({ installSignalHandlers: true });
main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
  void reactor.stop();
});
