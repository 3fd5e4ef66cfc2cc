/**
 * WebSocket for iterator apps (`environ['spindle.websocket']`) through the
 * gateway on spindle's HTTP server, in memory: messages out as yielded chunks
 * (pulled only while the socket takes data), messages in without blocking
 * (wsgi.input_handler), endings, refusals, backpressure both ways, and the
 * iterable closed exactly once on every ending.
 */
import { describe, expect, it } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import { validator } from '../src/bridge/validator.js';
import type { AppIterable, Chunk, Environ, IterApp, StartResponse, WebSocketInput } from '../src/bridge/interfaces.js';
import { WEBSOCKET_INPUT_HIGH_WATER } from '../src/bridge/wsiter.js';
import { OP_BINARY, OP_CLOSE, OP_TEXT } from '../src/protocols/websocket/frame.js';
import { makeServer } from './http-channel-helpers.js';
import { cat, closeBody, frame, parse, type RawFrame } from './websocket-helpers.js';

const HANDSHAKE =
  'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** Wraps a generator so the test sees how often it is pulled and closed. */
function spy(gen: (environ: Environ, startResponse: StartResponse) => Iterator<Chunk>) {
  const counts = { pulls: 0, closes: 0, environ: null as Environ | null };
  const app: IterApp = (environ, startResponse) => {
    counts.environ = environ;
    const it = gen(environ, startResponse);
    const iterable: AppIterable = {
      [Symbol.iterator]: () => ({ next: () => (counts.pulls++, it.next()) }),
      close: () => {
        counts.closes++;
        it.return?.();
      },
    };
    return iterable;
  };
  return { app, counts };
}

/** The echo of examples/websocket-echo.ts, as an iterator app. */
function* echo(environ: Environ, startResponse: StartResponse): Generator<Chunk> {
  const ws = environ['spindle.websocket'];
  if (!ws) {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    yield 'not a websocket';
    return;
  }
  const input = ws.accept();
  if (!input) return;
  let resume: (() => void) | null = null;
  environ['wsgi.input_handler']!(input, () => resume?.());
  for (;;) {
    const m = input.receive();
    if (m === 'bye') return;
    if (m === 'boom') throw new Error('app failure');
    if (m !== null) {
      yield m;
      continue;
    }
    if (input.closed) return;
    resume = environ['wsgi.pause_output']!();
    yield '';
  }
}

function start(gen = echo, transportOptions: { highWater?: number } = {}) {
  const { app, counts } = spy(gen);
  const cps = toCpsApp(app);
  const s = makeServer(cps, {}, transportOptions);
  s.send(HANDSHAKE);
  const head = s.output().indexOf('\r\n\r\n') + 4;
  return {
    ...s,
    counts,
    gatewayStats: cps.gatewayStats,
    frames: (...fs: RawFrame[]) => s.channel.dataReceived(cat(fs.map(frame))),
    /** Frames the server sent after its 101, as a client reads them. */
    sent: () => parse([Buffer.from(s.output().slice(head), 'latin1')], { expectMasked: false }),
    turn: () => s.reactor.advance(0),
  };
}

