import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryReactor, MEMORY_REACTOR_FIRST_PORT } from '../src/reactor/memoryreactor.js';
import { Deferred } from '../src/reactor/deferred.js';
import { captureLogs } from '../src/reactor/log.js';
import { ReactorAlreadyRunning, ReactorNotRunning } from '../src/reactor/errors.js';
import { InvalidArgumentError } from '../src/reactor/errors.js';
import type { IClientFactory, IProtocolFactory } from '../src/reactor/interfaces.js';

const serverFactory: IProtocolFactory = { buildProtocol: () => null, doStart() {}, doStop() {} };
const clientFactory: IClientFactory = {
  ...serverFactory,
  startedConnecting() {},
  clientConnectionFailed() {},
  clientConnectionLost() {},
};

let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.restore());

describe('MemoryReactor time', () => {
  it('delegates time to its clock', () => {
    const r = new MemoryReactor();
    const ran: number[] = [];
    const call = r.callLater(2, () => ran.push(r.seconds()));
    expect(r.getDelayedCalls()).toEqual([call]);
    expect(r.clock.getDelayedCalls()).toEqual([call]);
    r.advance(1);
    r.pump([0.5, 0.5]);
    expect(ran).toEqual([2]);
    expect(r.seconds()).toBe(2);
  });
});

