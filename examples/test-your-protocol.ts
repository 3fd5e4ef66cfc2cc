/**
 * Testing your own protocol with no sockets and no sleeping: StringTransport
 * records what the protocol writes, Clock moves time by hand (both from
 * spindle/testing, the one import a test needs). The protocol: a line-based
 * key-value store that hangs up on idle clients (TimeoutMixin's idle timer).
 *
 *     node --import tsx examples/test-your-protocol.ts   (runs the checks; vitest runs
 *     them too, in test/examples-protocol.test.ts)
 */
import assert from 'node:assert/strict';
import { Factory, LineReceiver, TimeoutMixin } from '../src/index.js'; // 'spindle'
import type { IReactorTime } from '../src/index.js';
import { Clock, StringTransport } from '../src/testing/index.js'; // 'spindle/testing'

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

export class KVProtocol extends TimeoutMixin(LineReceiver<KVFactory>) {
  override connectionMade(): void {
    this.clock = this.factory!.clock;
    this.setTimeout(IDLE_TIMEOUT);
  }

  override lineReceived(line: string): void {
    this.resetTimeout(); // every line counts as activity
    const [command, key, ...rest] = line.split(' ');
    if (command === 'SET' && key && rest.length > 0) {
      this.factory!.store.set(key, rest.join(' '));
      this.sendLine('OK');
    } else if (command === 'GET' && key) {
      const value = this.factory!.store.get(key);
      this.sendLine(value === undefined ? 'NOT_FOUND' : `VALUE ${value}`);
    } else this.sendLine(`ERROR unknown command: ${command}`);
  }

  /** The idle timer fired (TimeoutMixin cancels it when the connection closes). */
  override timeoutConnection(): void {
    this.sendLine('BYE idle');
    super.timeoutConnection();
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
  'answers SET, GET and unknown commands, even fed one byte at a time': () => {
    const { protocol, transport } = connect();
    for (const byte of new TextEncoder().encode('SET colour blue\r\nGET colour\r\nGET size\r\nDEL x\r\n'))
      protocol.dataReceived(Uint8Array.of(byte));
    assert.equal(transport.valueString(), 'OK\r\nVALUE blue\r\nNOT_FOUND\r\nERROR unknown command: DEL\r\n');
    assert.equal(transport.disconnecting, false);
  },
  'an idle client gets BYE after IDLE_TIMEOUT, and each line restarts the timer': () => {
    const { clock, protocol, transport } = connect();
    clock.advance(IDLE_TIMEOUT - 1);
    protocol.dataReceived(new TextEncoder().encode('GET a\r\n'));
    clock.advance(IDLE_TIMEOUT - 0.5); // 0.5 s short of the restarted timer
    assert.equal(transport.disconnecting, false);
    clock.advance(0.5);
    assert.equal(transport.valueString(), 'NOT_FOUND\r\nBYE idle\r\n');
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
