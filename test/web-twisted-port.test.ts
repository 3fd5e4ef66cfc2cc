/**
 * examples/twisted-web-port.ts driven by hand: the "Interrupted Responses"
 * resource answers after its delay on the reactor's clock, and a client that
 * goes away first cancels the pending call (nothing is written).
 */
import { describe, expect, it } from 'vitest';
import type { MemoryReactor } from '../src/index.js';
import { DummyRequest } from '../src/testing/index.js';
import { app, DELAY } from '../examples/twisted-web-port.js';

describe('examples/twisted-web-port.ts', () => {
  it('/delayed answers after DELAY seconds on the reactor clock', () => {
    const r = new DummyRequest({ uri: '/delayed' });
    app(r);
    const clock = (r.reactor as MemoryReactor).clock;
    clock.advance(DELAY - 0.1);
    expect(r.finished).toBe(false);
    clock.advance(0.1);
    expect([r.finished, r.text()]).toEqual([true, '<html><body>Sorry to keep you waiting.</body></html>']);
  });

  it('a client that goes away cancels the delayed call', () => {
    const r = new DummyRequest({ uri: '/delayed' });
    app(r);
    const clock = (r.reactor as MemoryReactor).clock;
    expect(clock.getDelayedCalls()).toHaveLength(1);
    r.loseConnection();
    expect(clock.getDelayedCalls()).toHaveLength(0);
    clock.advance(DELAY);
    expect(r.written).toHaveLength(0);
  });

  it('the form echoes the field escaped', () => {
    const r = new DummyRequest({ method: 'POST', uri: '/form', body: 'the-field=a%26b' });
    app(r);
    expect(r.text()).toBe('<html><body>You submitted: a&#38;b</body></html>');
  });
});
