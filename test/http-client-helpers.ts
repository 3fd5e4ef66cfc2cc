/**
 * Helpers for client tests: an Agent on a MemoryReactor whose connection
 * attempts are answered in memory, either by spindle's own HTTP server over
 * `loopback` (`serverWorld`) or by a StringTransport the test feeds raw
 * response bytes into (`rawWorld`). Client and server have separate reactors,
 * so "no timer left" checks the client's alone.
 */
import { Agent, type AgentOptions } from '../src/protocols/http/client/agent.js';
import type { HTTP11ClientProtocol } from '../src/protocols/http/client/connection.js';
import type { PoolOptions } from '../src/protocols/http/client/interfaces.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { loopback, type LoopbackPump } from '../src/reactor/loopback.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import type { IConsumer, IProtocol } from '../src/reactor/interfaces.js';
import { Deferred } from '../src/reactor/deferred.js';
import type { IBodyProducer } from '../src/protocols/http/client/interfaces.js';

export const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** Watch a Deferred: its value or error once it fires, `pending` until then. */
export function outcome<T>(d: Deferred<T>): { value?: T; error?: unknown; pending: boolean } {
  const o: { value?: T; error?: unknown; pending: boolean } = { pending: true };
  d.addCallbacks(
    (v) => void Object.assign(o, { value: v, pending: false }),
    (f) => void Object.assign(o, { error: f.value, pending: false }),
  );
  return o;
}

/** An Agent whose connections reach `serverProtocol()` (spindle's server by default) over loopback. */
export function serverWorld(
  app: CpsApp | (() => IProtocol),
  poolOptions: PoolOptions = {},
  agentOptions: AgentOptions = {},
  bufferLimit?: number,
) {
  const reactor = new MemoryReactor();
  const serverReactor = new MemoryReactor();
  const makeServer = typeof app === 'function' && app.length === 0 ? (app as () => IProtocol) : null;
  const factory = makeServer ? null : new HTTPFactory(app as CpsApp, { reactor: serverReactor });
  const pool = new HTTPConnectionPool(reactor, poolOptions);
  const agent = new Agent(reactor, { pool, ...agentOptions });
  const pumps: LoopbackPump[] = [];
  const clients: HTTP11ClientProtocol[] = [];
  let connected = 0;
  /** Connect new attempts, move bytes both ways and run due calls until nothing moves. */
  function settle(): void {
    for (let i = 0; i < 10_000; i++) {
      let moved = false;
      while (connected < reactor.tcpClients.length) {
        const c = reactor.tcpClients[connected++]!;
        if (c.connector.state !== 'connecting') continue;
        const client = c.factory.buildProtocol({ host: c.host, port: c.port }) as HTTP11ClientProtocol;
        clients.push(client);
        const server = makeServer
          ? makeServer()
          : factory!.buildProtocol({ host: '127.0.0.1', port: 40000 + connected });
        pumps.push(loopback(client, server!, { bufferLimit }));
        moved = true;
      }
      for (const p of pumps) if (p.pump()) moved = true;
      reactor.advance(0);
      serverReactor.advance(0);
      if (!moved) return;
    }
    throw new Error('settle(): still moving after 10 000 rounds');
  }
  /** Connections whose client end is still open. */
  const open = () => pumps.filter((p) => !p.aTransport.lost).length;
  return { reactor, serverReactor, agent, pool, pumps, clients, settle, open };
}

/** An Agent whose first connection attempt gets a StringTransport: the test writes the server's bytes. */
export function rawWorld(poolOptions: PoolOptions = {}, agentOptions: AgentOptions = {}) {
  const reactor = new MemoryReactor();
  const pool = new HTTPConnectionPool(reactor, poolOptions);
  const agent = new Agent(reactor, { pool, ...agentOptions });
  const conns: Array<{ client: HTTP11ClientProtocol; transport: StringTransport }> = [];
  /** Complete the pending connection attempts with StringTransports. */
  function connect(highWater?: number) {
    while (conns.length < reactor.tcpClients.length) {
      const c = reactor.tcpClients[conns.length]!;
      const client = c.factory.buildProtocol({ host: c.host, port: c.port }) as HTTP11ClientProtocol;
      const transport = new StringTransport({ highWater });
      client.makeConnection(transport);
      conns.push({ client, transport });
    }
    return conns[conns.length - 1]!;
  }
  return { reactor, agent, pool, conns, connect };
}

/** A push producer that writes `parts` one per resume turn, honouring pause. */
export function pushProducer(parts: string[], length: number) {
  let consumer: IConsumer | null = null;
  let paused = false;
  let i = 0;
  const done = new Deferred<void>();
  const p: IBodyProducer & { paused: boolean; stopped: boolean } = {
    length,
    paused: false,
    stopped: false,
    startProducing(c) {
      consumer = c;
      pump();
      return done;
    },
    pauseProducing() {
      paused = p.paused = true;
    },
    resumeProducing() {
      paused = p.paused = false;
      pump();
    },
    stopProducing() {
      p.stopped = true;
    },
  };
  function pump() {
    while (!paused && !p.stopped && consumer && i < parts.length) consumer.write(Buffer.from(parts[i++]!, 'latin1'));
    if (i === parts.length && !done.called && !p.stopped) done.callback(undefined);
  }
  return p;
}
