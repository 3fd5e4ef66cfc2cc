/**
 * Flow control out, through the channel (issue 16): the channel is the
 * transport's one producer for the connection's whole life and passes the
 * transport's pause and resume through to the current request's producer
 * (Twisted's HTTPChannel), instead of swapping producers in and out of the
 * transport. StringTransport plays the peer by hand; loopback plays a client
 * that stops reading and then reads everything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GET, makeServer, parseResponses } from './http-channel-helpers.js';
import type { HTTPChannel } from '../src/protocols/http/channel.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { Protocol } from '../src/protocols/protocol.js';
import type { IPullProducer, IPushProducer } from '../src/reactor/interfaces.js';
import { loopback, LOOPBACK_BUFFER_LIMIT } from '../src/reactor/loopback.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';

/** A push producer that records what it was told. */
function recorder(events: string[], name = '') {
  const p: IPushProducer = {
    pauseProducing: () => void events.push(`${name}pause`),
    resumeProducing: () => void events.push(`${name}resume`),
    stopProducing: () => void events.push(`${name}stop`),
  };
  return p;
}

describe('the channel passes the transport pause through to the request producer (StringTransport)', () => {
  it('the transport keeps the channel as its producer; pause and resume reach the request producer', () => {
    let req!: IRequest;
    const events: string[] = [];
    const s = makeServer((r) => void (req = r));
    s.send(GET());
    expect(s.transport.producer).toBe(s.channel);
    req.registerProducer(recorder(events), true);
    expect(s.transport.producer).toBe(s.channel);
    s.transport.pauseRegisteredProducer();
    expect(events).toEqual(['pause']);
    s.transport.resumeRegisteredProducer();
    expect(events).toEqual(['pause', 'resume']);
    req.unregisterProducer();
    expect(s.transport.producer).toBe(s.channel);
    // Unregistered: the next pause holds the channel back, the old producer is not told.
    s.transport.pauseRegisteredProducer();
    s.transport.resumeRegisteredProducer();
    expect(events).toEqual(['pause', 'resume']);
    req.finish();
    expect(s.responses()).toHaveLength(1);
  });

  it('a push producer registered while the transport is full starts paused and resumes when it drains', () => {
    let req!: IRequest;
    const events: string[] = [];
    const s = makeServer((r) => void (req = r), {}, { highWater: 100 });
    s.send(GET());
    req.write('x'.repeat(200)); // past the high-water mark: the transport pauses the channel
    expect(s.transport.registeredProducerPaused).toBe(true);
    req.registerProducer(recorder(events), true);
    expect(events).toEqual(['pause']);
    const before = s.output();
    s.transport.clear(); // the peer read everything
    expect(events).toEqual(['pause', 'resume']);
    req.unregisterProducer();
    req.finish();
    expect(parseResponses(before + s.output())[0]!.body).toBe('x'.repeat(200));
  });

  it('a request producer that leaves while the transport is full hands the pause back: the next pipelined request waits for the drain', () => {
    const served: string[] = [];
    let first!: IRequest;
    const s = makeServer(
      (r) => {
        served.push(r.path);
        if (r.path === '/a') first = r;
        else r.finish();
      },
      {},
      { highWater: 100 },
    );
    s.send(GET('/a') + GET('/b'));
    const events: string[] = [];
    first.registerProducer(recorder(events), true);
    first.write('y'.repeat(200));
    expect(events).toEqual(['pause']);
    first.unregisterProducer();
    first.finish();
    s.reactor.advance(0);
    expect(served).toEqual(['/a']); // /b is not answered into a full transport
    s.transport.clear();
    s.reactor.advance(0);
    expect(served).toEqual(['/a', '/b']);
    expect(events).toEqual(['pause']); // the producer left: the drain is not passed to it
  });

  it('pipelined requests: the second request producer is not touched while the first is active', () => {
    const reqs: IRequest[] = [];
    const events: string[] = [];
    const s = makeServer((r) => {
      reqs.push(r);
      r.registerProducer(recorder(events, `${r.path}:`), true);
    });
    s.send(GET('/1') + GET('/2'));
    expect(reqs.map((r) => r.path)).toEqual(['/1']);
    s.transport.pauseRegisteredProducer();
    s.transport.resumeRegisteredProducer();
    s.transport.pauseRegisteredProducer();
    expect(events).toEqual(['/1:pause', '/1:resume', '/1:pause']);
    reqs[0]!.unregisterProducer();
    reqs[0]!.finish();
    s.reactor.advance(0);
    // The transport is still full: the second request is not served (or its producer touched) yet.
    expect(reqs).toHaveLength(1);
    s.transport.resumeRegisteredProducer();
    s.reactor.advance(0);
    expect(reqs.map((r) => r.path)).toEqual(['/1', '/2']);
    s.transport.pauseRegisteredProducer();
    expect(events).toEqual(['/1:pause', '/1:resume', '/1:pause', '/2:pause']);
    s.transport.resumeRegisteredProducer();
    reqs[1]!.unregisterProducer();
    reqs[1]!.finish();
    expect(events).toEqual(['/1:pause', '/1:resume', '/1:pause', '/2:pause', '/2:resume']);
    expect(s.responses().map((r) => r.status)).toEqual([200, 200]);
  });

  it('a pull producer: the transport pulls the channel (after each write it flushed), the channel pulls the request producer', () => {
    let req!: IRequest;
    let pulls = 0;
    const s = makeServer((r) => void (req = r), {}, { highWater: 100 });
    s.send(GET());
    const producer: IPullProducer = {
      resumeProducing: () => {
        if (++pulls <= 3) req.write('z'.repeat(40));
        else {
          req.unregisterProducer();
          req.finish();
        }
      },
      stopProducing() {},
    };
    req.registerProducer(producer, false);
    // Pulled once at once, as a transport pulls a pull producer; the channel stays what the transport holds.
    expect(pulls).toBe(1);
    expect(s.transport.producer).toBe(s.channel);
    expect(s.transport.streaming).toBe(false);
    for (let i = 0; i < 5; i++) s.reactor.advance(0);
    expect(pulls).toBe(1); // nothing pulls it but the transport
    let out = s.output();
    for (let i = 0; i < 10 && !req.finished; i++) {
      s.transport.clear(); // the peer read what was written: the transport asks for more
      out += s.output();
    }
    expect(pulls).toBe(4);
    expect(parseResponses(out)[0]!.body).toBe('z'.repeat(120));
    // The producer left: the channel is the transport's push producer again.
    expect(s.transport.producer).toBe(s.channel);
    expect(s.transport.streaming).toBe(true);
  });

  it('a transport that fills between a finish and the next parse does not stall the connection: the drain serves the next request', () => {
    // Found by the property below; the old channel stalled here too.
    const served: IRequest[] = [];
    const s = makeServer((r) => void served.push(r));
    s.send(GET('/0'));
    served[0]!.finish(); // from app code: the next parse is scheduled for the next turn
    s.transport.pauseRegisteredProducer(); // ... and the transport fills before it runs
    s.reactor.advance(0);
    s.send(GET('/1'));
    expect(served).toHaveLength(1); // nothing is answered into a full transport
    s.transport.resumeRegisteredProducer();
    s.reactor.advance(0);
    expect(served.map((r) => r.path)).toEqual(['/0', '/1']);
  });

  it('a client that leaves stops the request producer once (the transport stops only the channel)', () => {
    let req!: IRequest;
    const events: string[] = [];
    const s = makeServer((r) => void (req = r));
    s.send(GET());
    req.registerProducer(recorder(events), true);
    s.channel.stopProducing(); // what a transport on its way down does
    s.close();
    expect(events).toEqual(['stop']);
    expect(req.disconnected).toBe(true);
  });
});

