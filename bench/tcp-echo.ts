/**
 * Bytes through an echo server over loopback TCP: spindle's TCP transport (an
 * echo protocol that pauses reading while its write buffer is over the
 * high-water mark) against a plain node:net echo server (`socket.pipe(socket)`),
 * in the same run, driven by the same node:net client. The client writes 64 KiB
 * chunks with backpressure and counts the echoed bytes; a run ends when all
 * have come back. 1 GiB per run (64 MiB with --quick).
 */
import { createServer, connect, type Server } from 'node:net';
import type { Benchmark } from './harness.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { Factory, Protocol } from '../src/protocols/protocol.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';

class Echo extends Protocol {
  override connectionMade(): void {
    this.transport.registerProducer(this.transport, true);
  }
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
  readConnectionLost(): void {
    this.transport.unregisterProducer();
    this.transport.loseConnection();
  }
}

const CHUNK = new Uint8Array(64 * 1024).fill(0x61);

/** Send `total` bytes to the echo server at `port` and wait until they are all back. */
function pushThrough(port: number, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let sent = 0;
    let received = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(CHUNK.byteLength, total - sent);
        sent += n;
        if (!socket.write(n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n))) return;
      }
    };
    socket.on('connect', pump);
    socket.on('drain', pump);
    socket.on('data', (d: Buffer) => {
      received += d.byteLength;
      if (received >= total) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
  });
}

function listenNode(): Promise<Server> {
  const server = createServer({ noDelay: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function measure(fn: () => Promise<void>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bench: Benchmark = {
  title: 'TCP echo throughput over loopback',
  async run({ quick }) {
    const total = quick ? 64 * 1024 * 1024 : 1024 * 1024 * 1024;
    const runs = quick ? 3 : 5;
    const reactor = new NodeReactor();
    const port: IListeningPort = await reactor.listenTCP(0, Factory.forProtocol(Echo), { host: '127.0.0.1' });
    const nodeServer = await listenNode();
    const nodePort = (nodeServer.address() as { port: number }).port;
    const spindleRun = () => pushThrough(port.getHost().port, total);
    const nodeRun = () => pushThrough(nodePort, total);
    await spindleRun(); // warm-up
    await nodeRun();
    const a: Sample[] = [];
    const b: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      // Interleaved (ABAB...) so that machine noise hits both alike.
      a.push(await measure(spindleRun));
      b.push(await measure(nodeRun));
    }
    await port.stopListening();
    await new Promise((r) => nodeServer.close(r));
    const gb = total / 1e9;
    const mib = total / (1024 * 1024);
    const common = { baselineName: 'node:net pipe', higherIsBetter: true, target: '>= 0.9x' };
    return [
      {
        ...common,
        name: `echo ${mib} MiB in 64 KiB writes`,
        unit: 'GB/s',
        spindle: gb / (median(a.map((s) => s.wallMs)) / 1000),
        baseline: gb / (median(b.map((s) => s.wallMs)) / 1000),
        note: `wall clock, median of ${runs} interleaved runs; client and both servers share one process (one thread)`,
      },
      {
        ...common,
        name: `echo ${mib} MiB, per CPU second`,
        unit: 'GB/CPU-s',
        spindle: gb / (median(a.map((s) => s.cpuMs)) / 1000),
        baseline: gb / (median(b.map((s) => s.cpuMs)) / 1000),
        note: 'same runs, bytes per second of process CPU time: steadier than wall clock on a shared machine',
      },
    ];
  },
};

export default bench;
