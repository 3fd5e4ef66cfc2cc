/**
 * `WebSocketConnection` and `WebSocketProtocol` over a StringTransport and a
 * Clock: messages both ways, ping/pong, the closing handshake from either side
 * with its timeout, protocol errors closing with the right code, and flow
 * control both ways.
 */
import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import { ConnectionDone, ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { IPushProducer } from '../src/reactor/interfaces.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { WebSocketConnection } from '../src/protocols/websocket/connection.js';
import { WebSocketClosedError, WebSocketCloseCodeError } from '../src/protocols/websocket/errors.js';
import { OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT } from '../src/protocols/websocket/frame.js';
import type { WebSocketMessage } from '../src/protocols/websocket/interfaces.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import { cat, closeBody, frame, parse, type Event } from './websocket-helpers.js';

class Echo extends WebSocketProtocol {
  received: WebSocketMessage[] = [];
  pongs: string[] = [];
  lost: WebSocketClosedError[] = [];
  made = 0;
  throwOn: string | null = null;
  override connectionMade(): void {
    this.made++;
  }
  override messageReceived(data: WebSocketMessage): void {
    if (data === this.throwOn) throw new Error('app bug');
    this.received.push(typeof data === 'string' ? data : new Uint8Array(data));
    this.sendMessage(data);
  }
  override pongReceived(payload: Uint8Array): void {
    this.pongs.push(Buffer.from(payload).toString());
  }
  override connectionLost(reason: Failure): void {
    this.lost.push(reason.value as WebSocketClosedError);
  }
}

function setup(options: { isClient?: boolean; maxMessageBytes?: number; highWater?: number } = {}) {
  const clock = new Clock();
  const transport = new StringTransport(options.highWater ? { highWater: options.highWater } : {});
  const app = new Echo();
  const isClient = options.isClient ?? false;
  const conn = new WebSocketConnection(app, { clock, isClient, maxMessageBytes: options.maxMessageBytes });
  conn.makeConnection(transport);
  const mask = isClient ? null : undefined;
  return {
    clock,
    transport,
    app,
    conn,
    /** Frames from the peer (masked when the peer is a client). */
    feed(...frames: Parameters<typeof frame>[0][]) {
      conn.dataReceived(cat(frames.map((f) => frame({ mask, ...f }))));
    },
    /** What this side wrote, read as the peer would. */
    sent(): Event[] {
      return parse([transport.value()], { expectMasked: isClient });
    },
    /** The transport reports the TCP connection closed. */
    tcpClosed(clean = true) {
      conn.connectionLost(new Failure(clean ? new ConnectionDone() : new ConnectionLost()));
    },
  };
}

describe('messages and pings', () => {
  it('delivers text as strings and binary as bytes, and sends each kind back as it came', () => {
    const s = setup();
    s.feed({ opcode: OP_TEXT, payload: 'héllo' }, { opcode: OP_BINARY, payload: new Uint8Array([1, 2, 3]) });
    expect(s.app.made).toBe(1);
    expect(s.app.received).toEqual(['héllo', new Uint8Array([1, 2, 3])]);
    expect(s.sent()).toEqual([
      ['message', 'héllo'],
      ['message', new Uint8Array([1, 2, 3])],
    ]);
  });

  it('answers a ping with a pong of the same payload; the app hears pongs to its own pings', () => {
    const s = setup();
    s.feed({ opcode: OP_PING, payload: 'are you there' });
    s.app.ping('mine');
    s.feed({ opcode: OP_PONG, payload: 'mine' });
    expect(s.sent()).toEqual([
      ['pong', 'are you there'],
      ['ping', 'mine'],
    ]);
    expect(s.app.pongs).toEqual(['mine']);
    expect(() => s.app.ping('x'.repeat(126))).toThrow(/125 bytes/);
  });

  it('a client masks what it sends and reads the server unmasked', () => {
    const s = setup({ isClient: true });
    s.feed({ opcode: OP_TEXT, payload: 'from server' });
    expect(s.sent()).toEqual([['message', 'from server']]);
  });
});

describe('the closing handshake (§7.1)', () => {
  it('the peer closes: the server echoes its code, closes TCP, and reports a clean close once', () => {
    const s = setup();
    s.feed({ opcode: OP_CLOSE, payload: closeBody(1001, 'leaving') });
    expect(s.sent()).toEqual([['close', 1001, '']]);
    expect(s.transport.disconnecting).toBe(true);
    expect(s.conn.state).toBe('closing');
    s.tcpClosed();
    s.tcpClosed();
    expect(s.app.lost).toHaveLength(1);
    expect(s.app.lost[0]).toMatchObject({
      code: 'ERR_WS_CLOSED',
      closeCode: 1001,
      closeReason: 'leaving',
      wasClean: true,
    });
    expect(s.clock.getDelayedCalls()).toHaveLength(0);
  });

  it('an empty close frame is echoed empty and reported as 1005', () => {
    const s = setup();
    s.feed({ opcode: OP_CLOSE });
    expect(s.sent()).toEqual([['close', 1005, '']]);
    s.tcpClosed();
    expect(s.app.lost[0]).toMatchObject({ closeCode: 1005, wasClean: true });
  });

  it('the app closes: later sends are dropped, messages still arriving are not delivered, the peer’s close ends it', () => {
    const s = setup();
    s.app.close(4000, 'done');
    s.app.sendMessage('dropped');
    s.feed({ opcode: OP_TEXT, payload: 'in flight' });
    expect(s.app.received).toEqual([]);
    expect(s.transport.disconnecting).toBe(false);
    s.feed({ opcode: OP_CLOSE, payload: closeBody(4000) });
    expect(s.sent()).toEqual([['close', 4000, 'done']]);
    expect(s.transport.disconnecting).toBe(true);
    s.tcpClosed();
    expect(s.app.lost[0]).toMatchObject({ closeCode: 4000, wasClean: true });
  });

  it('a peer that never answers the close is aborted after closeTimeout', () => {
    const s = setup();
    s.app.close();
    s.clock.advance(4.9);
    expect(s.transport.aborted).toBe(false);
    s.clock.advance(0.2);
    expect(s.transport.aborted).toBe(true);
    s.tcpClosed(false);
    expect(s.app.lost[0]).toMatchObject({ closeCode: 1006, wasClean: false });
  });

  it('a client waits for the server to close TCP after the handshake, then aborts on the timeout', () => {
    const s = setup({ isClient: true });
    s.feed({ opcode: OP_CLOSE, payload: closeBody(1000) });
    expect(s.transport.disconnecting).toBe(false);
    s.clock.advance(5);
    expect(s.transport.aborted).toBe(true);
  });

  it('a connection lost with no close frame is 1006, not clean', () => {
    const s = setup();
    s.tcpClosed(false);
    expect(s.app.lost[0]).toMatchObject({ closeCode: 1006, wasClean: false });
  });

  it('close() refuses codes an app may not send and over-long reasons', () => {
    const s = setup();
    for (const code of [999, 1002, 1004, 1005, 1006, 1007, 1009, 1015, 2000, 5000])
      expect(() => s.app.close(code)).toThrow(WebSocketCloseCodeError);
    expect(() => s.app.close(1000, 'é'.repeat(62))).toThrow(/123 UTF-8 bytes/);
    expect(s.transport.value()).toHaveLength(0);
    s.app.close(1000, 'r'.repeat(123));
    expect(s.sent()).toEqual([['close', 1000, 'r'.repeat(123)]]);
  });
});

describe('protocol errors close with the code they call for', () => {
  const cases: [string, Parameters<typeof frame>[0], number][] = [
    ['an unmasked client frame', { opcode: OP_TEXT, payload: 'x', mask: null }, 1002],
    ['invalid UTF-8', { opcode: OP_TEXT, payload: new Uint8Array([0xff]) }, 1007],
    ['an oversized message', { opcode: OP_BINARY, payload: new Uint8Array(101) }, 1009],
    ['a reserved opcode', { opcode: 0x3 }, 1002],
  ];
  for (const [what, f, code] of cases) {
    it(`${what} → ${code}, then the connection closes`, () => {
      const s = setup({ maxMessageBytes: 100 });
      s.feed(f);
      expect(s.sent()).toEqual([['close', code, '']]);
      expect(s.transport.disconnecting).toBe(true);
      expect(s.app.received).toEqual([]);
      s.tcpClosed();
      expect(s.app.lost[0]).toMatchObject({ closeCode: code, wasClean: false });
    });
  }

  it('a peer that never reads after the failure is aborted after closeTimeout', () => {
    const s = setup();
    s.feed({ opcode: 0x3 });
    s.clock.advance(5);
    expect(s.transport.aborted).toBe(true);
  });

  it('an app that throws in messageReceived closes the connection with 1011', () => {
    const s = setup();
    s.app.throwOn = 'boom';
    s.feed({ opcode: OP_TEXT, payload: 'boom' });
    expect(s.sent()).toEqual([['close', 1011, 'internal error']]);
  });
});

describe('flow control', () => {
  it('pauseProducing() stops delivery and reading; resumeProducing() delivers the rest on a later turn', () => {
    const s = setup();
    s.app.messageReceived = function (data) {
      this.received.push(data);
      this.transport.pauseProducing();
    };
    s.feed({ opcode: OP_TEXT, payload: 'a' }, { opcode: OP_TEXT, payload: 'b' });
    expect(s.app.received).toEqual(['a']);
    expect(s.transport.producerState).toBe('paused');
    s.app.transport.resumeProducing();
    expect(s.app.received).toEqual(['a']);
    expect(s.transport.producerState).toBe('producing');
    s.clock.advance(0);
    expect(s.app.received).toEqual(['a', 'b']);
  });

  it('a peer that does not read pauses the app’s producer; reading resumes it', () => {
    const s = setup({ highWater: 64 * 1024 });
    let paused = 0,
      resumed = 0,
      sent = 0;
    const producer: IPushProducer = {
      pauseProducing: () => void paused++,
      resumeProducing: () => void resumed++,
      stopProducing: () => undefined,
    };
    s.app.transport.registerProducer(producer, true);
    const chunk = new Uint8Array(1024);
    while (paused === 0 && sent < 1000) {
      s.app.sendMessage(chunk);
      sent++;
    }
    expect(paused).toBe(1);
    expect(sent).toBeLessThan(70);
    s.transport.clear();
    expect(resumed).toBe(1);
  });

  it('closing reads again even when the app had paused input, so the peer’s close frame is seen', () => {
    const s = setup();
    s.app.transport.pauseProducing();
    s.app.close();
    expect(s.transport.producerState).toBe('producing');
    s.feed({ opcode: OP_CLOSE, payload: closeBody(1000) });
    s.clock.advance(0);
    expect(s.transport.disconnecting).toBe(true);
  });
});