/** A client that sends one GET and can stop reading its socket. */
class StallingClient extends Protocol {
  received: Uint8Array[] = [];
  override connectionMade(): void {
    this.transport.write(Buffer.from(GET('/big'), 'latin1'));
  }
  override dataReceived(data: Uint8Array): void {
    this.received.push(data);
  }
  text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }
}

describe('the channel passes the transport pause through to the request producer (loopback)', () => {
  it('a push producer is paused while the peer stalls and resumed when it drains; the response arrives whole', () => {
    const TOTAL = 1024 * 1024;
    const CHUNK = 16 * 1024;
    const reactor = new MemoryReactor();
    let sent = 0;
    let pauses = 0;
    let resumes = 0;
    const app = (req: IRequest) => {
      let paused = false;
      const fill = () => {
        while (!paused && sent < TOTAL) {
          sent += CHUNK;
          req.write(new Uint8Array(CHUNK).fill(0x61));
        }
        if (sent >= TOTAL && !req.finished) {
          req.unregisterProducer();
          req.finish();
        }
      };
      req.registerProducer(
        {
          pauseProducing: () => {
            paused = true;
            pauses++;
          },
          resumeProducing: () => {
            paused = false;
            resumes++;
            fill();
          },
          stopProducing: () => {
            paused = true;
          },
        },
        true,
      );
      req.setHeader('Content-Length', String(TOTAL));
      fill();
    };
    const server = new HTTPFactory(app, { reactor }).buildProtocol({ host: '127.0.0.1', port: 1 }) as HTTPChannel;
    const client = new StallingClient();
    const pump = loopback(server, client);
    client.transport.pauseProducing(); // the client stops reading
    pump.flush();
    // The producer was paused once the transport's queue passed its limit: what was written is bounded.
    expect(pauses).toBe(1);
    expect(resumes).toBe(0);
    expect(sent).toBeLessThanOrEqual(LOOPBACK_BUFFER_LIMIT + 64 * 1024 + CHUNK);
    expect(client.received).toHaveLength(0);
    for (let i = 0; i < 5; i++) pump.flush();
    expect(sent).toBeLessThanOrEqual(LOOPBACK_BUFFER_LIMIT + 64 * 1024 + CHUNK);
    // The client reads: the drain resumes the producer through the channel until the end.
    client.transport.resumeProducing();
    pump.flush();
    expect(resumes).toBeGreaterThan(0);
    // Each pause but the last (the one the final writes caused, after which the producer left) was resumed.
    expect(resumes).toBeGreaterThanOrEqual(pauses - 1);
    const [res] = parseResponses(client.text());
    expect(res!.status).toBe(200);
    expect(res!.body.length).toBe(TOTAL);
  });
});