describe('MemoryReactor run and stop', () => {
  it('fires startup triggers before/during/after, then callWhenRunning calls, synchronously', () => {
    const r = new MemoryReactor();
    const order: string[] = [];
    r.callWhenRunning(() => order.push(`cwr running=${r.running}`));
    r.addSystemEventTrigger('after', 'startup', () => order.push('after'));
    r.addSystemEventTrigger('during', 'startup', () => order.push('during'));
    r.addSystemEventTrigger('before', 'startup', (x: string) => order.push(x), 'before');
    expect(r.running).toBe(false);
    r.run();
    expect(order).toEqual(['before', 'during', 'cwr running=true', 'after']);
    expect(r.running).toBe(true);
    r.callWhenRunning(() => order.push('now'));
    expect(order.at(-1)).toBe('now');
  });

  it('fires shutdown triggers in phase order and ends with running false', () => {
    const r = new MemoryReactor();
    const order: string[] = [];
    r.addSystemEventTrigger('after', 'shutdown', () => order.push(`after running=${r.running}`));
    r.addSystemEventTrigger('during', 'shutdown', () => order.push('during'));
    r.addSystemEventTrigger('before', 'shutdown', () => order.push('before'));
    r.run();
    let stopped = false;
    r.stop().addCallback(() => {
      stopped = true;
      order.push(`stopped running=${r.running}`);
    });
    expect(stopped).toBe(true);
    expect(order).toEqual(['before', 'during', 'after running=true', 'stopped running=false']);
  });

  it('a before-shutdown Deferred holds back the later phases until it fires', () => {
    const r = new MemoryReactor();
    const order: string[] = [];
    const held = new Deferred<void>();
    r.addSystemEventTrigger('before', 'shutdown', () => held);
    r.addSystemEventTrigger('before', 'shutdown', () => order.push('before 2'));
    r.addSystemEventTrigger('during', 'shutdown', () => order.push('during'));
    r.run();
    let stopped = false;
    r.stop().addCallback(() => void (stopped = true));
    expect(order).toEqual(['before 2']);
    expect(r.running).toBe(true);
    held.callback(undefined);
    expect(order).toEqual(['before 2', 'during']);
    expect(stopped).toBe(true);
    expect(r.running).toBe(false);
  });

  it('a before-shutdown Deferred that never fires is given up on after the timeout', () => {
    const r = new MemoryReactor({ shutdownTimeout: 5 });
    r.addSystemEventTrigger('before', 'shutdown', () => new Deferred<void>());
    r.run();
    let stopped = false;
    r.stop().addCallback(() => void (stopped = true));
    r.advance(4.9);
    expect(stopped).toBe(false);
    r.advance(0.1);
    expect(stopped).toBe(true);
    expect(logs.events.some((e) => e.level === 'warn' && /did not finish within 5 s/.test(e.message))).toBe(true);
    expect(r.getDelayedCalls()).toEqual([]);
  });

  it('a trigger that throws or fails is logged and the rest still run', () => {
    const r = new MemoryReactor();
    const order: string[] = [];
    r.addSystemEventTrigger('before', 'shutdown', function broken() {
      throw new Error('trigger boom');
    });
    r.addSystemEventTrigger('before', 'shutdown', () => {
      const d = new Deferred<void>();
      d.errback(new Error('deferred boom'));
      return d;
    });
    r.addSystemEventTrigger('during', 'shutdown', () => order.push('during'));
    r.run();
    let stopped = false;
    r.stop().addCallback(() => void (stopped = true));
    expect(stopped).toBe(true);
    expect(order).toEqual(['during']);
    const messages = logs.events.map((e) => `${e.message} ${e.failure?.getErrorMessage() ?? ''}`);
    expect(messages.some((m) => m.includes('broken') && m.includes('trigger boom'))).toBe(true);
    expect(messages.some((m) => m.includes('deferred boom'))).toBe(true);
  });

  it('stopping twice returns the same Deferred and runs the triggers once', () => {
    const r = new MemoryReactor();
    let count = 0;
    const held = new Deferred<void>();
    r.addSystemEventTrigger('before', 'shutdown', () => held);
    r.addSystemEventTrigger('during', 'shutdown', () => count++);
    r.run();
    const first = r.stop();
    expect(r.stop()).toBe(first);
    held.callback(undefined);
    expect(r.stop()).toBe(first);
    expect(count).toBe(1);
  });

  it('removed triggers do not fire; removing one twice is an error', () => {
    const r = new MemoryReactor();
    const order: string[] = [];
    const id = r.addSystemEventTrigger('during', 'shutdown', () => order.push('removed'));
    r.addSystemEventTrigger('during', 'shutdown', () => order.push('kept'));
    r.removeSystemEventTrigger(id);
    expect(() => r.removeSystemEventTrigger(id)).toThrow(InvalidArgumentError);
    r.run();
    r.stop();
    expect(order).toEqual(['kept']);
  });

  it('run twice and stop before run throw typed errors', () => {
    const r = new MemoryReactor();
    expect(() => r.stop()).toThrow(ReactorNotRunning);
    r.run();
    expect(() => r.run()).toThrow(ReactorAlreadyRunning);
    expect(() => r.run()).toThrow(expect.objectContaining({ code: 'ERR_REACTOR_ALREADY_RUNNING' }));
  });

  it('stop() during a held startup waits for startup to finish first', () => {
    const r = new MemoryReactor();
    const order: string[] = [];
    const held = new Deferred<void>();
    r.addSystemEventTrigger('before', 'startup', () => held);
    r.callWhenRunning(() => order.push('running'));
    r.addSystemEventTrigger('during', 'shutdown', () => order.push('shutdown'));
    r.run();
    let stopped = false;
    r.stop().addCallback(() => void (stopped = true));
    expect(order).toEqual([]);
    held.callback(undefined);
    expect(order).toEqual(['running', 'shutdown']);
    expect(stopped).toBe(true);
  });

  it('stop does not cancel the calls the user scheduled', () => {
    const r = new MemoryReactor();
    const ran: string[] = [];
    r.callLater(1, () => ran.push('mine'));
    r.run();
    r.stop();
    r.advance(1);
    expect(ran).toEqual(['mine']);
  });
});

