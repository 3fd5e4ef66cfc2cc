/**
 * Benchmark server (child process) for bench/bridge.ts: one CPS app served
 * either directly (`direct`: HTTPFactory(app)) or through the bridge and back
 * (`bridged`: HTTPFactory(toCpsApp(toIterApp(app)))). The app answers 'hello'
 * or streams TOTAL bytes in 64 KiB writes from a push producer (with
 * Content-Length). Prints `listening PORT` on stdout once ready.
 *
 *     node --import tsx bench/servers/bridge-server.ts bridged stream 134217728
 */
import { pathToFileURL } from 'node:url';
import type { IPushProducer } from '../../src/reactor/interfaces.js';
import type { CpsApp } from '../../src/protocols/http/interfaces.js';

// SPINDLE_BENCH_DIST: a tsc build of src/ (what an installed user runs); else the sources through tsx.
const dist = process.env.SPINDLE_BENCH_DIST;
const base = dist ? pathToFileURL(`${dist}/src/`).href : new URL('../../src/', import.meta.url).href;
const { NodeReactor } = (await import(
  `${base}reactor/nodereactor.js`
)) as typeof import('../../src/reactor/nodereactor.js');
const { HTTPFactory } = (await import(
  `${base}protocols/http/factory.js`
)) as typeof import('../../src/protocols/http/factory.js');
const { toCpsApp } = (await import(`${base}bridge/gateway.js`)) as typeof import('../../src/bridge/gateway.js');
const { toIterApp } = (await import(`${base}bridge/toiterapp.js`)) as typeof import('../../src/bridge/toiterapp.js');

const [how = 'direct', mode = 'hello', totalArg = '0'] = process.argv.slice(2);
const total = Number(totalArg);
const CHUNK = 64 * 1024;
const block = new Uint8Array(CHUNK).fill(0x61);

const hello: CpsApp = (request) => {
  request.setHeader('Content-Type', 'text/plain');
  request.write('Hello, world!');
  request.finish();
};

/** Writes until paused; the consumer's resumeProducing starts it again. */
const stream: CpsApp = (request) => {
  let sent = 0;
  let paused = false;
  let stopped = false;
  const produce = (): void => {
    while (!paused && !stopped && sent < total) {
      const n = Math.min(CHUNK, total - sent);
      sent += n;
      request.write(n === CHUNK ? block : block.subarray(0, n));
    }
    if (sent >= total && !stopped) {
      stopped = true;
      request.unregisterProducer();
      request.finish();
    }
  };
  const producer: IPushProducer = {
    pauseProducing: () => {
      paused = true;
    },
    resumeProducing: () => {
      if (!paused) return;
      paused = false;
      produce();
    },
    stopProducing: () => {
      stopped = true;
    },
  };
  request.setHeader('Content-Type', 'application/octet-stream');
  request.setHeader('Content-Length', String(total));
  request.registerProducer(producer, true);
  produce();
};

const app = mode === 'stream' ? stream : hello;
const reactor = new NodeReactor();
reactor.run();
const served = how === 'bridged' ? toCpsApp(toIterApp(app), { reactor }) : app;
const port = await reactor.listenTCP(0, new HTTPFactory(served, { reactor }), { host: '127.0.0.1' });
process.stdout.write(`listening ${port.getHost().port}\n`);
process.on('SIGTERM', () => process.exit(0));
