/**
 * Hostile input through the whole stack on real sockets: request smuggling
 * (CL.TE, TE.CL, TE.TE) never lets a second request reach the app, oversized
 * heads get 431/414, bodies past a buffered limit 413, absurd chunk sizes 400;
 * 20 000 pipelined requests on one connection (in memory; 5 000 on a socket)
 * are answered in order while the server's held input stays under its bound, and a client that pipelines
 * without reading cannot make the server buffer responses without bound.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { toCpsApp } from '../../src/bridge/gateway.js';
import type { IterApp } from '../../src/bridge/interfaces.js';
import type { IProtocol, ITransport } from '../../src/reactor/interfaces.js';
import { MemoryReactor } from '../../src/reactor/memoryreactor.js';
import { NodeReactor } from '../../src/reactor/nodereactor.js';
import { StringTransport } from '../../src/reactor/stringtransport.js';
import type { HTTPChannel } from '../../src/protocols/http/channel.js';
import { captureLogs } from '../../src/reactor/log.js';
import { HTTPFactory } from '../../src/protocols/http/factory.js';
import type { CpsApp, IRequest } from '../../src/protocols/http/interfaces.js';
import { DEFAULT_MAX_HELD_INPUT_BYTES } from '../../src/protocols/http/options.js';
import {
  BALANCED,
  badEvents,
  completeResponses,
  rawClient,
  realServer,
  settled,
  spyCpsApp,
  spyIterApp,
  stopServer,
  Tracker,
  until,
  NASTY_INSERTS,
  type RealServer,
} from './helpers.js';

let logs = captureLogs();
let server: RealServer | null = null;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  if (server !== null) await stopServer(server);
  server = null;
  logs.restore();
  logs = captureLogs();
});

/** A server whose app (either style) records every request that reaches it. */
async function recordingServer(style: 'iter' | 'cps', options: { bufferLimit?: number } = {}) {
  const reactor = new NodeReactor();
  const seen: string[] = [];
  const cps: CpsApp = (req: IRequest) => {
    seen.push(`${req.method} ${req.path}`);
    const answer = (n: number) => {
      req.write(`ok ${n}`);
      req.finish();
    };
    if (options.bufferLimit !== undefined)
      req.readBody({ limit: options.bufferLimit }).addCallbacks(
        (b: Uint8Array) => answer(b.length),
        () => undefined,
      );
    else answer(0);
  };
  const iter: IterApp = (environ, startResponse) => {
    seen.push(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}`);
    startResponse('200 OK', [['content-type', 'text/plain']]);
    return [`ok ${environ['wsgi.input'].read().length}`];
  };
  const app =
    style === 'cps'
      ? cps
      : toCpsApp(iter, {
          reactor,
          ...(options.bufferLimit !== undefined ? { bufferInput: { limit: options.bufferLimit } } : {}),
        });
  const factory = new HTTPFactory(app, { reactor });
  const port = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
  closers.push(() => port.stopListening());
  return { reactor, factory, seen, port: port.getHost().port };
}

/** Send `bytes`, half-close, and return everything the server sent before closing. */
async function exchange(port: number, bytes: string): Promise<string> {
  const c = rawClient(port);
  await c.connected;
  c.write(bytes);
  c.sock.end();
  await c.closed;
  return c.text();
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const SMUGGLING: Array<[string, string]> = [
  [
    'CL.TE',
    `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE.CL',
    `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${SMUGGLED}\r\n0\r\n\r\n`,
  ],
  [
    'TE.TE obfuscated',
    `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE with a space before the colon',
    `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE chunked not last',
    `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE in an obs-fold',
    `POST /a HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'two different Content-Lengths',
    `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n${SMUGGLED}`,
  ],
  ['bare LF chunk framing', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n${SMUGGLED}`],
  ['chunk-size with a sign', `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n+0\r\n\r\n${SMUGGLED}`],
  ['NUL in a header value', `POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\u0000\r\n\r\n${SMUGGLED}`],
];

describe('request smuggling through the whole stack', () => {
  it.each(['iter', 'cps'] as const)('%s app: no smuggled request ever reaches the app', async (style) => {
    const s = await recordingServer(style);
    for (const [name, bytes] of SMUGGLING) {
      const text = await exchange(s.port, bytes);
      const statuses = completeResponses(text).map((r) => r.status);
      expect({ name, smuggledSeen: s.seen.includes('GET /smuggled') }).toEqual({ name, smuggledSeen: false });
      // One response at most (a head error is a 4xx; a body error may come after the app answered), then the close.
      expect({ name, responses: statuses.length, status: statuses.length === 1 && statuses[0]! >= 400 }).toEqual({
        name,
        responses: 1,
        status: statuses[0]! >= 400,
      });
    }
    // Only the first request of a pair ever reached the app, and only when its head was valid.
    expect(s.seen.every((r) => r === 'POST /a')).toBe(true);
    expect(badEvents(logs.events)).toEqual([]);
  });
});

describe('oversized and absurd input', () => {
  it('answers 431 to a head with too many or too large headers, 414 to a huge request line', async () => {
    const s = await recordingServer('cps');
    const many = Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join('');
    expect(completeResponses(await exchange(s.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`))[0]!.status).toBe(431);
    const big = `X-Big: ${'a'.repeat(128 * 1024)}\r\n`;
    expect(completeResponses(await exchange(s.port, `GET / HTTP/1.1\r\nHost: x\r\n${big}\r\n`))[0]!.status).toBe(431);
    expect(
      completeResponses(await exchange(s.port, `GET /${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`))[0]!.status,
    ).toBe(414);
    expect(s.seen).toEqual([]);
    expect(s.factory.stats.badRequests).toBe(3);
  });

  it.each(['iter', 'cps'] as const)(
    '%s app: a body past the buffered limit gets 413, declared or chunked',
    async (style) => {
      const s = await recordingServer(style, { bufferLimit: 1000 });
      const declared = await exchange(
        s.port,
        `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n${'b'.repeat(5000)}`,
      );
      expect(completeResponses(declared)[0]!.status).toBe(413);
      const chunked = await exchange(
        s.port,
        `POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'400\r\n' + 'c'.repeat(0x400) + '\r\n'}0\r\n\r\n`,
      );
      expect(completeResponses(chunked)[0]!.status).toBe(413);
      const fits = await exchange(
        s.port,
        `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n${'d'.repeat(10)}`,
      );
      expect(completeResponses(fits)[0]!.body).toBe('ok 10');
    },
  );

  it('answers 400 to chunk sizes that overflow or are not hex, without reading further', async () => {
    const s = await recordingServer('cps', { bufferLimit: 1 << 20 });
    for (const size of ['fffffffffffffffffff', '1x', '-1', ' 5', '']) {
      const text = await exchange(
        s.port,
        `POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`,
      );
      const rs = completeResponses(text);
      expect({ size, status: rs[0]?.status }).toEqual({ size, status: 400 });
    }
  });
});

