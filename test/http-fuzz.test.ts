/**
 * Fuzz: random and mutated requests, at random splits, through a channel on a
 * StringTransport, with several kinds of app. Whatever comes in: no exception
 * escapes, nothing hangs (the Clock drives every timeout), every request that
 * reached the app got a response, the output is well-formed HTTP, and the
 * connection ends closed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { corpus } from './http-corpus.js';
import { validRequest as valid } from './http-arbitraries.js';
import { makeServer, parseResponses } from './http-channel-helpers.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { Protocol } from '../src/protocols/protocol.js';
import { captureLogs } from '../src/reactor/log.js';

const apps: Record<string, CpsApp> = {
  sync: (req) => {
    req.write('ok');
    req.finish();
  },
  later: (req) => {
    req.reactor.callLater(1, () => {
      req.write('late');
      req.finish();
    });
  },
  readBody: (req) => {
    req.readBody({ limit: 64 }).addCallbacks(
      (b) => {
        req.write(`len ${b.length}`);
        req.finish();
      },
      () => undefined,
    );
  },
  deliverBody: (req) => {
    const p = new (class extends Protocol {
      override connectionLost() {
        if (!req.finished) req.finish();
      }
    })();
    req.deliverBody(p);
  },
  pausingBody: (req) => {
    // Pauses the upload after every piece and resumes it a little later.
    const p = new (class extends Protocol {
      override dataReceived() {
        this.transport.pauseProducing();
        req.reactor.callLater(0.5, () => this.transport.resumeProducing());
      }
      override connectionLost() {
        if (!req.finished) {
          req.write('done');
          req.finish();
        }
      }
    })();
    req.deliverBody(p);
  },
  producer: (req) => {
    // A push producer that writes three pieces on a timer, honouring pause.
    let n = 0;
    let paused = false;
    const tick = () => {
      if (req.finished || req.disconnected) return;
      if (!paused) {
        req.write(`piece ${++n};`);
        if (n === 3) {
          req.unregisterProducer();
          req.finish();
          return;
        }
      }
      req.reactor.callLater(0.25, tick);
    };
    req.registerProducer(
      {
        pauseProducing: () => void (paused = true),
        resumeProducing: () => void (paused = false),
        stopProducing: () => void (n = 99),
      },
      true,
    );
    tick();
  },
  throws: () => {
    throw new Error('fuzz app failure');
  },
};

const nasty = [
  '\r',
  '\n',
  '\r\n',
  '\0',
  ' ',
  '\t',
  ':',
  ',',
  '0',
  'chunked',
  'Content-Length: 5\r\n',
  'Transfer-Encoding: chunked\r\n',
  '\x7f',
  '\xff',
  '\xa0',
  '\x0b',
  ';',
  '"',
  '=',
  'GET / HTTP/1.1\r\nHost: h\r\n\r\n',
];

/** A corpus request with a few edits: bytes replaced, inserted, removed, or the tail cut. */
const mutated = fc
  .tuple(
    fc.constantFrom(...corpus.map((c) => c.raw)),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete', 'cut'), fc.constantFrom(...nasty)), {
      maxLength: 4,
    }),
  )
  .map(([raw, edits]) => {
    let s = raw;
    for (const [at, op, piece] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === 'replace') s = s.slice(0, i) + piece + s.slice(i + 1);
      else if (op === 'insert') s = s.slice(0, i) + piece + s.slice(i);
      else if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1);
      else s = s.slice(0, i);
    }
    return s;
  });

const stream = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(valid, mutated), { minLength: 1, maxLength: 4 }).map((xs) => xs.join('')) },
  { weight: 2, arbitrary: fc.array(mutated, { minLength: 1, maxLength: 3 }).map((xs) => xs.join('')) },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom('G', 'E', 'T', ' ', '/', 'H', '1', '.', '\r', '\n', ':', 'a', '0', '\0'),
      maxLength: 200,
    }),
  },
);

describe('HTTP channel fuzz', () => {
  it('no exception, no hang, every dispatched request answered, closed at the end', () => {
    const logs = captureLogs();
    let dispatched = 0;
    let rejected = 0;
    try {
      fc.assert(
        fc.property(
          stream,
          fc.array(fc.nat(), { maxLength: 8 }),
          fc.constantFrom(...Object.keys(apps)),
          (raw, cutsRaw, appName) => {
            const methods: string[] = [];
            const app = apps[appName]!;
            const s = makeServer((req) => (methods.push(req.method), app(req)), { headerTimeout: 5, idleTimeout: 5 });
            const bytes = Buffer.from(raw, 'latin1');
            const cuts = [...new Set(cutsRaw.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
            let prev = 0;
            for (const c of [...cuts, bytes.length]) {
              if (c > prev) s.channel.dataReceived(new Uint8Array(bytes.subarray(prev, c)));
              prev = Math.max(prev, c);
              s.reactor.advance(0);
            }
            for (let i = 0; i < 10 && !s.transport.disconnecting; i++) s.reactor.advance(3);
            expect(s.transport.disconnecting).toBe(true);
            const rs = parseResponses(s.output(), (i) => methods[i] === 'HEAD');
            expect(rs.every((r) => r.framing !== 'chunked-incomplete')).toBe(true);
            expect(rs.every((r) => r.status >= 200 || r.status === 100)).toBe(true);
            expect(s.factory.stats.responses).toBe(s.factory.stats.requests);
            dispatched += s.factory.stats.requests;
            rejected += s.factory.stats.badRequests;
            s.close(true);
            // Whatever the apps scheduled runs out; the server leaves no timer behind.
            s.reactor.advance(10);
            expect(s.reactor.getDelayedCalls()).toHaveLength(0);
          },
        ),
        { numRuns: Number(process.env.FUZZ_RUNS ?? 600) },
      );
      // The generator reaches both sides: apps ran, and the parser refused things.
      expect(dispatched).toBeGreaterThan(150);
      expect(rejected).toBeGreaterThan(100);
    } finally {
      logs.restore();
    }
  });
});