describe("environ['spindle.websocket'] on spindle's server", () => {
  it('is present only on a WebSocket upgrade request', () => {
    const { app, counts } = spy(echo);
    const s = makeServer(toCpsApp(app));
    s.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect('spindle.websocket' in counts.environ!).toBe(false);
    expect(s.responses()[0]!.body).toBe('not a websocket');
  });

  it('accepts with 101, echoes text as text and binary as binary, and never sends a yield point', () => {
    const s = start();
    expect(s.output()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    s.frames({ opcode: OP_TEXT, payload: 'hi' }, { opcode: OP_BINARY, payload: new Uint8Array([7, 8]) });
    s.turn();
    s.turn();
    expect(s.sent()).toEqual([
      ['message', 'hi'],
      ['message', new Uint8Array([7, 8])],
    ]);
  });

  it('passes the validator: messages need no startResponse once accepted', () => {
    const violations: unknown[] = [];
    const cps = toCpsApp(
      validator(echo as unknown as IterApp, { onViolation: (v: unknown) => void violations.push(v) }),
    );
    const s = makeServer(cps);
    s.send(HANDSHAKE);
    s.channel.dataReceived(
      cat([frame({ opcode: OP_TEXT, payload: 'checked' }), frame({ opcode: OP_TEXT, payload: 'bye' })]),
    );
    s.reactor.advance(0);
    s.reactor.advance(0);
    expect(s.output()).toContain('checked');
    expect(violations).toEqual([]);
  });

  it('the end of the iterable closes with 1000 and the iterable exactly once', () => {
    const s = start();
    s.frames({ opcode: OP_TEXT, payload: 'bye' });
    s.turn();
    expect(s.sent()).toEqual([['close', 1000, '']]);
    s.frames({ opcode: OP_CLOSE, payload: closeBody(1000) });
    expect(s.transport.disconnecting).toBe(true);
    s.close(true);
    expect(s.counts.closes).toBe(1);
  });

  it('an app failure closes with 1011', () => {
    const s = start();
    s.frames({ opcode: OP_TEXT, payload: 'boom' });
    s.turn();
    expect(s.sent()).toEqual([['close', 1011, 'internal error']]);
    expect(s.counts.closes).toBe(1);
    expect(s.factory.stats).toBeDefined();
  });

  it('a malformed handshake is answered 426 by accept(), which returns null', () => {
    const { app, counts } = spy(function* (environ) {
      const input = environ['spindle.websocket']!.accept();
      expect(input).toBeNull();
    } as (e: Environ, s: StartResponse) => Generator<Chunk>);
    const s = makeServer(toCpsApp(app));
    s.send(HANDSHAKE.replace('Version: 13', 'Version: 7'));
    expect(s.responses()[0]!.status).toBe(426);
    expect(counts.closes).toBe(1);
  });

  it('is not pulled while the socket is full; pulled again once it drains', () => {
    const payload = new Uint8Array(16 * 1024);
    const s = start(
      function* (environ) {
        environ['spindle.websocket']!.accept();
        for (;;) yield payload;
      },
      { highWater: 64 * 1024 },
    );
    s.turn();
    const pulls = s.counts.pulls;
    expect(pulls).toBeLessThanOrEqual(6);
    s.turn();
    s.turn();
    expect(s.counts.pulls).toBe(pulls);
    s.transport.clear();
    s.turn();
    expect(s.counts.pulls).toBeGreaterThan(pulls);
    s.close(false);
    expect(s.counts.closes).toBe(1);
  });

  it('stops reading the socket while unread messages pass the high-water mark, and reads again when the app catches up', () => {
    let input: WebSocketInput | null = null;
    const s = start(function* (environ) {
      input = environ['spindle.websocket']!.accept();
      const resume = environ['wsgi.pause_output']!();
      void resume;
      yield '';
    });
    const big = new Uint8Array(256 * 1024);
    const n = Math.ceil(WEBSOCKET_INPUT_HIGH_WATER / big.length) + 1;
    for (let i = 0; i < n; i++) s.frames({ opcode: OP_BINARY, payload: big });
    expect(s.transport.producerState).toBe('paused');
    let read = 0;
    while (input!.receive() !== null) read++;
    expect(read).toBe(n);
    expect(s.transport.producerState).toBe('producing');
  });

  it('takes the unread-input bound as an accept() option', () => {
    let input: WebSocketInput | null = null;
    const s = start(function* (environ) {
      input = environ['spindle.websocket']!.accept({ inputHighWater: 1000 });
      environ['wsgi.pause_output']!();
      yield '';
    });
    s.frames({ opcode: OP_BINARY, payload: new Uint8Array(600) });
    expect(s.transport.producerState).toBe('producing');
    s.frames({ opcode: OP_BINARY, payload: new Uint8Array(600) });
    expect(s.transport.producerState).toBe('paused');
    input!.receive();
    expect(s.transport.producerState).toBe('paused');
    input!.receive();
    expect(s.transport.producerState).toBe('producing');
  });

  it('closes the iterable exactly once when the connection drops in every state', () => {
    // Before accept: the app paused without accepting.
    const before = start(function* (environ) {
      environ['wsgi.pause_output']!();
      yield '';
    });
    before.close(false);
    expect(before.counts.closes).toBe(1);
    // Mid-message: half a frame arrived.
    const mid = start();
    mid.channel.dataReceived(frame({ opcode: OP_TEXT, payload: 'x'.repeat(100) }).subarray(0, 20));
    mid.close(false);
    expect(mid.counts.closes).toBe(1);
    // During the closing handshake: the app closed, the peer never answered.
    const closing = start(function* (environ) {
      environ['spindle.websocket']!.accept()!.close(4000, 'closing');
      environ['wsgi.pause_output']!();
      yield '';
    });
    closing.reactor.advance(5);
    expect(closing.transport.aborted).toBe(true);
    closing.close(false);
    expect(closing.counts.closes).toBe(1);
    for (const s of [before, mid, closing]) {
      expect(s.reactor.getDelayedCalls()).toHaveLength(0);
      expect(s.factory.stats.openChannels).toBe(0);
      expect(s.gatewayStats).toMatchObject({ activeResponses: 0, pausedResponses: 0 });
    }
  });
});
