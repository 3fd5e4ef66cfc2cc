/**
 * Random apps against random clients, through the real HTTP server in memory,
 * with the validator watching the gateway: whatever the interleaving of
 * yields, pauses, writes, flushes, failures, transport pauses, drains and
 * disconnects, the gateway never pulls while paused (G5/G13), never flushes on
 * an empty chunk (G3/G4), closes the iterable exactly once (G7), leaves no
 * active or paused response behind, and a response that completes carries
 * exactly the app's bytes in order (G6/G12).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { validator } from '../src/bridge/validator.js';
import { parseResponse } from './gateway-suite.js';
import { memoryServer } from './gateway-hosts.js';

type AppOp =
  { kind: 'chunk' | 'empty' | 'write' | 'flush' | 'throw' } | { kind: 'pause'; delay: number; early: boolean };
type ClientOp = 'tick' | 'drain' | 'disconnect';

const appOp: fc.Arbitrary<AppOp> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'chunk' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'write' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'throw' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('pause' as const),
      delay: fc.constantFrom(0, 0.001, 0.005),
      early: fc.boolean(),
    }),
  },
);
const clientOp: fc.Arbitrary<ClientOp> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('tick' as const) },
  { weight: 3, arbitrary: fc.constant('drain' as const) },
  { weight: 1, arbitrary: fc.constant('disconnect' as const) },
);

/** The app a script describes, and what a complete response must carry. */
function scripted(script: AppOp[], log: { closes: number }): { app: IterApp; expected: string; throws: boolean } {
  let expected = '';
  let throws = false;
  for (const [i, op] of script.entries()) {
    if (throws) break;
    if (op.kind === 'chunk') expected += `c${i};`;
    if (op.kind === 'write') expected += `w${i};`;
    if (op.kind === 'throw') throws = true;
  }
  const app: IterApp = (e: Environ, sr: StartResponse) => {
    const write = sr('200 OK', [['Content-Type', 'text/plain']]);
    const gen = (function* (): Generator<Chunk> {
      for (const [i, op] of script.entries()) {
        if (op.kind === 'chunk') yield `c${i};`;
        else if (op.kind === 'empty') yield '';
        else if (op.kind === 'write') write(`w${i};`);
        else if (op.kind === 'flush') e['x-wsgiorg.flush']!();
        else if (op.kind === 'throw') throw new Error('scripted failure');
        else if (op.kind === 'pause') {
          const resume = e['wsgi.pause_output']!();
          if (op.early)
            resume(); // resume before the '' yield: the app is simply not paused
          else e['spindle.reactor']!.callLater(op.delay, resume);
          yield '';
        }
      }
    })();
    const iterable: AppIterable = { [Symbol.iterator]: () => gen, close: () => void log.closes++ };
    return iterable;
  };
  return { app, expected, throws };
}

describe('gateway fuzz (HTTPFactory in memory, validator on)', () => {
  it('G5/G7/G13/G3: random apps and clients keep every invariant', () => {
    fc.assert(
      fc.property(
        fc.array(appOp, { maxLength: 25 }),
        fc.array(clientOp, { maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        (script, clientOps, highWater) => {
          const log = { closes: 0 };
          const { app, expected, throws } = scripted(script, log);
          const checked = validator(app, { onViolation: () => {} });
          const server = memoryServer(checked);
          const conn = server.connect(highWater);
          let received = Buffer.alloc(0);
          const drain = () => {
            received = Buffer.concat([received, conn.transport.value()]);
            conn.transport.clear();
          };
          conn.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
          let disconnected = false;
          for (const op of clientOps) {
            if (op === 'tick') server.reactor.advance(0.002);
            else if (op === 'drain') drain();
            else if (!disconnected) {
              disconnected = true;
              conn.protocol.connectionLost(new Failure(new ConnectionLost()));
            }
          }
          // Then a client that reads everything, until the response is over.
          for (let i = 0; i < 500 && server.cps.gatewayStats.activeResponses > 0; i++) {
            drain();
            server.reactor.advance(0.002);
          }
          drain();
          expect(checked.violations.map((v) => v.message)).toEqual([]);
          expect(server.cps.gatewayStats.activeResponses).toBe(0);
          expect(server.cps.gatewayStats.pausedResponses).toBe(0);
          expect(log.closes).toBe(1);
          expect(checked.openResponses).toBe(0);
          if (!disconnected && !throws) {
            const r = parseResponse(received, 'GET', true);
            expect(r?.complete).toBe(true);
            expect(r!.body.toString()).toBe(expected);
          }
          conn.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});
