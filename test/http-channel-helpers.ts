/**
 * Helpers for HTTP channel tests: a channel on a StringTransport over a
 * MemoryReactor, and a small response reader for what it wrote.
 */
import { ConnectionDone, ConnectionLost } from '../src/reactor/errors.js';
import { Failure } from '../src/reactor/failure.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { StringTransport } from '../src/reactor/stringtransport.js';
import type { HTTPChannel } from '../src/protocols/http/channel.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import type { HTTPServerOptions } from '../src/protocols/http/options.js';

export interface Response {
  status: number;
  phrase: string;
  headers: Record<string, string>;
  body: string;
  /** 'length' | 'chunked' | 'none' | 'close' */
  framing: string;
}

export function makeServer(
  app: CpsApp,
  options: Partial<HTTPServerOptions> = {},
  transportOptions: ConstructorParameters<typeof StringTransport>[0] = {},
) {
  const reactor = new MemoryReactor();
  const factory = new HTTPFactory(app, { reactor, ...options });
  const channel = factory.buildProtocol({ host: '192.0.2.1', port: 54321 }) as HTTPChannel;
  const transport = new StringTransport(transportOptions);
  const writes: number[] = [];
  const write = transport.write.bind(transport);
  transport.write = (d: Uint8Array) => {
    writes.push(d.length);
    write(d);
  };
  channel.makeConnection(transport);
  return {
    reactor,
    factory,
    channel,
    transport,
    /** Sizes of each transport.write call, in order. */
    writes,
    send(s: string) {
      channel.dataReceived(new Uint8Array(Buffer.from(s, 'latin1')));
    },
    output(): string {
      return Buffer.from(transport.value()).toString('latin1');
    },
    responses(): Response[] {
      return parseResponses(Buffer.from(transport.value()).toString('latin1'));
    },
    close(clean = false) {
      channel.connectionLost(new Failure(clean ? new ConnectionDone() : new ConnectionLost()));
    },
  };
}

/**
 * Read HTTP/1.1 responses from `text`. Bodies framed by Content-Length or
 * chunked; a response with neither (and not 1xx/204/304/HEAD-like, marked by
 * `noBodyFor(index of the final response)`, e.g. answers to HEAD) reads to the
 * end. 1xx interim responses are returned too.
 */
export function parseResponses(text: string, noBodyFor: (index: number) => boolean = () => false): Response[] {
  const out: Response[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\r\n\r\n', pos);
    if (end === -1) throw new Error(`incomplete response head: ${JSON.stringify(text.slice(pos, pos + 80))}`);
    const lines = text.slice(pos, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(lines[0]!);
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).toLowerCase();
      headers[k] = headers[k] === undefined ? l.slice(i + 1).trim() : `${headers[k]}, ${l.slice(i + 1).trim()}`;
    }
    pos = end + 4;
    const status = Number(m[1]);
    let body = '';
    let framing = 'none';
    if (status < 200 || status === 204 || status === 304 || noBodyFor(out.filter((r) => r.status >= 200).length))
      framing = 'none';
    else if (headers['transfer-encoding'] === 'chunked') {
      framing = 'chunked';
      for (;;) {
        const le = text.indexOf('\r\n', pos);
        if (le === -1) {
          framing = 'chunked-incomplete';
          pos = text.length;
          break;
        }
        const size = parseInt(text.slice(pos, le), 16);
        pos = le + 2;
        if (size === 0) {
          pos = text.indexOf('\r\n', pos) + 2;
          break;
        }
        body += text.slice(pos, pos + size);
        pos += size + 2;
      }
    } else if (headers['content-length'] !== undefined) {
      framing = 'length';
      const n = Number(headers['content-length']);
      body = text.slice(pos, pos + n);
      pos += n;
    } else {
      framing = 'close';
      body = text.slice(pos);
      pos = text.length;
    }
    out.push({ status, phrase: m[2]!, headers, body, framing });
  }
  return out;
}

export const GET = (path = '/', extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
