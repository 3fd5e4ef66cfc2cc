/**
 * The proxy checks the protocol switch it relays (RFC 9110 §7.8, RFC 6455 §4.1,
 * §4.2.2): `switchProblem` on its own, then reverseProxy in memory (a 101 that
 * does not answer the client's handshake is a 502 with the badSwitch body, the
 * upstream connection is closed, none of its bytes reach the client, the
 * problem is logged), then one real-socket test with the `ws` client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import WebSocket from 'ws';
import { Headers } from '../src/protocols/http/headers.js';
import { PROXY_ERROR_BODIES, reverseProxy } from '../src/protocols/http/client/proxy.js';
import { switchProblem } from '../src/protocols/http/client/switchcheck.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import { Protocol } from '../src/protocols/protocol.js';
import { acceptKey } from '../src/protocols/websocket/frame.js';
import type { Failure } from '../src/reactor/failure.js';
import { captureLogs, Logger, LogPublisher } from '../src/reactor/log.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { proxyWorld } from './http-proxy-helpers.js';
import { settled } from './ws-client-helpers.js';

/** RFC 6455 §1.3's sample key and the accept it gives. */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

const fields = (pairs: Record<string, string | string[]>) =>
  Headers.fromPairs(Object.entries(pairs).flatMap(([n, v]) => [v].flat().map((one) => [n, one] as const)));
const ASKED = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': KEY,
  'Sec-WebSocket-Version': '13',
};
const ANSWER = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Accept': ACCEPT };

