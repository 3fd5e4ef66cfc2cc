/**
 * The client's protocol switch (RFC 9110 §7.8, §15.2.2): a request that sends
 * Upgrade and gets 101 hands its connection to another protocol through
 * `response.switchProtocols()`. Over a StringTransport fed at every split point,
 * and over loopback against spindle's own server answering with `request.upgrade()`.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readBody } from '../src/protocols/http/client/readbody.js';
import { ProtocolSwitchError, ResponseBodyConsumed, ResponseFailed } from '../src/protocols/http/client/errors.js';
import { CLIENT_READ_AHEAD_BYTES } from '../src/protocols/http/client/connection.js';
import type { IResponse } from '../src/protocols/http/client/interfaces.js';
import { CancelledError, ConnectionDone, ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { IProtocol, ITransport } from '../src/reactor/interfaces.js';
import { latin1, outcome, rawWorld, serverWorld, text } from './http-client-helpers.js';

/** A protocol that records what the switched connection gives it. */
class Recorder implements IProtocol {
  transport: ITransport | null = null;
  received = '';
  fin = false;
  lost: Failure | null = null;
  makeConnection(t: ITransport) {
    this.transport = t;
  }
  dataReceived(d: Uint8Array) {
    this.received += text(d);
  }
  readConnectionLost() {
    this.fin = true;
  }
  connectionLost(reason: Failure) {
    this.lost = reason;
  }
}

const HEAD = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
/** What the server's new protocol sends at once; it looks like HTTP on purpose. */
const REST = '\x81\x02hi\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
const UPGRADE = { Upgrade: 'websocket', Connection: 'keep-alive' };

/**
 * When the caller switches: in the response's callback (inside the parser pass that read
 * the 101), after the read that brought the head, or once every byte came.
 */
type SwitchWhen = 'in the callback' | 'after that read' | 'at the end';

/** Ask for a switch, feed `HEAD + REST` cut at `cuts`, switch `when`; then more bytes, FIN and the close. */
function switchAt(cuts: number[], when: SwitchWhen) {
  const w = rawWorld();
  const proto = new Recorder();
  const d = w.agent.request('GET', 'http://e.test/chat', UPGRADE);
  if (when === 'in the callback') d.addCallback((res) => (res.switchProtocols!(proto), res));
  const r = outcome(d);
  const { client, transport } = w.connect();
  const bytes = latin1(HEAD + REST);
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    client.dataReceived(bytes.subarray(prev, c));
    prev = c;
    if (when === 'after that read' && r.value && proto.transport === null) r.value.switchProtocols!(proto);
  }
  if (when === 'at the end') r.value!.switchProtocols!(proto);
  client.dataReceived(latin1('after'));
  const before = { received: proto.received, sameTransport: proto.transport === transport };
  client.readConnectionLost();
  client.connectionLost(new Failure(new ConnectionDone()));
  return { w, r, proto, transport, client, before };
}

