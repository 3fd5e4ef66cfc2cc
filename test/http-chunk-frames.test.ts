/**
 * Chunked response framing (RFC 9112 §7.1): a chunk shorter than
 * FRAME_COPY_BYTES goes out as one buffer (size line, data, CRLF), a longer one
 * as three writes without a copy of its data. Either way the wire carries one
 * chunk per write, in order, and a real client (node:http) reads the body whole.
 */
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { assemble, CHUNKED, chunkFrame, chunkSizeLine, FRAME_COPY_BYTES } from '../src/protocols/http/framing.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const expectedChunk = (data: Uint8Array) => `${data.length.toString(16)}\r\n${latin1(data)}\r\n`;
const bytesOf = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => 0x20 + ((i * 7 + seed) % 95));

describe('chunkFrame / chunkSizeLine', () => {
  it('frame a chunk as hex size, CRLF, the data, CRLF at the sizes where the hex grows a digit', () => {
    for (const n of [1, 9, 15, 16, 255, 256, FRAME_COPY_BYTES - 1, 4095, 4096, 65535, 65536]) {
      const data = bytesOf(n, n);
      expect(latin1(chunkFrame(data))).toBe(expectedChunk(data));
      expect(latin1(chunkSizeLine(n))).toBe(`${n.toString(16)}\r\n`);
    }
  });

  it('assemble frames a first write as head, chunk, and the last chunk when it ends, at the same digit boundaries', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (const n of [1, 15, 16, 255, 256, 4095, 4096, 65536]) {
      const data = bytesOf(n, n);
      // Body split in two pieces, and only `n - 1` of the bytes framed when n > 1: assemble takes what it is told.
      const framed = n > 1 ? n - 1 : n;
      const body = [data.subarray(0, 1), data.subarray(1)];
      for (const end of [false, true])
        expect(latin1(assemble(head, CHUNKED, body, framed, end))).toBe(
          head + expectedChunk(data.subarray(0, framed)) + (end ? '0\r\n\r\n' : ''),
        );
    }
    expect(latin1(assemble(head, CHUNKED, [], 0, true))).toBe(`${head}0\r\n\r\n`);
  });

  it('frame any data the same way as the written-out rule', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), (data) => {
        expect(latin1(chunkFrame(data))).toBe(expectedChunk(data));
      }),
    );
  });
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A server whose app writes `sizes` one per reactor turn (so each goes through the streaming path), then finishes. */
async function serveChunks(sizes: number[]): Promise<{ port: number; parts: Uint8Array[] }> {
  const reactor = new NodeReactor();
  const parts = sizes.map((n, i) => bytesOf(n, i));
  const app = (req: IRequest) => {
    let i = 0;
    const next = () => {
      if (i === parts.length) return req.finish();
      req.write(parts[i++]!);
      reactor.callLater(0, next);
    };
    reactor.callLater(0, next);
  };
  const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  cleanups.push(() => port.stopListening());
  return { port: port.getHost().port, parts };
}

const SIZES = [1, 16, FRAME_COPY_BYTES - 1, FRAME_COPY_BYTES, FRAME_COPY_BYTES + 1, 16, 70_000, 3];

describe('chunked responses on the wire', () => {
  it('carry one chunk per write, in order, at sizes on both sides of FRAME_COPY_BYTES, then the last chunk', async () => {
    const { port, parts } = await serveChunks(SIZES);
    const sock = net.connect(port, '127.0.0.1');
    cleanups.push(() => sock.destroy());
    let text = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (text += d));
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => sock.on('data', () => text.endsWith('\r\n0\r\n\r\n') && resolve()));
    const head = text.indexOf('\r\n\r\n');
    expect(text.slice(0, head)).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/);
    expect(text.slice(head + 4)).toBe(parts.map(expectedChunk).join('') + '0\r\n\r\n');
  });

  it('are read whole by node:http', async () => {
    const { port, parts } = await serveChunks(SIZES);
    const body = await new Promise<Buffer>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path: '/', agent: false }, (res) => {
          const got: Buffer[] = [];
          res.on('data', (d: Buffer) => got.push(d));
          res.on('end', () => resolve(Buffer.concat(got)));
        })
        .on('error', reject);
    });
    expect(body.equals(Buffer.concat(parts))).toBe(true);
  });
});
