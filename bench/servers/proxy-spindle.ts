/**
 * spindle's reverseProxy (compiled by tsc when the bench passes a build) in
 * front of 127.0.0.1:argv[2]. Prints its port on stdout, then serves until killed.
 * `PROXY_FRESH_UPSTREAM=1`: its pool keeps no connection (`persistent: false`), so
 * each request gets a new upstream connection, as curl's direct download does. Its timeouts are a day:
 * the head of an upload's answer comes after the whole body, which the soak's slow rows send for hours.
 */
import { spindleModule } from './dist.js';

const { NodeReactor } =
  await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
const { HTTPFactory } =
  await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');
const client = await spindleModule<typeof import('../../src/protocols/http/client/index.js')>(
  'protocols/http/client/index.js',
);

const reactor = new NodeReactor();
const pool = new client.HTTPConnectionPool(reactor, {
  maxPersistentPerHost: 64,
  persistent: process.env.PROXY_FRESH_UPSTREAM !== '1',
});
const agent = new client.Agent(reactor, { pool, timeout: 86_400 });
const app = client.reverseProxy(`http://127.0.0.1:${process.argv[2]}`, { agent, timeout: 86_400 });
const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor, idleTimeout: 86_400, headerTimeout: 86_400 }), {
  host: '127.0.0.1',
});
reactor.run();
process.stdout.write(`${port.getHost().port}\n`);
