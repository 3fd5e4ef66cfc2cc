/**
 * The bridge is transparent: fast-check generates CPS apps (status, headers,
 * writes and flushes at random Clock delays, random failures) and iterator
 * apps (chunks, '' yields, pause_output with delays, failures), and checks
 * that the bytes on the wire are identical with and without the round trip:
 *
 *   HTTPFactory(app)                       vs  HTTPFactory(toCpsApp(toIterApp(app)))
 *   HTTPFactory(toCpsApp(iter))            vs  HTTPFactory(toCpsApp(toIterApp(toCpsApp(iter))))
 *
 * Each side runs on its own MemoryReactor moved by the same steps, so the Date
 * header (and every timer) agrees. Three differences are allowed, each checked
 * exactly (see expectSameWire): framing (Content-Length or merged chunks vs
 * chunked) when the direct server corked a write the bridge sends a turn later;
 * the 500 for a failure before the head (the server adds Connection: close);
 * and a failure within the server's own turn right after a write.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Deferred } from '../src/reactor/deferred.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import { toIterApp } from '../src/bridge/toiterapp.js';
import type { Chunk, Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { quietLogger } from './gateway-hosts.js';
import { parseResponse } from './gateway-suite.js';

interface Wire {
  bytes: string;
  aborted: boolean;
  disconnecting: boolean;
}

/** Serve one request with `make(reactor)` over a StringTransport, moving the clock by `steps`. */
function onTheWire(make: (reactor: MemoryReactor) => CpsApp, request: string, steps: number[]): Wire {
  const reactor = new MemoryReactor();
  const factory = new HTTPFactory(make(reactor), { reactor, logger: quietLogger() });
  const transport = new StringTransport();
  const protocol = factory.buildProtocol(transport.getPeer())!;
  protocol.makeConnection(transport);
  protocol.dataReceived(Buffer.from(request, 'latin1'));
  for (const s of steps) reactor.advance(s);
  // latin1: one char per byte, so binary bodies compare (and parse) exactly.
  return {
    bytes: Buffer.from(transport.value()).toString('latin1'),
    aborted: transport.aborted,
    disconnecting: transport.disconnecting,
  };
}

const isSyncThrow = (spec: CpsSpec): boolean =>
  spec.end === 'throw' && spec.actions.length === 0 && spec.endDelay === 0 && !spec.echoBody;
/** The app fails before its call returns (a throw, or a Deferred that has already failed). */
const failsInCall = (spec: CpsSpec): boolean =>
  spec.end !== 'finish' && spec.actions.every((a) => a.delay === 0) && spec.endDelay === 0;

/** Runs per property (RT_RUNS raises it for a longer soak). */
const RUNS = Number(process.env.RT_RUNS ?? 300);

const STEPS = [0, ...Array.from({ length: 40 }, () => 0.25), 0, 0];

const requestArb = fc.oneof(
  fc.constant('GET /path/x?q=1 HTTP/1.1\r\nHost: rt.test\r\n\r\n'),
  fc.constant('HEAD /h HTTP/1.1\r\nHost: rt.test\r\n\r\n'),
  fc
    .string({ maxLength: 40 })
    .map((b) => `POST /up HTTP/1.1\r\nHost: rt.test\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`),
);

const headerArb = fc.tuple(
  fc.constantFrom('X-A', 'X-B', 'Cache-Control', 'Set-Cookie', 'Content-Type'),
  fc.stringMatching(/^[ -~]{0,12}$/).map((s) => s.trim()),
);
const delayArb = fc.constantFrom(0, 0, 0.25, 0.5, 1);
const chunkArb = fc.oneof(fc.constant(''), fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 300 }));

// ---------------------------------------------------------------- CPS apps
interface CpsSpec {
  code: number;
  phrase: string | null;
  headers: [string, string][];
  echoBody: boolean;
  actions: Array<{ delay: number; kind: 'write' | 'flush'; data: Chunk }>;
  end: 'finish' | 'throw' | 'errback';
  endDelay: number;
}