describe('Agent: a request with Upgrade and a 101 answer', () => {
  it('sends Connection: Upgrade (the caller\u2019s Connection dropped) and no Connection: close', () => {
    for (const persistent of [true, false]) {
      const w = rawWorld({ persistent });
      w.agent.request('GET', 'http://e.test/chat', UPGRADE);
      const head = text(w.connect().transport.value());
      expect(head).toMatch(/\r\nUpgrade: websocket\r\n/);
      expect(head.match(/\r\nConnection: [^\r]*/g)).toEqual(['\r\nConnection: Upgrade']);
    }
  });

  it('switchProtocols() gives the transport and the bytes after the 101, at every split point', () => {
    const n = (HEAD + REST).length;
    const check = (cuts: number[], when: SwitchWhen) => {
      const { r, proto, w, transport, before } = switchAt(cuts, when);
      expect(r.value!.code).toBe(101);
      expect(r.value!.headers.get('upgrade')).toBe('websocket');
      expect(before).toEqual({ received: `${REST}after`, sameTransport: true });
      expect(proto.fin).toBe(true);
      expect(proto.lost?.check(ConnectionDone)).toBeTruthy();
      expect(transport.disconnecting).toBe(false);
      expect(w.pool.cachedCount()).toBe(0);
    };
    for (const when of ['in the callback', 'after that read', 'at the end'] as const) {
      check([], when);
      check([...Array(n).keys()].slice(1), when);
      for (let i = 1; i < n; i++) check([i], when);
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.integer({ min: 1, max: n - 1 }), { maxLength: 10 }).map((a) => a.sort((x, y) => x - y)),
          (cuts) => check(cuts, when),
        ),
        { numRuns: 100 },
      );
    }
  });

  it('the switched protocol writes to the server and the connection never returns to the pool', () => {
    const { w, client, transport } = (() => {
      const w = rawWorld();
      w.agent.request('GET', 'http://e.test/chat', UPGRADE).addCallback((res) => res.switchProtocols!(proto));
      const proto = new Recorder();
      const conn = w.connect();
      conn.client.dataReceived(latin1(HEAD));
      conn.transport.clear();
      proto.transport!.write(latin1('ping'));
      return { w, ...conn };
    })();
    expect(text(transport.value())).toBe('ping');
    expect(client.phase).toBe('switched');
    // The next request opens a new connection.
    w.agent.request('GET', 'http://e.test/');
    expect(w.reactor.tcpClients).toHaveLength(2);
  });

  it('a server that closes after the 101, before switchProtocols(): the protocol still gets the bytes, then the close', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/chat', UPGRADE));
    const { client } = w.connect();
    client.dataReceived(latin1(HEAD + 'bye'));
    client.connectionLost(new Failure(new ConnectionLost()));
    const proto = new Recorder();
    r.value!.switchProtocols!(proto);
    expect(proto.received).toBe('bye');
    expect(proto.lost?.check(ConnectionLost)).toBeTruthy();
  });

  it('bytes after the 101 are bounded before the switch: reading pauses at CLIENT_READ_AHEAD_BYTES', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/chat', UPGRADE));
    const { client, transport } = w.connect();
    client.dataReceived(latin1(HEAD));
    const piece = new Uint8Array(16 * 1024).fill(0x61);
    let fed = 0;
    while (transport.producerState === 'producing' && fed < 1 << 20) {
      client.dataReceived(piece);
      fed += piece.length;
    }
    expect(transport.producerState).toBe('paused');
    expect(fed).toBeLessThanOrEqual(CLIENT_READ_AHEAD_BYTES + piece.length);
    const proto = new Recorder();
    r.value!.switchProtocols!(proto);
    expect(proto.received.length).toBe(fed);
    expect(transport.producerState).toBe('producing');
  });
});

