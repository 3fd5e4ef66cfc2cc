/**
 * Helpers for tests that drive the `ws` package's client over real sockets: a client whose
 * messages can be awaited in order, and a wait for the reactor's connections to close.
 */
import { expect } from 'vitest';
import WebSocket from 'ws';
import type { NodeReactor } from '../src/reactor/nodereactor.js';

/** Open a `ws` client on `url` (with `options`, e.g. a `ca` for wss:); `cleanups` gets its terminate(). */
export function openWsClient(url: string, cleanups: Array<() => unknown>, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  const messages: (string | Buffer)[] = [];
  let waiter: (() => void) | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push(isBinary ? data : data.toString('utf8'));
    waiter?.();
  });
  cleanups.push(() => ws.terminate());
  return {
    ws,
    opened: new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))),
    closed: new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    ),
    next(n = 1): Promise<(string | Buffer)[]> {
      return new Promise((resolve) => {
        const check = () => {
          if (messages.length >= n) {
            waiter = null;
            resolve(messages.splice(0, n));
          }
        };
        waiter = check;
        check();
      });
    },
  };
}

/** Wait, turn by turn (no timers), until the reactor has no open connection. */
export async function settled(reactor: NodeReactor) {
  while (reactor.stats.openConnections > 0) await new Promise((r) => setImmediate(r));
}

/** Through an echo: text and binary come back as sent, with their kinds, then a `bigBytes` binary message whole. */
export async function expectEchoes(c: ReturnType<typeof openWsClient>, bigBytes: number): Promise<void> {
  c.ws.send('héllo');
  c.ws.send(Buffer.from([0, 1, 2, 255]));
  expect(await c.next(2)).toEqual(['héllo', Buffer.from([0, 1, 2, 255])]);
  const big = Buffer.alloc(bigBytes);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  c.ws.send(big);
  const [echoed] = await c.next();
  expect(Buffer.isBuffer(echoed) && echoed.equals(big)).toBe(true);
}