describe('switchProblem', () => {
  const check = (asked: Record<string, string | string[]>, answer: Record<string, string | string[]>) =>
    switchProblem(fields(asked), fields(answer));

  it('accepts the RFC 6455 sample handshake, computed by the WebSocket layer’s acceptKey', () => {
    expect(acceptKey(KEY)).toBe(ACCEPT);
    expect(check(ASKED, ANSWER)).toBeNull();
    // Protocol names compare case-insensitively (RFC 9110 §7.8); Connection may list more.
    expect(check(ASKED, { ...ANSWER, Upgrade: 'WebSocket', Connection: 'keep-alive, upgrade' })).toBeNull();
  });

  it('refuses a Sec-WebSocket-Accept that does not answer the key: wrong, missing, repeated, or no key to answer', () => {
    expect(check(ASKED, { ...ANSWER, 'Sec-WebSocket-Accept': acceptKey('another key') })).toMatch(
      /Sec-WebSocket-Accept .* does not answer the client's Sec-WebSocket-Key/,
    );
    const { 'Sec-WebSocket-Accept': _, ...noAccept } = ANSWER;
    expect(check(ASKED, noAccept)).toMatch(/no Sec-WebSocket-Accept/);
    expect(check(ASKED, { ...ANSWER, 'Sec-WebSocket-Accept': [ACCEPT, ACCEPT] })).toMatch(/does not answer/);
    const { 'Sec-WebSocket-Key': __, ...noKey } = ASKED;
    expect(check(noKey, ANSWER)).toMatch(/sent no Sec-WebSocket-Key/);
  });

  it('refuses a switch to a protocol the client did not ask for, or to none', () => {
    expect(check(ASKED, { ...ANSWER, Upgrade: 'h2c' })).toMatch(/switches to "h2c", which the client did not ask for/);
    expect(check(ASKED, { ...ANSWER, Upgrade: 'websocket, h2c' })).toMatch(/"h2c"/);
    const { Upgrade: _, ...noUpgrade } = ANSWER;
    expect(check(ASKED, noUpgrade)).toMatch(/names no protocol in Upgrade/);
    // Other protocols are checked by Upgrade alone.
    expect(check({ Upgrade: 'echo, websocket' }, { Upgrade: 'echo' })).toBeNull();
    expect(check({ Upgrade: 'echo' }, ANSWER)).toMatch(/"websocket"/);
  });

  it('refuses a WebSocket 101 without "upgrade" in Connection', () => {
    expect(check(ASKED, { ...ANSWER, Connection: 'keep-alive' })).toMatch(/no "upgrade" in Connection/);
  });

  it('refuses a subprotocol or an extension the client did not offer; accepts offered ones', () => {
    const offering = { ...ASKED, 'Sec-WebSocket-Protocol': ['chat, superchat'], 'Sec-WebSocket-Extensions': 'x-a' };
    expect(check(offering, { ...ANSWER, 'Sec-WebSocket-Protocol': 'superchat' })).toBeNull();
    expect(check(offering, { ...ANSWER, 'Sec-WebSocket-Protocol': 'other' })).toMatch(
      /subprotocol "other", which the client did not offer/,
    );
    expect(check(ASKED, { ...ANSWER, 'Sec-WebSocket-Protocol': 'chat' })).toMatch(/subprotocol "chat"/);
    const deflate = { ...ASKED, 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits, x-b' };
    expect(
      check(deflate, { ...ANSWER, 'Sec-WebSocket-Extensions': 'permessage-deflate; server_no_context_takeover' }),
    ).toBeNull();
    expect(check(ASKED, { ...ANSWER, 'Sec-WebSocket-Extensions': 'permessage-deflate' })).toMatch(
      /extension "permessage-deflate", which the client did not offer/,
    );
  });
});

const WS_REQUEST = (extra = '') =>
  `GET /ws HTTP/1.1\r\nHost: site.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

/** A raw upstream that answers the first request with `head` and then bytes of the new protocol. */
class RawSwitcher extends Protocol {
  static last: RawSwitcher | null = null;
  lost: Failure | null = null;
  constructor(private readonly head: string) {
    super();
    RawSwitcher.last = this;
  }
  override dataReceived() {
    this.transport.write(Buffer.from(`${this.head}\r\n\r\nNEW-PROTOCOL-BYTES`, 'latin1'));
  }
  override connectionLost(reason: Failure) {
    this.lost = reason;
  }
}

function logged() {
  const publisher = new LogPublisher();
  const cap = captureLogs(publisher);
  return { logger: new Logger('spindle.http.proxy', publisher), events: cap.events };
}

describe('reverseProxy checks the upstream’s 101 (in memory)', () => {
  const run = (head: string, request = WS_REQUEST()) => {
    const { logger, events } = logged();
    const w = proxyWorld(() => new RawSwitcher(head), { logger });
    const c = w.client();
    c.send(request);
    w.settle();
    return { c, w, events };
  };

  it('a matching Sec-WebSocket-Accept is tunnelled: the client gets the 101 and the new protocol’s bytes', () => {
    const { c, events } = run(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}`,
    );
    expect(c.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(c.text).toContain(`\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n`);
    expect(c.text.endsWith('\r\n\r\nNEW-PROTOCOL-BYTES')).toBe(true);
    expect(events).toHaveLength(0);
    expect(RawSwitcher.last!.lost).toBeNull();
  });

  it.each([
    [
      'a wrong Sec-WebSocket-Accept',
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey('x')}`,
      /does not answer the client's Sec-WebSocket-Key/,
    ],
    ['no Sec-WebSocket-Accept', 'Upgrade: websocket\r\nConnection: Upgrade', /no Sec-WebSocket-Accept/],
    [
      'a protocol the client did not ask for',
      `Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}`,
      /switches to "h2c"/,
    ],
    [
      'a subprotocol not offered',
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat`,
      /subprotocol "chat"/,
    ],
  ])(
    '%s: 502 with a clear body, the upstream connection closed, its bytes never reach the client, the problem logged',
    (_, fieldLines, logged) => {
      const { c, w, events } = run(`HTTP/1.1 101 Switching Protocols\r\n${fieldLines}`);
      expect(c.text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(c.text.slice(c.text.indexOf('\r\n\r\n') + 4)).toBe(`${PROXY_ERROR_BODIES.badSwitch}\n`);
      expect(c.text).not.toContain('NEW-PROTOCOL-BYTES');
      expect(c.text).not.toMatch(/upstream\.test|Sec-WebSocket|ERR_/);
      expect(RawSwitcher.last!.lost).not.toBeNull();
      expect(w.upstreamPumps.every((p) => p.aTransport.lost && p.bTransport.lost)).toBe(true);
      // The client's connection stays open, an HTTP one.
      expect(c.lost).toBeNull();
      expect(events).toHaveLength(1);
      expect(events[0]!.level).toBe('warn');
      expect(events[0]!.status).toBe(502);
      expect(events[0]!.message).toMatch(logged);
      expect((events[0]!.failure as { value: { code: string } }).value.code).toBe('ERR_HTTP_PROTOCOL_SWITCH');
    },
  );
});

describe('real sockets: the ws client through reverseProxy to an upstream with a wrong Sec-WebSocket-Accept', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('the client gets 502 instead of a WebSocket; the upstream sees its connection closed', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    cleanups.push(() => reactor.stop());
    let upstreamClosed: () => void = () => {};
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    const upstream = net.createServer((sock) => {
      sock.once('data', () =>
        sock.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
        ),
      );
      sock.on('error', () => {});
      sock.on('close', () => upstreamClosed());
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => upstream.close(r)));
    const { logger } = logged();
    const app = reverseProxy(`http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`, { logger });
    const proxy = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
    cleanups.push(() => proxy.stopListening());
    // ws sends a fresh random key: the upstream's fixed accept answers RFC 6455's sample key, not it.
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.getHost().port}/ws`);
    ws.on('error', () => {});
    cleanups.push(() => ws.terminate());
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', reject);
    });
    expect(answer).toEqual({ status: 502, body: `${PROXY_ERROR_BODIES.badSwitch}\n` });
    await closed;
    ws.terminate();
    await settled(reactor);
  });
});