describe('pass-through under random interleavings (fast-check)', () => {
  type Op = 'pause' | 'resume' | 'register' | 'register-pull' | 'unregister' | 'finish' | 'advance' | 'pipeline';
  const opArb = fc.constantFrom<Op>(
    'pause',
    'resume',
    'register',
    'register-pull',
    'unregister',
    'finish',
    'advance',
    'pipeline',
  );

  it('each producer sees pause and resume alternate, starting paused exactly when the transport is full; a producer that left or a request not yet served is never told', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const served: IRequest[] = [];
        const s = makeServer((r) => void served.push(r));
        s.send(GET('/0'));
        let sent = 1;
        /** Per producer: its events, and whether it is registered now. */
        const producers: { events: string[]; registered: boolean; on: IRequest; pull: boolean }[] = [];
        let current: (typeof producers)[number] | null = null;
        const live = () => served.find((r) => !r.finished) ?? null;
        for (const op of ops) {
          const req = live();
          if (op === 'pause') s.transport.pauseRegisteredProducer();
          else if (op === 'resume') s.transport.resumeRegisteredProducer();
          else if (op === 'advance') s.reactor.advance(0);
          else if (op === 'pipeline') s.send(GET(`/${sent++}`));
          else if (op === 'register-pull' && req !== null && current === null) {
            const p = { events: [] as string[], registered: true, on: req, pull: true };
            producers.push(p);
            current = p;
            req.registerProducer({ resumeProducing: () => void p.events.push('pull'), stopProducing() {} }, false);
            // Pulled once at once, as a transport pulls; the transport now pulls the channel.
            expect(p.events).toEqual(['pull']);
            expect(s.transport.streaming).toBe(false);
          } else if (op === 'register' && req !== null && current === null) {
            const p = { events: [] as string[], registered: true, on: req, pull: false };
            producers.push(p);
            current = p;
            req.registerProducer(recorder(p.events), true);
            // A producer registered while the transport is full starts paused, else untouched.
            expect(p.events).toEqual(s.transport.registeredProducerPaused ? ['pause'] : []);
          } else if ((op === 'unregister' || op === 'finish') && current !== null) {
            current.registered = false;
            current.on.unregisterProducer();
            if (op === 'finish') current.on.finish();
            current = null;
          } else if (op === 'finish' && req !== null) req.finish();
          expect(s.transport.producer).toBe(s.channel);
          for (const p of producers) {
            // Strict alternation: pause, resume, pause, ... (a pull producer is only ever pulled).
            if (p.pull) p.events.forEach((e) => expect(e).toBe('pull'));
            else p.events.forEach((e, i) => expect(e).toBe(i % 2 === 0 ? 'pause' : 'resume'));
          }
          // The channel is registered as a pull producer exactly while a pull producer is.
          expect(s.transport.streaming).toBe(!(current?.pull ?? false));
          if (current !== null && !current.pull) {
            // The registered producer is paused exactly while the transport holds the channel paused.
            const paused = current.events.length % 2 === 1;
            expect(paused).toBe(s.transport.registeredProducerPaused);
          }
        }
        const counts = producers.map((p) => p.events.length);
        // Drain and finish everything: every request pipelined is answered, in order.
        s.transport.resumeRegisteredProducer();
        if (current !== null) current.on.unregisterProducer();
        for (let i = 0; i < sent + 2; i++) {
          for (const r of served) if (!r.finished) r.finish();
          s.reactor.advance(0);
        }
        expect(served.map((r) => r.path)).toEqual(Array.from({ length: sent }, (_, i) => `/${i}`));
        expect(s.responses().map((r) => r.status)).toEqual(Array.from({ length: sent }, () => 200));
        // Producers that had left were told nothing more while the rest drained.
        producers.forEach((p, i) => {
          if (!p.registered) expect(p.events.length).toBe(counts[i]);
        });
      }),
      { numRuns: 300 },
    );
  });
});