const cpsSpecArb: fc.Arbitrary<CpsSpec> = fc.record({
  code: fc.constantFrom(200, 201, 202, 299, 404, 418, 503),
  phrase: fc.option(fc.constantFrom('Fine', 'Very Good', 'Nope'), { nil: null }),
  headers: fc.array(headerArb, { maxLength: 4 }),
  echoBody: fc.boolean(),
  actions: fc.array(
    fc.record({ delay: delayArb, kind: fc.constantFrom('write', 'write', 'write', 'flush'), data: chunkArb }),
    { maxLength: 6 },
  ),
  end: fc.constantFrom('finish', 'finish', 'throw', 'errback'),
  endDelay: delayArb,
}) as fc.Arbitrary<CpsSpec>;

function cpsApp(spec: CpsSpec): CpsApp {
  return (req: IRequest) => {
    const d = new Deferred<void>();
    const boom = new Error('generated failure');
    if (spec.phrase === null) req.setResponseCode(spec.code);
    else req.setResponseCode(spec.code, spec.phrase);
    for (const [n, v] of spec.headers) req.addHeader(n, v);
    const steps = spec.actions.slice();
    const act = (): void => {
      const a = steps.shift();
      if (!a) {
        if (spec.end === 'finish') {
          req.finish();
          d.callback(undefined);
        } else d.errback(boom);
        return;
      }
      if (a.kind === 'write') req.write(a.data);
      else req.flushHeaders();
      next(steps[0]?.delay ?? spec.endDelay);
    };
    const next = (delay: number): void => {
      if (delay === 0) act();
      else req.reactor.callLater(delay, act);
    };
    const start = (): void => next(spec.actions[0]?.delay ?? spec.endDelay);
    if (isSyncThrow(spec)) throw boom;
    if (spec.echoBody) {
      req.readBody().addCallback((body) => {
        req.write(body);
        start();
      });
    } else {
      start();
    }
    return d;
  };
}

// ---------------------------------------------------------------- iterator apps
interface IterSpec {
  code: number;
  headers: [string, string][];
  lazy: boolean;
  writes: Chunk[];
  steps: Array<{ delay: number; chunk: Chunk }>;
  end: 'done' | 'throw';
}

const iterSpecArb: fc.Arbitrary<IterSpec> = fc.record({
  code: fc.constantFrom(200, 201, 299, 404, 418, 503),
  headers: fc.array(headerArb, { maxLength: 4 }),
  lazy: fc.boolean(),
  writes: fc.array(chunkArb, { maxLength: 2 }),
  steps: fc.array(fc.record({ delay: delayArb, chunk: chunkArb }), { maxLength: 6 }),
  end: fc.constantFrom('done', 'done', 'throw'),
}) as fc.Arbitrary<IterSpec>;

function iterApp(spec: IterSpec): IterApp {
  return (environ: Environ, startResponse: StartResponse) => {
    const start = () => {
      const write = startResponse(`${spec.code} Generated`, spec.headers);
      for (const w of spec.writes) write(w);
    };
    if (!spec.lazy) start();
    return (function* () {
      if (spec.lazy) start();
      for (const step of spec.steps) {
        if (step.delay > 0) {
          const resume = environ['wsgi.pause_output']!();
          environ['spindle.reactor']!.callLater(step.delay, resume);
          yield '';
        }
        yield step.chunk;
      }
      if (spec.end === 'throw') throw new Error('generated failure');
    })();
  };
}

/**
 * True when the generated CPS app fails before its response head went out.
 * spindle's server answers such a failure with its own 500 plus
 * `Connection: close`; the gateway (toCpsApp) answers with the same status,
 * headers and body but keeps the connection. That difference belongs to the
 * gateway, not to toIterApp, so for these cases the comparison allows exactly it.
 */
function failsBeforeHead(spec: CpsSpec, request: string): boolean {
  if (spec.end === 'finish') return false;
  const bodyLen = request.length - request.indexOf('\r\n\r\n') - 4;
  const writes = spec.actions.some(
    (a) => a.kind === 'flush' || (typeof a.data === 'string' ? a.data.length > 0 : a.data.byteLength > 0),
  );
  return !writes && !(spec.echoBody && bodyLen > 0);
}

/**
 * The response with its framing undone: status line, headers other than
 * Content-Length / Transfer-Encoding, the decoded body, and whether it ended.
 */
