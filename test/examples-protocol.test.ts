/**
 * The checks of examples/test-your-protocol.ts, under vitest: the example
 * shows how to test a protocol with StringTransport and Clock, and this keeps
 * the example honest.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionDone, Failure } from '../src/index.js';
import { IDLE_TIMEOUT, checks, connect } from '../examples/test-your-protocol.js';

describe('examples/test-your-protocol.ts', () => {
  for (const [name, check] of Object.entries(checks)) it(name, check);

  it('a closed connection cancels its idle timer', () => {
    const { clock, protocol, transport } = connect();
    expect(clock.getDelayedCalls()).toHaveLength(1);
    protocol.connectionLost(new Failure(new ConnectionDone()));
    expect(clock.getDelayedCalls()).toHaveLength(0);
    clock.advance(IDLE_TIMEOUT);
    expect(transport.valueString()).toBe('');
  });
});
