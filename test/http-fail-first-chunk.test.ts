/**
 * Issue 12, item 6: an iterator app that fails in the same turn as its first
 * chunk (`yield 'a'; throw ...`). The server still held that chunk (it
 * coalesces output while it drives the app), so no byte had reached the
 * client: the client gets the server's 500 (not a reset with no status), the
 * access log gets its line, and the response is not counted in flight.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import type { Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { startServer } from '../src/cli/serve.js';
import type { CpsApp, IRequest } from '../src/protocols/http/interfaces.js';
import { captureLogs, Logger, LogPublisher } from '../src/reactor/log.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { makeServer } from './http-channel-helpers.js';

const failsWithFirstChunk: IterApp = function* (_environ: Environ, startResponse: StartResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  yield 'a';
  throw new Error('failed right after the first chunk');
};

let logs = captureLogs();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  logs.restore();
  logs = captureLogs();
});

describe('an iterator app that throws in the same turn as its first chunk', () => {
  it('spindle server: the client gets a complete 500 with Connection: close, an access-log line, and the response counts as done', () => {
    const publisher = new LogPublisher();
    const lines: string[] = [];
    publisher.addObserver((e) => void lines.push(e.message));
    let outcome = 'pending';
    let gateway!: CpsApp;
    const s = makeServer(
      (req: IRequest) => {
        req.notifyFinish().addCallbacks(
          () => void (outcome = 'finished'),
          () => void (outcome = 'lost'),
        );
        return gateway(req);
      },
      { accessLog: new Logger('access', publisher) },
    );
    gateway = toCpsApp(failsWithFirstChunk, { reactor: s.reactor });
    s.send('GET /fails HTTP/1.1\r\nHost: x\r\n\r\n');
    s.reactor.advance(0);
    const [r] = s.responses();
    expect(r).toMatchObject({ status: 500 });
    expect(r!.headers['connection']).toBe('close');
    expect(s.transport.aborted).toBe(false);
    expect(s.transport.disconnecting).toBe(true);
    expect(outcome).toBe('finished');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/"GET \/fails HTTP\/1\.1" 500 \d+$/);
    expect(s.factory.stats).toMatchObject({ responses: 1, aborted: 0 });
    expect(logs.events.some((e) => e.level === 'error' && /iterator app failed/.test(e.message))).toBe(true);
  });

  it('a CPS app that flushes its headers and fails in one call gets a 500 too (nothing had left the server)', () => {
    const s = makeServer((req: IRequest) => {
      req.flushHeaders();
      throw new Error('failed after flushHeaders');
    });
    s.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(s.responses()[0]).toMatchObject({ status: 500 });
    expect(s.transport.aborted).toBe(false);
  });

  it('a failure after the head reached the transport still aborts (the client must not wait for more)', () => {
    let req!: IRequest;
    const s = makeServer((r: IRequest) => {
      req = r;
      r.write('partial');
    });
    s.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(req.startedWriting).toBe(true);
    req.abort();
    expect(s.transport.aborted).toBe(true);
    expect(s.output()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*partial/);
  });

  it('under the CLI over TCP: a 500, one access-log line, and nothing left in flight', async () => {
    const reactor = new NodeReactor();
    const lines: string[] = [];
    const server = await startServer(
      { app: failsWithFirstChunk as never, style: 'iter', path: '', url: '', exportName: 'app' },
      {
        module: '',
        exportName: 'app',
        style: 'iter',
        port: 0,
        host: '127.0.0.1',
        threads: undefined,
        processes: undefined,
        accessLog: '-',
        logFormat: 'text',
      },
      { reactor, accessLine: (line) => void lines.push(line) },
    );
    reactor.run();
    cleanups.push(() => reactor.stop());
    const text = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(server.address.port, '127.0.0.1');
      let got = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => (got += d));
      sock.on('error', reject);
      sock.on('close', () => resolve(got));
      sock.write('GET /fails HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(text).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    expect(server.inFlight()).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/"GET \/fails HTTP\/1\.1" 500 /);
    const drained = await server.drain();
    expect(drained).toEqual({ drained: true, left: 0 });
  });
});
