/**
 * Child process of bench/hotpath.ts: the CPU one hello costs spindle's JS, with
 * no socket. A keep-alive connection of spindle's HTTP server on a
 * StringTransport (MemoryReactor) is fed BATCH requests at a time; the three
 * paths (CPS app, iterator app through the gateway, toCpsApp(toIterApp(cps)))
 * are timed in alternating rounds. Prints one JSON line: microseconds per
 * request, median of the rounds, per path.
 */
import type { CpsApp } from '../../src/protocols/http/interfaces.js';
import type { IterApp } from '../../src/bridge/interfaces.js';
import { spindleModule } from './dist.js';

const { MemoryReactor } =
  await spindleModule<typeof import('../../src/reactor/memoryreactor.js')>('reactor/memoryreactor.js');
const { StringTransport } =
  await spindleModule<typeof import('../../src/reactor/stringtransport.js')>('reactor/stringtransport.js');
const { HTTPFactory } =
  await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');
const { toCpsApp } = await spindleModule<typeof import('../../src/bridge/gateway.js')>('bridge/gateway.js');
const { toIterApp } = await spindleModule<typeof import('../../src/bridge/toiterapp.js')>('bridge/toiterapp.js');

const BODY = Buffer.from('hello world!');
const cps: CpsApp = (request) => {
  request.setHeader('Content-Type', 'text/plain');
  request.write(BODY);
  request.finish();
};
const iter: IterApp = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [BODY];
};

const BATCH = 100;
const REQUEST = 'GET /hello?x=1 HTTP/1.1\r\nHost: bench\r\nUser-Agent: hotpath\r\nAccept: */*\r\n\r\n';
const batch = Buffer.from(REQUEST.repeat(BATCH));

function connection(app: CpsApp) {
  const reactor = new MemoryReactor();
  const transport = new StringTransport();
  const protocol = new HTTPFactory(app, { reactor }).buildProtocol(transport.getPeer());
  protocol.makeConnection(transport);
  return { reactor, transport, protocol, served: app };
}

const paths = {
  cps: connection(cps),
  iter: connection(toCpsApp(iter)),
  bridge: connection(toCpsApp(toIterApp(cps))),
};

/**
 * Serve `n` batches on one path; microseconds of this process's CPU time per
 * request (user + system: unlike the wall clock, it does not count the time
 * other processes on a shared core took from this one).
 */
function run(c: (typeof paths)['cps'], n: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    c.protocol.dataReceived(batch);
    c.reactor.advance(0);
    c.transport.clear();
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (n * BATCH);
}

// Check each path answers every request before timing it.
for (const c of Object.values(paths)) {
  c.protocol.dataReceived(batch);
  c.reactor.advance(0);
  const answers = c.transport.valueString().split('HTTP/1.1 200 OK').length - 1;
  if (answers !== BATCH) throw new Error(`hotpath: ${answers} of ${BATCH} requests answered`);
  c.transport.clear();
}

const rounds = Number(process.argv[2] ?? 15);
const per = Number(process.argv[3] ?? 200);
const times: Record<string, number[]> = { cps: [], iter: [], bridge: [] };
for (const c of Object.values(paths)) run(c, per); // warm-up
for (let r = 0; r < rounds; r++) for (const [k, c] of Object.entries(paths)) times[k]!.push(run(c, per));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const out: Record<string, number> = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
if (process.env.HOTPATH_HEAP === '1')
  for (const [k, c] of Object.entries(paths)) out[`${k}Bytes`] = await bytesPerRequest(c);
process.stdout.write(`${JSON.stringify(out)}\n`);

/**
 * Bytes allocated per request on one path (HOTPATH_HEAP=1): V8's sampling heap
 * profiler over 50 batches, every 128 B sampled, objects the young and old
 * collections freed counted too. Unlike time, this repeats within ~1% at any
 * load, and on a socket the young collections per request follow it.
 */
async function bytesPerRequest(c: (typeof paths)['cps']): Promise<number> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 128,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as object); // the two include* fields are newer than the typings
    const batches = 50;
    for (let i = 0; i < batches; i++) {
      c.protocol.dataReceived(batch);
      c.reactor.advance(0);
      c.transport.clear();
    }
    const { profile } = await session.post('HeapProfiler.stopSampling');
    let total = 0;
    const walk = (n: typeof profile.head): void => {
      total += n.selfSize;
      for (const child of n.children) walk(child);
    };
    walk(profile.head);
    return total / (batches * BATCH);
  } finally {
    session.disconnect();
  }
}
