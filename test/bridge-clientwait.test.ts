/**
 * The HTTP client from an iterator app: a synchronous generator waits for
 * agent.request() with waitFor() (pausing output, yielding '') and streams the
 * body with relayBody(); an async generator awaits and iterates the Response.
 * The server keeps serving other connections while one app waits.
 */
import { describe, expect, it } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import { relayBody, waitFor } from '../src/bridge/clientwait.js';
import { NoPauseOutputError } from '../src/bridge/errors.js';
import type { Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { Agent } from '../src/protocols/http/client/agent.js';
import { HTTPConnectionPool } from '../src/protocols/http/client/pool.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { Deferred } from '../src/reactor/deferred.js';
import type { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { proxyWorld } from './http-proxy-helpers.js';

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: front\r\n\r\n`;

function frontApp(make: (agent: Agent) => IterApp) {
  return (reactor: MemoryReactor) =>
    toCpsApp(make(new Agent(reactor, { pool: new HTTPConnectionPool(reactor) })), { reactor });
}

describe('iterator apps calling the Agent', () => {
  it('a generator waits with waitFor() and streams the body with relayBody(), while the server serves others', () => {
    const held: IRequest[] = [];
    const upstream = (req: IRequest) => {
      if (req.path === '/slow') return void held.push(req);
      req.write(`fast ${req.path}`);
      req.finish();
    };
    const w = proxyWorld(
      upstream,
      {},
      undefined,
      frontApp(
        (agent) =>
          function* (environ: Environ, start: StartResponse) {
            const path = environ.PATH_INFO as string;
            const response = yield* waitFor(environ, agent.request('GET', `http://upstream.test:8080${path}`));
            start(`${response.code} ${response.phrase}`, [['Content-Type', 'text/plain']]);
            yield* relayBody(environ, response);
          },
      ),
    );
    const slow = w.client();
    slow.send(GET('/slow'));
    w.settle();
    expect(held).toHaveLength(1);
    expect(slow.text).toBe('');
    const fast = w.client();
    fast.send(GET('/fast'));
    w.settle();
    expect(fast.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*fast \/fast\r\n0\r\n\r\n$/);
    held[0]!.write('slow part 1, ');
    w.settle();
    expect(slow.text).toContain('slow part 1, ');
    held[0]!.write('part 2');
    held[0]!.finish();
    w.settle();
    expect(slow.text).toMatch(/slow part 1, [\s\S]*part 2/);
    expect(slow.text).toMatch(/\r\n0\r\n\r\n$/);
  });

  it('an async generator awaits the Deferred and iterates the Response', () => {
    const w = proxyWorld(
      (req: IRequest) => {
        req.write('one,');
        req.write('two');
        req.finish();
      },
      {},
      undefined,
      frontApp(
        (agent) =>
          async function* (_environ: Environ, start: StartResponse) {
            const response = await agent.request('GET', 'http://upstream.test:8080/');
            start(`${response.code} ${response.phrase}`, [['Content-Type', 'text/plain']]);
            for await (const chunk of response) yield chunk;
          },
      ),
    );
    const c = w.client();
    c.send(GET('/'));
    return (async () => {
      for (let i = 0; i < 50 && !c.text.endsWith('0\r\n\r\n'); i++) {
        w.settle();
        await new Promise<void>((r) => setImmediate(r));
      }
      expect(c.text).toMatch(/one,[\s\S]*two/);
    })();
  });

  it("waitFor() throws the Deferred's error into the generator, and refuses an environ without pause_output", () => {
    const env = { 'wsgi.pause_output': () => () => undefined } as unknown as Environ;
    const d = new Deferred<number>();
    const g = waitFor(env, d);
    expect(g.next()).toEqual({ value: '', done: false });
    d.errback(new Error('upstream broke'));
    expect(() => g.next()).toThrow('upstream broke');
    expect(() => waitFor({} as Environ, new Deferred()).next()).toThrow(NoPauseOutputError);
  });
});