/**
 * Capture each channel the factory builds, count read pauses on its transport,
 * and read its held input right after every delivery. Held input grows only in
 * `dataReceived` (parsing only shrinks it), so the largest value seen there is
 * the exact maximum — no sampling that a peak can slip between.
 */
function watchChannels(factory: HTTPFactory) {
  const channels: Array<{
    channel: HTTPChannel;
    readPauses: number;
    deliveries: number;
    maxHeld: number;
    maxOverBound: number;
  }> = [];
  const build = factory.buildProtocol.bind(factory);
  factory.buildProtocol = (addr) => {
    const channel = build(addr) as HTTPChannel;
    const entry = { channel, readPauses: 0, deliveries: 0, maxHeld: 0, maxOverBound: -Infinity };
    channels.push(entry);
    const receive = channel.dataReceived.bind(channel);
    channel.dataReceived = (data: Uint8Array) => {
      receive(data);
      const held = heldBytes(channel);
      entry.deliveries++;
      entry.maxHeld = Math.max(entry.maxHeld, held);
      // A delivery may carry a whole read past the bound, but only one: reading stops once held input reaches it.
      entry.maxOverBound = Math.max(entry.maxOverBound, held - data.length - DEFAULT_MAX_HELD_INPUT_BYTES);
    };
    const make = channel.makeConnection.bind(channel);
    channel.makeConnection = (t: ITransport) => {
      const pause = t.pauseProducing.bind(t);
      t.pauseProducing = () => {
        entry.readPauses++;
        pause();
      };
      make(t);
    };
    return channel as IProtocol as HTTPChannel;
  };
  return channels;
}

/** Bytes the parser holds unparsed (pipelined requests waiting behind the current one). */
const heldBytes = (c: HTTPChannel) => (c as unknown as { parser: { bufferedBytes: number } }).parser.bufferedBytes;

