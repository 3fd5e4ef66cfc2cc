/**
 * The server channel's part in release after flush (src/protocols/http/readholds.ts):
 * a read that one request's body reader vouched for (`releaseRead`, as
 * reverseProxy does once the upstream took the bytes) is not read into again
 * while the parser holds bytes of it, nor ever once a head was parsed from it
 * (that read may have served another request, whose reader keeps its bytes
 * without a word). Reads come through `acceptedReads`, as an accepted socket's
 * do; the bytes a reader kept must stay as they were.
 */
import { describe, expect, it } from 'vitest';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { acceptedReads, releaseRead, SHARED_READ_BYTES } from '../src/reactor/readbuffer.js';
import { makeServer } from './http-channel-helpers.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

function patterned(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) % 251;
  return b;
}

/** A server whose /vouch requests release each body chunk and whose /keep requests keep theirs as given. */
function world() {
  const kept: Uint8Array[] = [];
  const copied: Buffer[] = [];
  const app = (req: IRequest) => {
    const vouch = req.path === '/vouch';
    req.deliverBody({
      makeConnection() {},
      dataReceived: (d) => {
        if (!vouch) return void kept.push(d);
        copied.push(Buffer.from(d)); // written on at once, say
        releaseRead(d);
      },
      connectionLost: () => {
        req.setHeader('Content-Length', '2');
        req.write(latin1('ok'));
        req.finish();
      },
    });
  };
  const server = makeServer(app);
  const reader = acceptedReads(SHARED_READ_BYTES, (chunk) => server.channel.dataReceived(chunk));
  const read = (bytes: Buffer) => {
    const buf = reader.buffer();
    bytes.copy(buf);
    reader.callback(bytes.length, buf);
    return buf;
  };
  return { server, kept, copied, read, next: () => reader.buffer() };
}

describe('the channel holds the reads its bytes may still be in', () => {
  it('a vouched read the next request head came from is never read into again: the kept body stays exact', () => {
    const w = world();
    const a = patterned(100_000, 1);
    const b = patterned(5000, 7);
    const headA = latin1(`POST /vouch HTTP/1.1\r\nHost: t\r\nContent-Length: ${a.length}\r\n\r\n`);
    const headB = latin1(`POST /keep HTTP/1.1\r\nHost: t\r\nContent-Length: ${b.length}\r\n\r\n`);
    w.read(Buffer.concat([headA, a.subarray(0, 30_000)])); // shared buffer: copied; bulk from here
    const own = w.read(a.subarray(30_000, 70_000)); // lent, vouched, nothing else holds it
    expect(w.next()).toBe(own); // read into again at once
    // A's last bytes, B's head and body: vouched by A's reader, but B's reader keeps its part.
    w.read(Buffer.concat([a.subarray(70_000), headB, b]));
    w.server.reactor.advance(0);
    expect(Buffer.concat(w.kept).equals(b)).toBe(true);
    const later = w.read(patterned(40_000, 99)); // garbage after B: a bad request, but a read all the same
    expect(later.buffer === own.buffer).toBe(false);
    expect(Buffer.concat(w.kept).equals(b)).toBe(true);
  });

  it('bytes the parser holds behind a paused body are not overwritten when the reader vouches for the read', () => {
    const w = world();
    const a = patterned(200_000, 3);
    const headA = latin1(`POST /vouch HTTP/1.1\r\nHost: t\r\nContent-Length: ${a.length}\r\n\r\n`);
    const headB = latin1(`POST /keep HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz`);
    // A holds its answer back until B's bytes arrived: the parser stores B behind A (pipelining).
    w.read(Buffer.concat([headA, a.subarray(0, 20_000)]));
    w.read(a.subarray(20_000, 80_000));
    w.read(a.subarray(80_000, 140_000));
    const last = w.read(Buffer.concat([a.subarray(140_000), headB]));
    w.read(patterned(30_000, 5)); // more bytes after B (a bad request later): must not land in `last`
    w.server.reactor.advance(0);
    expect(Buffer.concat(w.kept).toString('latin1')).toBe('xyz');
    expect(w.next().buffer === last.buffer).toBe(false);
  });

  it('a chunk-size line cut at the end of a vouched read is held: the next read does not overwrite it', () => {
    const w = world();
    const data = patterned(30_000, 11); // 30 000 = 0x7530
    const chunk = Buffer.concat([latin1('7530\r\n'), data, latin1('\r\n')]);
    const head = latin1('POST /vouch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
    w.read(Buffer.concat([head, chunk])); // shared: copied; bulk from here
    // A whole chunk, then the next one's size line cut after "75": the parser keeps "75" (a view).
    const cut = w.read(Buffer.concat([chunk, latin1('75')]));
    const rest = Buffer.concat([latin1('30\r\n'), data, latin1('\r\n0\r\n\r\n')]);
    const after = w.read(rest);
    expect(after.buffer === cut.buffer).toBe(false);
    expect(Buffer.concat(w.copied).equals(Buffer.concat([data, data, data]))).toBe(true);
    expect(w.server.output()).toMatch(/^HTTP\/1\.1 200 /);
  });
});
