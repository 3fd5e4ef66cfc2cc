/**
 * `acceptWebSocket` on spindle's HTTP server, in memory: the §4.2 handshake
 * checks and their 400/403/426 answers, subprotocols, then frames on the
 * upgraded connection, including bytes that came with the handshake.
 */
import { describe, expect, it } from 'vitest';
import { acceptWebSocket } from '../src/protocols/websocket/accept.js';
import { WebSocketUnsupportedError } from '../src/protocols/websocket/errors.js';
import { acceptKey, OP_TEXT } from '../src/protocols/websocket/frame.js';
import type { AcceptWebSocketOptions, WebSocketMessage } from '../src/protocols/websocket/interfaces.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { makeServer } from './http-channel-helpers.js';
import { frame, parse } from './websocket-helpers.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

class Echo extends WebSocketProtocol {
  override messageReceived(data: WebSocketMessage): void {
    this.sendMessage(data);
  }
}

function handshake(extra: Record<string, string | null> = {}, method = 'GET', version = 'HTTP/1.1'): string {
  const fields: Record<string, string | null> = {
    Host: 'example.test',
    Upgrade: 'websocket',
    Connection: 'keep-alive, Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  let text = `${method} /ws HTTP/${version.slice(5)}\r\n`;
  for (const [k, v] of Object.entries(fields)) if (v !== null) text += `${k}: ${v}\r\n`;
  return `${text}\r\n`;
}

function server(options: AcceptWebSocketOptions = {}) {
  const results: boolean[] = [];
  const protocols: Echo[] = [];
  const s = makeServer((request: IRequest) => {
    const p = new Echo();
    protocols.push(p);
    results.push(acceptWebSocket(request, p, options));
  });
  return { ...s, results, protocols };
}

describe('acceptWebSocket: the handshake (RFC 6455 §4.2)', () => {
  it('answers 101 with the §4.2.2 accept key, then echoes frames that came with the handshake and after', () => {
    const s = server();
    s.send(handshake() + Buffer.from(frame({ opcode: OP_TEXT, payload: 'early' })).toString('latin1'));
    const out = s.output();
    const headEnd = out.indexOf('\r\n\r\n') + 4;
    expect(out.slice(0, headEnd)).toBe(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(KEY)}\r\n\r\n`,
    );
    expect(acceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    s.send(Buffer.from(frame({ opcode: OP_TEXT, payload: 'later' })).toString('latin1'));
    expect(parse([Buffer.from(s.output().slice(headEnd), 'latin1')], { expectMasked: false })).toEqual([
      ['message', 'early'],
      ['message', 'later'],
    ]);
    expect(s.results).toEqual([true]);
  });

  const refusals: [string, string, number, RegExp, Record<string, string>?][] = [
    [
      'no Upgrade header',
      handshake({ Upgrade: null, Connection: null }),
      426,
      /speaks WebSocket only/,
      { upgrade: 'websocket' },
    ],
    [
      'a version other than 13',
      handshake({ 'Sec-WebSocket-Version': '8' }),
      426,
      /Version must be 13/,
      { 'sec-websocket-version': '13' },
    ],
    ['no key', handshake({ 'Sec-WebSocket-Key': null }), 400, /Sec-WebSocket-Key/],
    ['a key that is not 16 bytes', handshake({ 'Sec-WebSocket-Key': 'c2hvcnQ=' }), 400, /16 random bytes/],
    ['Connection without Upgrade', handshake({ Connection: 'keep-alive' }), 400, /Connection/],
    ['a POST', handshake({ 'Content-Length': '0' }, 'POST'), 400, /GET request/],
    ['HTTP/1.0', handshake({}, 'GET', 'HTTP/1.0'), 400, /HTTP\/1\.1/],
  ];
  for (const [what, text, status, message, headers] of refusals) {
    it(`answers ${status} to ${what}, saying what to fix, and stays HTTP`, () => {
      const s = server();
      s.send(text);
      const [r] = s.responses();
      expect(r!.status).toBe(status);
      expect(r!.body).toMatch(message);
      for (const [k, v] of Object.entries(headers ?? {})) expect(r!.headers[k]).toBe(v);
      expect(s.results).toEqual([false]);
      expect(s.protocols[0]!.connected).toBe(false);
    });
  }

  it('asks the origin hook and answers 403 when it refuses', () => {
    const seen: (string | undefined)[] = [];
    const s = server({ checkOrigin: (origin) => (seen.push(origin), origin === 'https://good.test') });
    s.send(handshake({ Origin: 'https://evil.test' }));
    expect(s.responses()[0]!.status).toBe(403);
    const ok = server({ checkOrigin: (origin) => origin === 'https://good.test' });
    ok.send(handshake({ Origin: 'https://good.test' }));
    expect(ok.output()).toMatch(/^HTTP\/1\.1 101 /);
    expect(seen).toEqual(['https://evil.test']);
  });

  it('picks the first offered subprotocol the server speaks, and none when there is no match', () => {
    const s = server({ protocols: ['chat.v2', 'chat.v1'] });
    s.send(handshake({ 'Sec-WebSocket-Protocol': 'chat.v0, chat.v1, chat.v2' }));
    expect(s.output()).toContain('Sec-WebSocket-Protocol: chat.v1\r\n');
    expect(s.protocols[0]!.transport.subprotocol).toBe('chat.v1');
    const none = server({ protocols: ['x'] });
    none.send(handshake({ 'Sec-WebSocket-Protocol': 'y' }));
    expect(none.output()).not.toContain('Sec-WebSocket-Protocol');
    expect(none.protocols[0]!.transport.subprotocol).toBeNull();
  });

  it('throws WebSocketUnsupportedError for a valid handshake on a host that cannot hand over its connection', () => {
    const s = makeServer(() => undefined);
    s.send(handshake());
    const request = s.channel.currentRequest!;
    const noUpgrade = Object.create(request, { upgrade: { value: undefined } }) as IRequest;
    expect(() => acceptWebSocket(noUpgrade, new Echo())).toThrow(WebSocketUnsupportedError);
  });
});
