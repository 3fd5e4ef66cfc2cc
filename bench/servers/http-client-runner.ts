/**
 * One HTTP client benchmark run (child process): argv = CLIENT PORT CONNS SECONDS.
 * CONNS workers each send GET / and read the whole body, one after another, on
 * keep-alive connections for SECONDS, then the run prints
 * `{"requests":N,"seconds":S,"cpu":C}` (CPU: this process's user+system seconds).
 *   spindle — Agent with an HTTPConnectionPool (maxPersistentPerHost = CONNS), Deferred callbacks
 *   undici  — undici's request() with an Agent of CONNS connections
 *   node    — node:http's get() with a keep-alive Agent (maxSockets = CONNS)
 */
import http from 'node:http';
import { spindleModule } from './dist.js';

const [client = 'spindle', portArg = '0', connsArg = '1', secondsArg = '3'] = process.argv.slice(2);
const url = `http://127.0.0.1:${portArg}/`;
const conns = Number(connsArg);
const seconds = Number(secondsArg);
let requests = 0;
let stopAt = 0;

type Worker = (done: () => void) => void;

async function makeWorker(): Promise<Worker> {
  if (client === 'spindle') {
    const { NodeReactor } =
      await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
    const c = await spindleModule<typeof import('../../src/protocols/http/client/index.js')>(
      'protocols/http/client/index.js',
    );
    const reactor = new NodeReactor();
    reactor.run();
    const agent = new c.Agent(reactor, { pool: new c.HTTPConnectionPool(reactor, { maxPersistentPerHost: conns }) });
    return (done) => {
      const loop = (): void => {
        if (performance.now() >= stopAt) return done();
        agent.request('GET', url).addCallback((r) =>
          c.readBody(r).addCallback(() => {
            requests++;
            loop();
          }),
        );
      };
      loop();
    };
  }
  if (client === 'undici') {
    const undici = await import('undici');
    const dispatcher = new undici.Agent({ connections: conns });
    return (done) => {
      const loop = async (): Promise<void> => {
        while (performance.now() < stopAt) {
          const r = await undici.request(url, { dispatcher });
          await r.body.arrayBuffer();
          requests++;
        }
        done();
      };
      void loop();
    };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  return (done) => {
    const loop = (): void => {
      if (performance.now() >= stopAt) return done();
      http.get(url, { agent }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          requests++;
          loop();
        });
      });
    };
    loop();
  };
}

const worker = await makeWorker();
// Warm up for half a second, then measure.
for (const measure of [false, true]) {
  requests = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  stopAt = t0 + (measure ? seconds : 0.5) * 1000;
  await new Promise<void>((resolve) => {
    let left = conns;
    for (let i = 0; i < conns; i++) worker(() => void (--left === 0 && resolve()));
  });
  if (measure) {
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      `${JSON.stringify({ requests, seconds: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 })}\n`,
    );
  }
}
process.exit(0);
