/**
 * Benchmark server: spindle's HTTPFactory with a CPS app answering a 12-byte
 * hello. Prints its port on stdout, then serves until killed.
 */
import type { IRequest } from '../../src/protocols/http/interfaces.js';
import { benchTLS, spindleModule } from './dist.js';

// spindle compiled by tsc when the bench passes a build (see dist.ts), else the sources.
const { NodeReactor } =
  await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
const { HTTPFactory } =
  await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');

const BODY = Buffer.from('hello world!');
const reactor = new NodeReactor();
const app = (req: IRequest) => {
  req.setHeader('Content-Type', 'text/plain');
  req.write(BODY);
  req.finish();
};
const tls = benchTLS(); // SPINDLE_BENCH_TLS=1: HTTPS (bench/https.ts)
const factory = new HTTPFactory(app, { reactor });
const port = tls
  ? await reactor.listenTLS(0, factory, { ...tls, host: '127.0.0.1' })
  : await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
reactor.run();
process.stdout.write(`${port.getHost().port}\n`);
// For profiling runs: exit cleanly (so --cpu-prof writes its file) after N seconds.
if (process.env.SPINDLE_BENCH_EXIT_AFTER)
  setTimeout(() => process.exit(0), Number(process.env.SPINDLE_BENCH_EXIT_AFTER) * 1000);
