/**
 * `wsgi.input` of a request without a body on spindle's server (no
 * Content-Length, or 0, and not chunked: RFC 9112 §6.3) is an EmptyInput: it
 * must behave, as the app sees it, like a streaming input of an empty body
 * (G11, G15), and a request with a body still streams it.
 */
import { describe, expect, it } from 'vitest';
import type { Environ, InputHandler, IterApp, WsgiInput } from '../src/bridge/interfaces.js';
import { EmptyInput, StreamingInput } from '../src/bridge/input.js';
import { memoryServer } from './gateway-hosts.js';

const TEXT: [string, string][] = [['Content-Type', 'text/plain']];

/** Serve one request with an app that gets the environ; returns the connection. */
async function serve(raw: string, app: IterApp) {
  const server = memoryServer(app);
  const conn = server.connect();
  conn.send(raw);
  await conn.settle(() => conn.response() !== null);
  return { conn, server };
}

describe('wsgi.input of a request without a body', () => {
  it('GET: reads give nothing, atEOF turns true at the first read, the client has not gone', async () => {
    const seen: string[] = [];
    const { conn } = await serve('GET / HTTP/1.1\r\nHost: t\r\n\r\n', (e, sr) => {
      const input = e['wsgi.input'] as WsgiInput;
      seen.push(`kind ${input instanceof EmptyInput ? 'empty' : 'streaming'}`);
      seen.push(`eof before ${input.atEOF}`);
      seen.push(
        `read ${input.read().length} ${input.read(10).length} ${input.readline().length} ${input.readline(3).length}`,
      );
      seen.push(`lines ${input.readlines().length} iter ${[...input].length}`);
      seen.push(`eof ${input.atEOF} gone ${input.clientGone}`);
      sr('200 OK', TEXT);
      return ['ok'];
    });
    expect(conn.response()!.body.toString()).toBe('ok');
    expect(seen).toEqual(['kind empty', 'eof before false', 'read 0 0 0 0', 'lines 0 iter 0', 'eof true gone false']);
  });

  it('Content-Length: 0 is no body too; a body (by length or chunked) still streams', async () => {
    const kinds: string[] = [];
    const app: IterApp = (e, sr) => {
      const input = e['wsgi.input'] as WsgiInput;
      kinds.push(input instanceof EmptyInput ? 'empty' : input instanceof StreamingInput ? 'streaming' : 'other');
      sr('200 OK', TEXT);
      return ['ok'];
    };
    await serve('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n', app);
    await serve('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc', app);
    await serve('POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n', app);
    expect(kinds).toEqual(['empty', 'streaming', 'streaming']);
  });

  it('G15: the handler runs once, from the reactor, never inside the app call; the response then ends', async () => {
    const events: string[] = [];
    const { conn } = await serve('GET / HTTP/1.1\r\nHost: t\r\n\r\n', function* (e: Environ, sr) {
      const input = e['wsgi.input'] as WsgiInput;
      const onInput = e['wsgi.input_handler'] as InputHandler;
      const resume = (e['wsgi.pause_output'] as () => () => void)();
      onInput(input, () => events.push('first handler'));
      onInput(input, () => {
        // replaces the first: one call
        events.push(`readable eof=${input.atEOF} read=${input.read().length}`);
        resume();
      });
      events.push('registered');
      yield '';
      sr('200 OK', TEXT);
      yield 'done';
    });
    expect(conn.response()!.body.toString()).toBe('done');
    expect(events).toEqual(['registered', 'readable eof=true read=0']);
  });

  it('a handler that throws fails the response as a streaming input’s does (500)', async () => {
    const { conn } = await serve('GET / HTTP/1.1\r\nHost: t\r\n\r\n', function* (e: Environ) {
      (e['wsgi.input_handler'] as InputHandler)(e['wsgi.input'] as WsgiInput, () => {
        throw new Error('handler failed');
      });
      (e['wsgi.pause_output'] as () => () => void)();
      yield '';
    });
    expect(conn.response()!.status).toBe(500);
  });

  it('no handler runs after the response ended', async () => {
    let calls = 0;
    const { conn } = await serve('GET / HTTP/1.1\r\nHost: t\r\n\r\n', (e, sr) => {
      (e['wsgi.input_handler'] as InputHandler)(e['wsgi.input'] as WsgiInput, () => void calls++);
      sr('200 OK', TEXT);
      return ['at once'];
    });
    await conn.settle();
    expect(conn.response()!.body.toString()).toBe('at once');
    expect(calls).toBe(0);
  });
});