describe('MemoryReactor TCP', () => {
  it('records listenTCP calls and returns a fired Deferred of a fake port', () => {
    const r = new MemoryReactor();
    let port = -1;
    r.listenTCP(8080, serverFactory, { host: '127.0.0.1', backlog: 10 }).addCallback(
      (p) => void (port = p.getHost().port),
    );
    expect(port).toBe(8080);
    let fresh = -1;
    r.listenTCP(0, serverFactory).addCallback((p) => void (fresh = p.getHost().port));
    expect(fresh).toBe(MEMORY_REACTOR_FIRST_PORT);
    expect(r.tcpServers.map(({ port, factory, backlog, host }) => ({ port, factory, backlog, host }))).toEqual([
      { port: 8080, factory: serverFactory, backlog: 10, host: '127.0.0.1' },
      { port: 0, factory: serverFactory, backlog: undefined, host: undefined },
    ]);
    expect(r.stats.listeningPorts).toBe(2);
    let closed = false;
    r.tcpServers[0]!.listeningPort.stopListening().addCallback(() => void (closed = true));
    r.tcpServers[0]!.listeningPort.stopListening();
    expect(closed).toBe(true);
    expect(r.stats.listeningPorts).toBe(1);
  });

  it('records connectTCP calls with the default timeout and returns a fake connector', () => {
    const r = new MemoryReactor();
    const c = r.connectTCP('example.org', 443, clientFactory);
    r.connectTCP('10.0.0.1', 80, clientFactory, { timeout: 3 });
    expect(c.getDestination()).toEqual({ host: 'example.org', port: 443, family: 'IPv4' });
    expect(r.tcpClients.map(({ host, port, factory, timeout }) => ({ host, port, factory, timeout }))).toEqual([
      { host: 'example.org', port: 443, factory: clientFactory, timeout: 30 },
      { host: '10.0.0.1', port: 80, factory: clientFactory, timeout: 3 },
    ]);
    c.stopConnecting();
    expect(r.tcpClients[0]!.connector.state).toBe('disconnected');
    c.connect();
    expect(r.tcpClients[0]!.connector.connectCount).toBe(2);
  });
});

describe('MemoryReactor TLS and Unix sockets', () => {
  it('records listenTLS/connectTLS and listenUNIX/connectUNIX as it records TCP, with their options', () => {
    const r = new MemoryReactor();
    const f = serverFactory;
    const cf = clientFactory;
    let tlsPort = 0;
    r.listenTLS(0, f, { key: 'k', cert: 'c', host: '127.0.0.1' }).addCallback((p) => void (tlsPort = p.getHost().port));
    expect(tlsPort).toBe(MEMORY_REACTOR_FIRST_PORT);
    r.connectTLS('example.org', 443, cf, { ca: 'ca', timeout: 5 });
    let unixHost: unknown = null;
    r.listenUNIX('/run/app.sock', f, { mode: 0o660 }).addCallback((p) => void (unixHost = p.getHost()));
    expect(unixHost).toEqual({ host: '', port: 0, family: 'unix', path: '/run/app.sock' });
    r.connectUNIX('/run/app.sock', cf);
    expect(r.tlsServers).toHaveLength(1);
    expect(r.tlsServers[0]).toMatchObject({ port: 0, factory: f, host: '127.0.0.1', options: { key: 'k', cert: 'c' } });
    expect(r.tlsClients[0]).toMatchObject({
      host: 'example.org',
      port: 443,
      factory: cf,
      timeout: 5,
      options: { ca: 'ca' },
    });
    expect(r.unixServers[0]).toMatchObject({ path: '/run/app.sock', factory: f, mode: 0o660 });
    expect(r.unixClients[0]).toMatchObject({ path: '/run/app.sock', factory: cf, timeout: 30 });
    expect(r.unixClients[0]!.connector.getDestination()).toEqual({
      host: '',
      port: 0,
      family: 'unix',
      path: '/run/app.sock',
    });
    expect(r.stats.listeningPorts).toBe(2);
    void r.unixServers[0]!.listeningPort.stopListening();
    void r.tlsServers[0]!.listeningPort.stopListening();
    expect(r.stats.listeningPorts).toBe(0);
    expect(r.tcpServers).toHaveLength(0);
  });
});
