/**
 * `request.upgrade(protocol)` (RFC 9110 §7.8): the HTTP server answers 101 and
 * hands the connection, with the bytes read past the head, to another protocol,
 * then forgets it. Requests whose Upgrade the app does not take are ordinary.
 */
import { describe, expect, it } from 'vitest';
import { Protocol } from '../src/protocols/protocol.js';
import { UpgradeError } from '../src/protocols/http/errors.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import type { Failure } from '../src/reactor/failure.js';
import { makeServer } from './http-channel-helpers.js';

class Recorder extends Protocol {
  received = '';
  lost: Failure | null = null;
  made = 0;
  override connectionMade(): void {
    this.made++;
  }
  override dataReceived(data: Uint8Array): void {
    this.received += Buffer.from(data).toString('latin1');
  }
  override connectionLost(reason: Failure): void {
    this.lost = reason;
  }
}

const UPGRADE_HEAD = 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';

function upgradingApp(proto: Recorder, when: 'sync' | 'later' = 'sync') {
  const pending: IRequest[] = [];
  const app = (request: IRequest): void => {
    if (request.headers.get('upgrade') !== 'echo') {
      request.write('plain');
      request.finish();
      return;
    }
    request.setHeader('Upgrade', 'echo');
    request.setHeader('Connection', 'Upgrade');
    if (when === 'sync') request.upgrade!(proto);
    else pending.push(request);
  };
  return { app, pending };
}

describe('request.upgrade()', () => {
  it('answers 101 with the headers set, then the protocol owns the connection', () => {
    const proto = new Recorder();
    const s = makeServer(upgradingApp(proto).app);
    s.send(UPGRADE_HEAD);
    expect(s.output()).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    expect(proto.made).toBe(1);
    expect(proto.transport).toBe(s.transport);
    s.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    // Not parsed as HTTP any more: the bytes are the new protocol's.
    expect(proto.received).toBe('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(s.output()).not.toContain('plain');
  });

  it('hands over the bytes read past the head, split anywhere, before later ones', () => {
    const wire = `${UPGRADE_HEAD}first-bytes`;
    for (let cut = 1; cut < wire.length; cut++) {
      const proto = new Recorder();
      const s = makeServer(upgradingApp(proto).app);
      s.send(wire.slice(0, cut));
      s.send(wire.slice(cut));
      s.send('|more');
      expect(proto.received).toBe('first-bytes|more');
    }
  });

  it('works when the app upgrades later, from outside the channel', () => {
    const proto = new Recorder();
    const { app, pending } = upgradingApp(proto, 'later');
    const s = makeServer(app);
    s.send(`${UPGRADE_HEAD}early`);
    expect(s.output()).toBe('');
    pending[0]!.upgrade!(proto);
    expect(s.output()).toMatch(/^HTTP\/1\.1 101 /);
    expect(proto.received).toBe('early');
  });

  it('forgets the connection: no idle or header timeout fires after the switch', () => {
    const proto = new Recorder();
    const s = makeServer(upgradingApp(proto).app, { idleTimeout: 5, headerTimeout: 5 });
    s.send(UPGRADE_HEAD);
    s.reactor.advance(3600);
    expect(s.transport.disconnecting).toBe(false);
    expect(s.reactor.getDelayedCalls()).toHaveLength(0);
    expect(s.factory.stats.timeouts).toBe(0);
  });

  it('passes the end of the connection to the protocol and frees the channel', () => {
    const proto = new Recorder();
    const s = makeServer(upgradingApp(proto).app);
    s.send(UPGRADE_HEAD);
    expect(s.factory.stats.openChannels).toBe(1);
    s.close(true);
    expect(proto.lost).not.toBeNull();
    expect(s.factory.stats.openChannels).toBe(0);
  });

  it('leaves reading on even when the channel had paused it', () => {
    const proto = new Recorder();
    const { app, pending } = upgradingApp(proto, 'later');
    const s = makeServer(app, { maxHeldInputBytes: 4 });
    s.send(`${UPGRADE_HEAD}0123456789`);
    expect(s.transport.producerState).toBe('paused');
    pending[0]!.upgrade!(proto);
    expect(s.transport.producerState).toBe('producing');
    expect(proto.received).toBe('0123456789');
  });

  it('answers a request whose Upgrade the app does not take as an ordinary request, and keeps the connection', () => {
    const proto = new Recorder();
    const s = makeServer(upgradingApp(proto).app);
    s.send(
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    s.reactor.advance(0);
    const rs = s.responses();
    expect(rs.map((r) => [r.status, r.body])).toEqual([
      [200, 'plain'],
      [200, 'plain'],
    ]);
    expect(proto.made).toBe(0);
  });

  it('refuses to upgrade after a write, on HTTP/1.0, or with a body, with UpgradeError', () => {
    const errors: unknown[] = [];
    const proto = new Recorder();
    const s = makeServer((request) => {
      if (request.uri === '/written') request.write('x');
      try {
        request.upgrade!(proto);
      } catch (err) {
        errors.push(err);
        if (!request.finished) request.finish();
      }
    });
    s.send('GET /written HTTP/1.1\r\nHost: x\r\n\r\n');
    s.send('POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx');
    s.reactor.advance(0);
    const s10 = makeServer((request) => {
      try {
        request.upgrade!(proto);
      } catch (err) {
        errors.push(err);
        request.finish();
      }
    });
    s10.send('GET / HTTP/1.0\r\n\r\n');
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e).toBeInstanceOf(UpgradeError);
    expect((errors[0] as UpgradeError).code).toBe('ERR_HTTP_UPGRADE');
    expect(proto.made).toBe(0);
  });
});
