import { afterEach, describe, expect, it } from 'vitest';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { getReactor } from '../src/reactor/shared.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import { serve } from '../src/bridge/serve.js';

const ports: IListeningPort[] = [];
afterEach(async () => {
  for (const p of ports.splice(0)) await p.stopListening();
});

async function fetchText(
  port: IListeningPort,
  path = '/',
  init?: RequestInit,
): Promise<{ status: number; body: string; type: string | null }> {
  const { host, port: n } = port.getHost();
  const res = await fetch(`http://${host}:${n}${path}`, init);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

const iterApp: IterApp = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [`iter ${environ.REQUEST_METHOD} ${environ.PATH_INFO}`];
};
const cpsApp: CpsApp = (req) => {
  req.setHeader('Content-Type', 'text/plain');
  req.write(`cps ${req.method} ${req.path}`);
  req.finish();
};
const fetchApp = async (request: Request): Promise<Response> =>
  new Response(`fetch ${request.method} ${new URL(request.url).pathname} ${await request.text()}`, {
    headers: { 'Content-Type': 'text/plain' },
  });

describe('serve(app, { style, port, host, reactor })', () => {
  it("serves each style on spindle's HTTP server over real TCP", async () => {
    const reactor = new NodeReactor();
    for (const [app, style, expected] of [
      [iterApp, 'iter', 'iter GET /x'],
      [cpsApp, 'cps', 'cps GET /x'],
      [fetchApp, 'fetch', 'fetch GET /x '],
    ] as const) {
      const port = await serve(app as never, { style, port: 0, reactor });
      ports.push(port);
      expect(port.getHost().host).toBe('127.0.0.1');
      expect(await fetchText(port, '/x')).toEqual({ status: 200, body: expected, type: 'text/plain' });
    }
  });

  it('streams an upload to a Fetch handler', async () => {
    const port = await serve(fetchApp, { style: 'fetch', port: 0, reactor: new NodeReactor() });
    ports.push(port);
    expect((await fetchText(port, '/up', { method: 'POST', body: 'x'.repeat(100_000) })).body).toBe(
      `fetch POST /up ${'x'.repeat(100_000)}`,
    );
  });

  it('passes port, host, backlog and HTTP options to listenTCP and HTTPFactory', () => {
    const reactor = new MemoryReactor();
    serve(cpsApp, { style: 'cps', port: 8123, host: '::1', backlog: 7, reactor, maxBodyBytes: 10 });
    const [server] = reactor.tcpServers;
    expect([server!.port, server!.host, server!.backlog]).toEqual([8123, '::1', 7]);
    expect(server!.factory).toBeInstanceOf(HTTPFactory);
    expect((server!.factory as HTTPFactory).app).toBe(cpsApp);
  });

  it('binds 127.0.0.1 by default, never all interfaces by surprise', () => {
    const reactor = new MemoryReactor();
    serve(iterApp, { style: 'iter', port: 0, reactor });
    expect(reactor.tcpServers[0]!.host).toBe('127.0.0.1');
  });

  it('falls back to the shared reactor when none is given (the one-call entry point)', async () => {
    const port = await serve(cpsApp, { style: 'cps', port: 0 });
    ports.push(port);
    expect(getReactor().stats.listeningPorts).toBeGreaterThan(0);
    expect((await fetchText(port, '/shared')).body).toBe('cps GET /shared');
  });

  it('rejects an unknown style with a typed error naming the three', () => {
    expect(() => serve(cpsApp, { style: 'wsgi' as never, port: 0, reactor: new MemoryReactor() })).toThrow(
      expect.objectContaining({
        code: 'ERR_BRIDGE_SERVE_STYLE',
        message: expect.stringMatching(/'iter'.*'cps'.*'fetch'/),
      }),
    );
  });
});

describe('serve({ maxConnections })', () => {
  it('closes connections past the limit at once and keeps serving the open ones', async () => {
    const { connect } = await import('node:net');
    const reactor = new NodeReactor();
    reactor.run();
    const port = await serve(cpsApp, { style: 'cps', port: 0, reactor, maxConnections: 1 });
    ports.push(port);
    const { port: n } = port.getHost();
    const open = (): Promise<import('node:net').Socket> =>
      new Promise((resolve, reject) => {
        const s = connect(n, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      });
    const request = (s: import('node:net').Socket): Promise<string> =>
      new Promise((resolve) => {
        let got = '';
        s.on('data', (d) => {
          got += d.toString('latin1');
          if (got.includes('cps GET /')) resolve(got);
        });
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    const ended = (s: import('node:net').Socket): Promise<string> =>
      new Promise((resolve) => {
        let got = '';
        s.on('data', (d) => void (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
      });

    const first = await open();
    expect(await request(first)).toMatch(/^HTTP\/1\.1 200/);
    const second = await open();
    expect(await ended(second)).toBe(''); // refused: closed with no response
    expect(await request(first)).toMatch(/^HTTP\/1\.1 200/); // the open one is still served
    const firstGone = ended(first);
    first.end();
    await firstGone;
    // Room again once the server has seen the first go (its close may trail the client's).
    let answer = '';
    for (let attempt = 0; attempt < 50 && answer === ''; attempt++) {
      const next = await open();
      answer = await Promise.race([request(next), ended(next)]);
      next.destroy();
    }
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    await reactor.stop();
  });

  it('passes allowHalfOpen to the server: on, a client that half-closes after its request gets a later answer; off, it is gone', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    const { connect } = await import('node:net');
    const exchange = async (app: CpsApp, allowHalfOpen: boolean): Promise<string> => {
      const port = await serve(app, { style: 'cps', port: 0, reactor, allowHalfOpen });
      ports.push(port);
      const sock = connect(port.getHost().port, '127.0.0.1');
      sock.on('error', () => undefined);
      const got = new Promise<string>((resolve) => {
        let text = '';
        sock.on('data', (d) => void (text += d.toString('latin1')));
        sock.on('close', () => resolve(text));
      });
      sock.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      return got;
    };
    const later: CpsApp = (req) => {
      reactor.callLater(0, () => {
        req.write('answered after the FIN');
        req.finish();
      });
    };
    expect(await exchange(later, true)).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*answered after the FIN\r\n0\r\n\r\n$/);
    let outcome = '';
    const never: CpsApp = (req) => {
      req.notifyFinish().addErrback(() => void (outcome = 'the app was told the client left'));
    };
    expect(await exchange(never, false)).toBe('');
    expect(outcome).toBe('the app was told the client left');
    await reactor.stop();
  });
});
