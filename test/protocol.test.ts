import { describe, expect, it } from 'vitest';
import { Clock } from '../src/reactor/clock.js';
import { ConnectionRefusedError, ConnectorStateError } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import type { IAddress, IConnector } from '../src/reactor/interfaces.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { NoClockError, NoProtocolError } from '../src/protocols/errors.js';
import { Factory, Protocol, ReconnectingClientFactory } from '../src/protocols/protocol.js';

const addr: IAddress = { host: '127.0.0.1', port: 1234 };

class Greeter extends Protocol<GreeterFactory> {
  override connectionMade(): void {
    this.transport.write(new TextEncoder().encode(`${this.factory!.greeting}\n`));
  }
}
class GreeterFactory extends Factory {
  constructor(readonly greeting: string) {
    super();
  }
}

describe('Protocol and Factory', () => {
  it('makeConnection sets transport and connected, then calls connectionMade', () => {
    const p = new Greeter();
    p.factory = new GreeterFactory('hi');
    const t = new StringTransport();
    expect(p.connected).toBe(false);
    p.makeConnection(t);
    expect(p.connected).toBe(true);
    expect(p.transport).toBe(t);
    expect(t.valueString()).toBe('hi\n');
  });

  it('forProtocol builds the factory with its arguments; buildProtocol sets p.factory', () => {
    const f = GreeterFactory.forProtocol(Greeter, 'hello');
    expect(f).toBeInstanceOf(GreeterFactory);
    const p = f.buildProtocol(addr) as Greeter;
    expect(p).toBeInstanceOf(Greeter);
    expect(p.factory).toBe(f);
    const t = new StringTransport();
    p.makeConnection(t);
    expect(t.valueString()).toBe('hello\n');
  });

  it('a factory without a protocol class says how to set one', () => {
    expect(() => new Factory().buildProtocol(addr)).toThrow(NoProtocolError);
    expect(() => new Factory().buildProtocol(addr)).toThrow(/Factory.forProtocol/);
  });

  it('startFactory/stopFactory run once however many ports use the factory', () => {
    const f = new Factory();
    const events: string[] = [];
    f.startFactory = () => void events.push('start');
    f.stopFactory = () => void events.push('stop');
    f.doStart();
    f.doStart();
    f.doStop();
    expect(events).toEqual(['start']);
    f.doStop();
    expect(events).toEqual(['start', 'stop']);
    f.doStop(); // unbalanced: ignored (and logged), never negative
    expect(f.numPorts).toBe(0);
  });
});

class FakeConnector implements IConnector {
  connects = 0;
  stops = 0;
  connecting = false;
  connect(): void {
    this.connects++;
    this.connecting = true;
  }
  stopConnecting(): void {
    if (!this.connecting) throw new ConnectorStateError('not connecting');
    this.connecting = false;
    this.stops++;
  }
  disconnect(): void {}
  getDestination(): IAddress {
    return addr;
  }
}

const refused = new Failure(new ConnectionRefusedError('127.0.0.1', 1234));

describe('ReconnectingClientFactory', () => {
  it('retries with exponential backoff on the injected clock, capped at maxDelay', () => {
    const f = ReconnectingClientFactory.forProtocol(Protocol);
    f.clock = new Clock();
    f.jitter = 0;
    f.maxDelay = 20;
    const c = new FakeConnector();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      f.clientConnectionFailed(c, refused);
      delays.push(f.delay);
      const before = c.connects;
      (f.clock as Clock).advance(f.delay - 0.001);
      expect(c.connects).toBe(before);
      (f.clock as Clock).advance(0.002);
      expect(c.connects).toBe(before + 1);
    }
    expect(delays.map((d) => +d.toFixed(4))).toEqual([2.7183, 7.3891, 20, 20, 20]);
    expect(f.retries).toBe(5);
  });

  it('jitter spreads the delay around the backoff value', () => {
    const f = ReconnectingClientFactory.forProtocol(Protocol);
    f.clock = new Clock();
    let k = 0;
    const uniforms = [0.9, 0.0, 0.2, 0.5];
    f.random = () => uniforms[k++ % uniforms.length]!;
    f.clientConnectionFailed(new FakeConnector(), refused);
    expect(f.delay).not.toBeCloseTo(Math.E, 3);
    expect(Math.abs(f.delay - Math.E)).toBeLessThan(Math.E * f.jitter * 4);
  });

  it('a successful connection (buildProtocol) resets the delay; maxRetries gives up', () => {
    const f = ReconnectingClientFactory.forProtocol(Protocol);
    const clock = new Clock();
    f.clock = clock;
    f.jitter = 0;
    f.maxRetries = 2;
    const c = new FakeConnector();
    f.clientConnectionFailed(c, refused);
    f.clientConnectionFailed(c, refused);
    expect(f.retries).toBe(2);
    f.buildProtocol(addr);
    expect(f.delay).toBe(1);
    expect(f.retries).toBe(0);
    f.clientConnectionLost(c, refused);
    f.clientConnectionLost(c, refused);
    f.clientConnectionLost(c, refused); // third in a row: over maxRetries
    clock.advance(10_000);
    expect(c.connects).toBe(4);
  });

  it('stopTrying cancels the scheduled retry and stops an attempt in progress', () => {
    const f = ReconnectingClientFactory.forProtocol(Protocol);
    const clock = new Clock();
    f.clock = clock;
    const c = new FakeConnector();
    f.clientConnectionFailed(c, refused);
    expect(clock.getDelayedCalls()).toHaveLength(1);
    c.connecting = true;
    f.stopTrying();
    expect(clock.getDelayedCalls()).toHaveLength(0);
    expect(c.stops).toBe(1);
    f.clientConnectionLost(c, refused);
    clock.advance(10_000);
    expect(c.connects).toBe(0);
  });

  it('refuses to retry without a clock, saying how to give it one', () => {
    const f = ReconnectingClientFactory.forProtocol(Protocol);
    expect(() => f.clientConnectionFailed(new FakeConnector(), refused)).toThrow(NoClockError);
  });
});
