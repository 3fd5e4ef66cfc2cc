/**
 * Issue 12 item 9: a port clash must be loud when nobody handles the listen
 * Deferred. Following the README (serve(...) then reactor.run()) twice on one
 * port, the second process used to exit 0 and print nothing: the failure was
 * only reported at garbage collection, which a short process never reaches.
 * Now a listen failure nobody handled is logged at once, once; a handled one
 * is not logged at all (the CLI handles it and exits 4: test/cli.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { Factory, Protocol } from '../src/protocols/protocol.js';
import { captureLogs } from '../src/reactor/log.js';
import { CannotListenError } from '../src/reactor/errors.js';

const indexUrl = new URL('../src/index.ts', import.meta.url).href;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function occupiedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('a listen that fails with nobody handling it', () => {
  it('is logged at once as an unhandled error naming the port and the fix, exactly once', async () => {
    const port = await occupiedPort();
    const reactor = new NodeReactor();
    const capture = captureLogs();
    try {
      void reactor.listenTCP(port, Factory.forProtocol(Protocol), { host: '127.0.0.1' }); // no errback, as in the README
      // A second, handled listen on the same port fails after the first one did.
      const handled = await reactor.listenTCP(port, Factory.forProtocol(Protocol), { host: '127.0.0.1' }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(handled).toBeInstanceOf(CannotListenError);
      await turn();
      const unhandled = capture.events.filter((e) => e.message.includes('Unhandled error in Deferred'));
      expect(unhandled).toHaveLength(1);
      expect(unhandled[0]!.level).toBe('critical');
      expect(unhandled[0]!.failure?.value).toBeInstanceOf(CannotListenError);
      expect(unhandled[0]!.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`));
    } finally {
      capture.restore();
    }
  });

  it('is not logged when the caller handles it', async () => {
    const port = await occupiedPort();
    const reactor = new NodeReactor();
    const capture = captureLogs();
    try {
      let caught: unknown;
      try {
        await reactor.listenTCP(port, Factory.forProtocol(Protocol), { host: '127.0.0.1' });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CannotListenError);
      await turn();
      expect(capture.events.filter((e) => e.message.includes('Unhandled error'))).toEqual([]);
    } finally {
      capture.restore();
    }
  });

  it("the README's serve() then reactor.run() on a taken port prints the clash on stderr", async () => {
    const port = await occupiedPort();
    const code = `import { NodeReactor, serve } from ${JSON.stringify(indexUrl)};
const reactor = new NodeReactor();
serve((req) => req.finish(), { style: 'cps', port: ${port}, reactor });
reactor.run({ installSignalHandlers: true });`;
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exit = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    expect(exit).not.toBeNull();
    expect(stderr).toMatch(/Unhandled error in Deferred/);
    expect(stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
  });
});
