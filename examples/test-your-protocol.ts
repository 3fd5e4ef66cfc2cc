/**
 * Testing your own protocol with no sockets and no sleeping: StringTransport
 * records what the protocol writes, Clock moves time by hand. The protocol is
 * a tiny line-based key-value store that hangs up on idle clients.
 *
 *     npx tsx examples/test-your-protocol.ts       (runs the checks below)
 *
 * test/examples-protocol.test.ts runs the same checks under vitest.
 */
import assert from 'node:assert/strict';
import { LineReceiver } from '../src/protocols/linereceiver.js';
import { Factory } from '../src/protocols/protocol.js';
import { Clock } from '../src/reactor/clock.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import type { IDelayedCall, IReactorTime } from '../src/reactor/interfaces.js';

/** Seconds of silence before the server says BYE and closes. */
export const IDLE_TIMEOUT = 30;

export class KVFactory extends Factory {
  readonly store = new Map<string, string>();
  // Time is injected: the real reactor in production, a Clock in tests.
  constructor(readonly clock: IReactorTime) {
    super();
    this.protocol = KVProtocol;
  }
}

export class KVProtocol extends LineReceiver<KVFactory> {
  private idle: IDelayedCall | undefined;

  override connectionMade(): void {
    this.touch();
  }

  override lineReceived(line: string): void {
    this.touch();
    const [command, key, ...rest] = line.split(' ');
    if (command === 'SET' && key && rest.length > 0) {
      this.factory!.store.set(key, rest.join(' '));
      this.sendLine('OK');
    } else if (command === 'GET' && key) {
      const value = this.factory!.store.get(key);
      this.sendLine(value === undefined ? 'NOT_FOUND' : `VALUE ${value}`);
    } else this.sendLine(`ERROR unknown command: ${command}`);
  }

  override connectionLost(): void {
    if (this.idle?.active()) this.idle.cancel();
  }

  /** (Re)start the idle timer: any line from the client counts as activity. */
  private touch(): void {
    if (this.idle?.active()) this.idle.reset(IDLE_TIMEOUT);
    else
      this.idle = this.factory!.clock.callLater(IDLE_TIMEOUT, () => {
        this.sendLine('BYE idle');
        this.transport.loseConnection();
      });
  }
}

/** A protocol connected to a StringTransport, on a fresh Clock. */
export function connect() {
  const clock = new Clock();
  const protocol = new KVFactory(clock).buildProtocol({ host: '192.0.2.1', port: 5000 }) as KVProtocol;
  const transport = new StringTransport();
  protocol.makeConnection(transport);
  return { clock, protocol, transport };
}

export const checks: Record<string, () => void> = {
  'SET then GET answers the value, even one byte at a time': () => {
    const { protocol, transport } = connect();
    for (const byte of new TextEncoder().encode('SET colour blue\r\nGET colour\r\nGET size\r\n')) protocol.dataReceived(Uint8Array.of(byte));
    assert.equal(transport.valueString(), 'OK\r\nVALUE blue\r\nNOT_FOUND\r\n');
  },
  'an unknown command gets an error, not a hang-up': () => {
    const { protocol, transport } = connect();
    protocol.dataReceived(new TextEncoder().encode('DELETE x\r\n'));
    assert.equal(transport.valueString(), 'ERROR unknown command: DELETE\r\n');
    assert.equal(transport.disconnecting, false);
  },
  'an idle client is told BYE and disconnected after IDLE_TIMEOUT': () => {
    const { clock, transport } = connect();
    clock.advance(IDLE_TIMEOUT - 0.001);
    assert.equal(transport.disconnecting, false);
    clock.advance(0.001);
    assert.equal(transport.valueString(), 'BYE idle\r\n');
    assert.equal(transport.disconnecting, true);
  },
  'each line restarts the idle timer': () => {
    const { clock, protocol, transport } = connect();
    clock.advance(IDLE_TIMEOUT - 1);
    protocol.dataReceived(new TextEncoder().encode('GET a\r\n'));
    clock.advance(IDLE_TIMEOUT - 1);
    assert.equal(transport.disconnecting, false);
    clock.advance(1);
    assert.equal(transport.disconnecting, true);
  },
};

// Run the checks when executed directly (not when imported by the vitest file).
if (import.meta.url === new URL(process.argv[1] ?? '', 'file:').href) {
  for (const [name, check] of Object.entries(checks)) {
    check();
    console.log(`ok - ${name}`);
  }
}
