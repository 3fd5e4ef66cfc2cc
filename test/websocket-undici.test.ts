/**
 * A second client nobody here wrote: undici's WHATWG WebSocket (the one Node's
 * global WebSocket is built on) against the echo in both styles on spindle's
 * server: text, binary, a subprotocol, and a close with code and reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'undici';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { acceptWebSocket } from '../src/protocols/websocket/accept.js';
import type { WebSocketMessage } from '../src/protocols/websocket/interfaces.js';
import { WebSocketProtocol } from '../src/protocols/websocket/protocol.js';
import { toCpsApp } from '../src/bridge/gateway.js';
import type { Chunk, Environ } from '../src/bridge/interfaces.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

class Echo extends WebSocketProtocol {
  override messageReceived(data: WebSocketMessage): void {
    if (data === 'bye') this.close(4005, 'as asked');
    else this.sendMessage(data);
  }
}

function* iterEcho(environ: Environ): Generator<Chunk> {
  const input = environ['spindle.websocket']!.accept({ protocols: ['echo'] })!;
  let resume: (() => void) | null = null;
  environ['wsgi.input_handler']!(input, () => resume?.());
  for (;;) {
    const m = input.receive();
    if (m === 'bye') input.close(4005, 'as asked');
    else if (m !== null) yield m;
    else if (input.closed) return;
    else {
      resume = environ['wsgi.pause_output']!();
      yield '';
    }
  }
}

async function serve(): Promise<string> {
  const reactor = new NodeReactor();
  reactor.run();
  cleanups.push(() => reactor.stop());
  const iter = toCpsApp(iterEcho);
  const app = (request: IRequest) =>
    request.path === '/iter' ? iter(request) : void acceptWebSocket(request, new Echo(), { protocols: ['echo'] });
  const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return `ws://127.0.0.1:${port.getHost().port}`;
}

describe.each(['/cps', '/iter'])('undici WebSocket ↔ echo at %s', (path) => {
  it('echoes text and binary, agrees on the subprotocol, and sees the server’s close code and reason', async () => {
    const ws = new WebSocket(`${await serve()}${path}`, ['chat', 'echo']);
    ws.binaryType = 'arraybuffer';
    cleanups.push(() => ws.close());
    const queue: unknown[] = [];
    let wake: (() => void) | null = null;
    ws.addEventListener('message', (e) => {
      queue.push(e.data);
      wake?.();
    });
    const next = () =>
      new Promise<unknown>((resolve) =>
        queue.length ? resolve(queue.shift()) : (wake = () => ((wake = null), resolve(queue.shift()))),
      );
    await new Promise(
      (resolve, reject) => (ws.addEventListener('open', resolve), ws.addEventListener('error', reject)),
    );
    expect(ws.protocol).toBe('echo');
    ws.send('héllo ✓');
    expect(await next()).toBe('héllo ✓');
    ws.send(new Uint8Array([9, 8, 7]));
    expect(new Uint8Array((await next()) as ArrayBuffer)).toEqual(new Uint8Array([9, 8, 7]));
    const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean })),
    );
    ws.send('bye');
    expect(await closed).toEqual({ code: 4005, reason: 'as asked', wasClean: true });
  });
});