describe('pipelining floods', () => {
  it.each(['iter', 'cps'] as const)(
    '%s app: 20 000 pipelined requests (StringTransport) are answered in order; held input never passes its bound',
    (style) => {
      const reactor = new MemoryReactor();
      const tracker = new Tracker();
      const app = style === 'iter' ? toCpsApp(spyIterApp(tracker), { reactor }) : spyCpsApp(tracker);
      const factory = new HTTPFactory(app, { reactor });
      const channel = factory.buildProtocol({ host: '192.0.2.1', port: 1 }) as HTTPChannel;
      const transport = new StringTransport();
      channel.makeConnection(transport);
      const N = 20_000;
      // Half the requests answer on a later reactor turn, so requests pile up behind them.
      const wire = Buffer.from(
        Array.from({ length: N }, (_, i) => `GET /${i % 2 ? 'tick' : 'small'} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''),
        'latin1',
      );
      const FEED = 16 * 1024;
      let pos = 0;
      let maxHeld = 0;
      let readPauses = 0;
      let bodies = '';
      for (let spins = 0; pos < wire.length || tracker.unclosed() > 0; spins++) {
        if (spins > 10 * N) throw new Error(`stuck at byte ${pos} of ${wire.length}`);
        // The peer sends as fast as the server reads: until the server stops reading.
        while (transport.producerState !== 'paused' && pos < wire.length) {
          channel.dataReceived(new Uint8Array(wire.subarray(pos, pos + FEED)));
          pos += FEED;
          maxHeld = Math.max(maxHeld, heldBytes(channel));
        }
        if (transport.producerState === 'paused') readPauses++;
        reactor.advance(0);
        bodies += transport
          .valueString()
          .replace(/HTTP\/1\.1 200 OK[^]*?\r\n\r\n/g, '')
          .replace(/[0-9a-f]+\r\n|\r\n/g, '');
        transport.clear();
      }
      expect(factory.stats.responses).toBe(N);
      expect(bodies).toBe(Array.from({ length: N }, (_, i) => (i % 2 ? 'tick' : 'small')).join(''));
      expect(readPauses).toBeGreaterThan(0);
      expect(maxHeld).toBeLessThanOrEqual(DEFAULT_MAX_HELD_INPUT_BYTES + FEED);
      expect(tracker.unclosed()).toBe(0);
    },
  );

  it.each(['iter', 'cps'] as const)(
    '%s app: 5 000 pipelined requests over a socket are answered in order; reading pauses',
    async (style) => {
      server = await realServer(style);
      const channels = watchChannels(server.factory);
      const N = 5000;
      const c = rawClient(server.port);
      await c.connected;
      c.write('GET /tick HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(N));
      await until(
        () => server!.factory.stats.responses >= N && c.text().split('tick').length - 1 >= N,
        `${N} responses`,
        50_000,
      );
      expect(
        completeResponses(c.text())
          .map((r) => r.body)
          .every((b) => b === 'tick'),
      ).toBe(true);
      expect(channels[0]!.readPauses).toBeGreaterThan(0);
      expect(channels[0]!.deliveries).toBeGreaterThan(0);
      // Exact maxima over every delivery: below the bound before each read, and one socket read (64 KiB) past it at most.
      expect(channels[0]!.maxOverBound).toBeLessThan(0);
      expect(channels[0]!.maxHeld).toBeLessThanOrEqual(DEFAULT_MAX_HELD_INPUT_BYTES + 64 * 1024);
      c.sock.end();
      expect(await settled(server)).toEqual(BALANCED);
    },
    60_000,
  );

  it.each(['iter', 'cps'] as const)(
    '%s app: a client that pipelines without reading stalls the server, which buffers a bounded amount',
    async (style) => {
      server = await realServer(style);
      const channels = watchChannels(server.factory);
      const c = rawClient(server.port);
      await c.connected;
      c.sock.pause(); // never read a response
      const N = 150_000;
      c.write('GET /small HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(N));
      // Wait until the server stops making progress: its socket buffers are full.
      let last = -1;
      await until(
        () => {
          const now = server!.factory.stats.requests;
          const still = now === last && now > 0;
          last = now;
          return still && (channels[0]!.channel.transport as unknown as { bufferSize: number }).bufferSize > 0;
        },
        'the server to stall',
        30_000,
      );
      const transport = channels[0]!.channel.transport as unknown as { bufferSize: number };
      // What the kernel took, plus at most about one coalesced write: not the 150 000 answers.
      expect(server.factory.stats.requests).toBeLessThan(N);
      expect(transport.bufferSize).toBeLessThan(1024 * 1024);
      c.reset();
      expect(await settled(server)).toEqual(BALANCED);
    },
    60_000,
  );
});

const INJECTIONS: Array<[string, string]> = [
  ['X-A', 'ok\r\nSet-Cookie: evil=1'],
  ['X-A', 'ok\nSet-Cookie: evil=1'],
  ['X-A', 'ok\rSet-Cookie: evil=1'],
  ['X-A', 'ok\u0000'],
  ['X-A\r\nSet-Cookie', 'evil=1'],
  ['X A', 'v'],
  ['X-A:', 'v'],
  ['', 'v'],
  ['X-A', 'caf\u00e9\u2603'],
];

describe('header injection from apps', () => {
  it('CPS setHeader/addHeader refuse every injection, and nothing reaches the wire', async () => {
    const reactor = new NodeReactor();
    const refused: string[] = [];
    const factory = new HTTPFactory(
      (req: IRequest) => {
        for (const [name, value] of INJECTIONS) {
          for (const set of [req.setHeader, req.addHeader]) {
            try {
              set.call(req, name, value);
            } catch (err) {
              refused.push((err as { code: string }).code);
            }
          }
        }
        req.write('body');
        req.finish();
      },
      { reactor },
    );
    const port = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
    closers.push(() => port.stopListening());
    const text = await exchange(port.getHost().port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(refused).toHaveLength(INJECTIONS.length * 2);
    expect(new Set(refused)).toEqual(new Set(['ERR_HTTP_INVALID_HEADER']));
    expect(text).not.toMatch(/evil|X-A/i);
    expect(completeResponses(text)[0]!.body).toBe('body');
  });

  it('iterator startResponse refuses every injection (500, nothing injected), and the iterable is still closed', async () => {
    const reactor = new NodeReactor();
    let i = 0;
    let closes = 0;
    const codes: string[] = [];
    // startResponse is called lazily, inside the first next() (G1), so the refusal is a
    // failure of the running iterable: the gateway must still close it (G7).
    const app: IterApp = (_environ, startResponse) => {
      const [name, value] = INJECTIONS[i++]!;
      const body = (function* () {
        try {
          startResponse('200 OK', [[name, value]]);
        } catch (err) {
          codes.push((err as { code: string }).code);
          throw err;
        }
        yield 'never';
      })();
      return { [Symbol.iterator]: () => body, close: () => void closes++ };
    };
    const statusInjection: IterApp = (_e, startResponse) => {
      startResponse('200 OK\r\nSet-Cookie: evil=1', [['content-type', 'text/plain']]);
      return ['never'];
    };
    const gw = toCpsApp((e, sr) => (e.PATH_INFO === '/status' ? statusInjection(e, sr) : app(e, sr)), { reactor });
    const factory = new HTTPFactory(gw, { reactor });
    const port = await reactor.listenTCP(0, factory, { host: '127.0.0.1' });
    closers.push(() => port.stopListening());
    for (const _ of INJECTIONS) {
      const text = await exchange(port.getHost().port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(completeResponses(text)[0]!.status).toBe(500);
      expect(text).not.toMatch(/evil|X-A|never/i);
    }
    const text = await exchange(port.getHost().port, 'GET /status HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(completeResponses(text)[0]!.status).toBe(500);
    expect(text).not.toMatch(/evil/);
    expect(codes).toHaveLength(INJECTIONS.length);
    expect(codes.every((c) => /INVALID_HEADER$/.test(c))).toBe(true);
    expect(closes).toBe(INJECTIONS.length);
    expect(gw.gatewayStats.appErrors).toBe(INJECTIONS.length + 1);
    expect(gw.gatewayStats.activeResponses).toBe(0);
  });
});

const SEEDS = [
  'GET /small?x=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n',
  'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n',
  'GET /slow HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'DELETE /small HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
];
const NASTY = [...NASTY_INSERTS, '%', '\u00e9'];
const mutation = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  del: fc.nat({ max: 4 }),
  ins: fc.constantFrom(...NASTY),
});

describe('parser fuzz over real sockets', () => {
  it.each(['iter', 'cps'] as const)(
    '%s app: mutated requests at random splits get well-formed answers and leave nothing behind',
    async (style) => {
      server = await realServer(style, { headerTimeout: 0.5, idleTimeout: 0.5 });
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom(...SEEDS), { minLength: 1, maxLength: 3 }),
          fc.array(mutation, { maxLength: 4 }),
          fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
          async (reqs, mutations, splits) => {
            let text = reqs.join('');
            for (const m of mutations) {
              const at = Math.floor(m.at * text.length);
              text = text.slice(0, at) + m.ins + text.slice(at + m.del);
            }
            const c = rawClient(server!.port);
            await c.connected;
            const bytes = Buffer.from(text, 'latin1');
            for (let pos = 0, i = 0; pos < bytes.length; i++) {
              const n = splits[i % splits.length]!;
              c.write(new Uint8Array(bytes.subarray(pos, pos + n)));
              pos += n;
            }
            c.sock.end();
            await c.closed;
            // Whatever came back parses as HTTP/1.1 responses; a mutation may split a request in two, no more.
            const rs = completeResponses(c.text());
            expect(rs.length).toBeLessThanOrEqual(reqs.length + mutations.length);
            for (const r of rs) expect(r.status >= 200 && r.status < 600).toBe(true);
            expect(c.text().length === 0 || rs.length > 0).toBe(true);
          },
        ),
        { numRuns: 120 },
      );
      expect(await settled(server)).toEqual(BALANCED);
      expect(badEvents(logs.events)).toEqual([]);
    },
    60_000,
  );
});
