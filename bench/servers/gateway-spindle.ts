/**
 * Benchmark server (child process): an iterator app on spindle's gateway and
 * HTTP server. `MODE` picks the app: 'hello', 'stream' (TOTAL bytes in 64 KiB
 * chunks of one buffer, with Content-Length), 'infinite' (fresh 64 KiB chunks
 * forever). Prints `listening PORT` on stdout once ready.
 */
import type { IterApp } from '../../src/bridge/interfaces.js';
import { benchTLS, spindleModule } from './dist.js';

// spindle compiled by tsc when the bench passes a build (see dist.ts), else the sources.
const { NodeReactor } =
  await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
const { HTTPFactory } =
  await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');
const { toCpsApp } = await spindleModule<typeof import('../../src/bridge/gateway.js')>('bridge/gateway.js');

const [mode = 'hello', totalArg = '0'] = process.argv.slice(2);
const total = Number(totalArg);
const CHUNK = 64 * 1024;
// Buffers, as the node:http baseline yields (node:net wraps any other Uint8Array in a Buffer per write).
const shared = Buffer.alloc(CHUNK, 0x61);

const apps: Record<string, IterApp> = {
  hello: (_e, sr) => {
    sr('200 OK', [['Content-Type', 'text/plain']]);
    return ['Hello, world!'];
  },
  stream: function* (_e, sr) {
    sr('200 OK', [
      ['Content-Type', 'application/octet-stream'],
      ['Content-Length', String(total)],
    ]);
    for (let sent = 0; sent < total; sent += CHUNK)
      yield sent + CHUNK <= total ? shared : shared.subarray(0, total - sent);
  },
  infinite: function* (_e, sr) {
    sr('200 OK', [['Content-Type', 'application/octet-stream']]);
    for (;;) yield Buffer.alloc(CHUNK, 0x62);
  },
};

const reactor = new NodeReactor();
reactor.run();
const factory = new HTTPFactory(toCpsApp(apps[mode]!, { reactor }), { reactor });
const tls = benchTLS(); // SPINDLE_BENCH_TLS=1: HTTPS (bench/https.ts)
const port = tls
  ? await reactor.listenTLS(0, factory, { ...tls, host: '127.0.0.1' })
  : await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
process.stdout.write(`listening ${port.getHost().port}\n`);

// A clean exit on SIGTERM (lets --cpu-prof write its profile when profiling a run).
process.on('SIGTERM', () => process.exit(0));