function unframed(w: Wire, method: string): string {
  const raw = Buffer.from(w.bytes, 'latin1');
  const r = parseResponse(raw, method, true);
  const head = w.bytes
    .slice(0, w.bytes.indexOf('\r\n\r\n'))
    .split('\r\n')
    .filter((l) => !/^(content-length|transfer-encoding):/i.test(l));
  return JSON.stringify([
    head,
    r ? Buffer.from(r.body).toString('latin1') : null,
    r?.complete,
    w.aborted,
    w.disconnecting,
  ]);
}

let exact = 0;
let framingOnly = 0;
let corked = 0;

/**
 * Bytes must be identical, with one allowance: when the app's write and
 * finish() run in one turn after a wake-up, the direct server (corked) frames
 * the body with Content-Length while the bridged one, whose gateway resumes
 * on the next reactor turn (G13: resume never re-enters the app), sends the
 * head with the first chunk and frames it chunked (on HEAD: no length at
 * all). Then everything but the
 * framing must still match.
 */
function expectSameWire(
  bridged: Wire,
  direct: Wire,
  method: string,
  preHeadFailure: boolean,
  corkedFailure = false,
): void {
  if (corkedFailure) {
    // Written and failed within one turn of the server: nothing had reached the wire
    // (the server holds output while it drives the app), so the direct server answers
    // its 500 (issue 12 item 6). Through the bridge the same happens when the write and
    // the failure reach the gateway in one turn; when the body had to be read first they
    // come on separate turns, the head went out with the write, and the response is cut
    // off (the IRequest rule for a failure after a write).
    expect(direct.bytes).toMatch(/^HTTP\/1\.1 500 /);
    if (bridged.aborted) expect(bridged.bytes).toMatch(/^HTTP\/1\.1 \d{3} /);
    else expect(bridged).toEqual(direct);
    corked++;
    return;
  }
  if (preHeadFailure) {
    expect(direct.bytes).toMatch(/^HTTP\/1\.1 500 /);
    expect(bridged.bytes).toBe(direct.bytes.replace('Connection: close\r\n', ''));
    expect(bridged.aborted).toBe(false);
    return;
  }
  if (bridged.bytes === direct.bytes) {
    exact++;
    return void expect(bridged).toEqual(direct);
  }
  framingOnly++;
  expect(unframed(bridged, method)).toBe(unframed(direct, method));
}

describe('round trip: the bridge changes nothing on the wire', () => {
  // Both sides' Date headers come from a wall-clock base taken when each HTTPFactory is built: pin it.
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-02T03:04:05Z') });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('HTTPFactory(app) and HTTPFactory(toCpsApp(toIterApp(app))) write identical bytes for generated CPS apps', () => {
    fc.assert(
      fc.property(cpsSpecArb, requestArb, (spec, request) => {
        const direct = onTheWire(() => cpsApp(spec), request, STEPS);
        const bridged = onTheWire(
          (reactor) => toCpsApp(toIterApp(cpsApp(spec)), { reactor, logger: quietLogger() }),
          request,
          STEPS,
        );
        const preHead = failsBeforeHead(spec, request);
        const corked = !preHead && failsInCall(spec);
        expectSameWire(bridged, direct, request.slice(0, request.indexOf(' ')), preHead, corked);
      }),
      { numRuns: RUNS },
    );
    // The allowance is the exception: most generated apps are byte-identical.
    expect(exact).toBeGreaterThan(framingOnly * 3);
    if (process.env.RT_COUNTS) console.log(`exact ${exact} framing-only ${framingOnly} corked-failure ${corked}`);
  });

  it('toCpsApp(iter) and toCpsApp(toIterApp(toCpsApp(iter))) write identical bytes for generated iterator apps', () => {
    fc.assert(
      fc.property(iterSpecArb, requestArb, (spec, request) => {
        const direct = onTheWire(
          (reactor) => toCpsApp(iterApp(spec), { reactor, logger: quietLogger() }),
          request,
          STEPS,
        );
        const bridged = onTheWire(
          (reactor) =>
            toCpsApp(toIterApp(toCpsApp(iterApp(spec), { logger: quietLogger() })), { reactor, logger: quietLogger() }),
          request,
          STEPS,
        );
        expect(bridged).toEqual(direct);
      }),
      { numRuns: RUNS },
    );
  });
});