describe('Agent: a 101 where no switch can happen', () => {
  it('a 101 to a request without Upgrade fails it with ResponseFailed (ProtocolSwitchError) and aborts', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/'));
    const { client, transport } = w.connect();
    expect(text(transport.value())).not.toMatch(/Upgrade/);
    client.dataReceived(latin1(HEAD + REST));
    expect(r.error).toBeInstanceOf(ResponseFailed);
    const reason = (r.error as ResponseFailed).reasons[0];
    expect(reason).toBeInstanceOf(ProtocolSwitchError);
    expect((reason as ProtocolSwitchError).code).toBe('ERR_HTTP_PROTOCOL_SWITCH');
    expect(String((reason as Error).message)).toMatch(/did not ask for Upgrade/);
    expect(transport.aborted).toBe(true);
  });

  it('deliverBody() on a 101 gets an empty body and closes the connection', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/chat', UPGRADE));
    const { client, transport } = w.connect();
    client.dataReceived(latin1(HEAD + REST));
    const body = outcome(readBody(r.value!));
    expect(body.value).toEqual(new Uint8Array(0));
    expect(transport.aborted).toBe(true);
    client.connectionLost(new Failure(new ConnectionLost()));
    expect(() => r.value!.switchProtocols!(new Recorder())).toThrow(ResponseBodyConsumed);
  });

  it('switchProtocols() on a non-101 response throws ProtocolSwitchError; a second switch throws ResponseBodyConsumed', () => {
    const w = rawWorld();
    const r = outcome(w.agent.request('GET', 'http://e.test/chat', UPGRADE));
    const { client } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n'));
    expect(() => r.value!.switchProtocols!(new Recorder())).toThrow(ProtocolSwitchError);
    const w2 = rawWorld();
    const r2 = outcome(w2.agent.request('GET', 'http://e.test/chat', UPGRADE));
    w2.connect().client.dataReceived(latin1(HEAD));
    r2.value!.switchProtocols!(new Recorder());
    expect(() => r2.value!.switchProtocols!(new Recorder())).toThrow(ResponseBodyConsumed);
  });

  it('cancel() before the 101 aborts the connection as for any request', () => {
    const w = rawWorld({}, { timeout: 30 });
    const d = w.agent.request('GET', 'http://e.test/chat', UPGRADE);
    const r = outcome(d);
    const { client, transport } = w.connect();
    client.dataReceived(latin1('HTTP/1.1 101 Swi'));
    d.cancel();
    expect(r.error).toBeInstanceOf(CancelledError);
    expect(transport.aborted).toBe(true);
    client.connectionLost(new Failure(new ConnectionLost()));
    expect(w.reactor.getDelayedCalls()).toEqual([]);
  });

  it('an Upgrade request opens a fresh connection; a non-101 answer leaves it an ordinary keep-alive connection', () => {
    const w = rawWorld();
    const first = outcome(w.agent.request('GET', 'http://e.test/'));
    const a = w.connect();
    a.client.dataReceived(latin1('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    readBody(first.value!);
    expect(w.pool.cachedCount()).toBe(1);
    const r = outcome(w.agent.request('GET', 'http://e.test/chat', UPGRADE));
    expect(w.reactor.tcpClients).toHaveLength(2);
    const b = w.connect();
    b.client.dataReceived(latin1('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 4\r\n\r\nnope'));
    const body = outcome(readBody(r.value!));
    expect(text(body.value!)).toBe('nope');
    expect(w.pool.cachedCount()).toBe(2);
  });
});

describe('Agent ⇄ spindle server over loopback: request.upgrade() on one side, switchProtocols() on the other', () => {
  it('bytes flow both ways after the switch; the server\u2019s FIN and close reach the client protocol', () => {
    const serverSide: { got: string; t: ITransport | null } = { got: '', t: null };
    const w = serverWorld((req) => {
      expect(req.headers.get('connection')).toBe('Upgrade');
      req.setHeader('Upgrade', 'echo');
      req.setHeader('Connection', 'Upgrade');
      req.upgrade!({
        makeConnection: (t) => {
          serverSide.t = t;
          t.write(latin1('hello from the server'));
        },
        dataReceived: (d) => {
          serverSide.got += text(d);
          serverSide.t!.write(d);
        },
        connectionLost() {},
      });
    });
    const proto = new Recorder();
    let response: IResponse | null = null;
    w.agent.request('GET', 'http://e.test/echo', { Upgrade: 'echo' }).addCallback((res) => {
      response = res;
      res.switchProtocols!(proto);
    });
    w.settle();
    expect(response!.code).toBe(101);
    expect(response!.headers.get('upgrade')).toBe('echo');
    expect(proto.received).toBe('hello from the server');
    proto.transport!.write(latin1('ping'));
    w.settle();
    expect(serverSide.got).toBe('ping');
    expect(proto.received).toBe('hello from the serverping');
    serverSide.t!.loseConnection();
    w.settle();
    // The server's FIN reaches the protocol as a half-close; it closes its side in turn.
    expect(proto.fin).toBe(true);
    expect(proto.lost).toBe(null);
    proto.transport!.loseConnection();
    w.settle();
    expect(proto.lost?.check(ConnectionDone)).toBeTruthy();
    expect(w.open()).toBe(0);
  });
});
