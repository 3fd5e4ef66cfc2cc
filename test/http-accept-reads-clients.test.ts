/**
 * Real clients nobody here wrote (curl, python3's http.client, Node's fetch)
 * upload bodies of every size class to an HTTP server on listenTCP, whose
 * accepted sockets read into spindle's buffers (the default) or as Node does
 * (`readBufferSize: 0`): small bodies copied out of the shared buffer, large
 * ones in lent reads the app keeps as given. The app hashes each chunk only at
 * the end, so a later read that overwrote an earlier chunk would change it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const SIZES = [0, 10, 16 * 1024 - 1, 16 * 1024, 70_000, 3 * 1024 * 1024 + 5];

function body(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7) % 253;
  return b;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An app that keeps every body chunk as given and answers `length sha256` once the body ended. */
function keepAndHash(req: IRequest): void {
  const chunks: Uint8Array[] = [];
  req.deliverBody({
    makeConnection() {},
    dataReceived: (d) => void chunks.push(d),
    connectionLost: () => {
      const all = Buffer.concat(chunks);
      const text = `${all.length} ${sha(all)}`;
      req.setHeader('Content-Type', 'text/plain');
      req.setHeader('Content-Length', String(text.length));
      req.write(text);
      req.finish();
    },
  });
}

async function serve(readBufferSize?: number): Promise<number> {
  const reactor = new NodeReactor();
  reactor.run();
  cleanups.push(() => reactor.stop());
  const options = readBufferSize === undefined ? {} : { readBufferSize };
  const port = await reactor.listenTCP(0, new HTTPFactory(keepAndHash, { reactor }), { host: '127.0.0.1', ...options });
  cleanups.push(() => port.stopListening());
  return port.getHost().port;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 1 << 20 }, (err, out, errText) =>
      err ? reject(new Error(`${cmd} failed: ${err.message} ${errText}`)) : resolve(out),
    ),
  );
}

const PYTHON = `
import http.client, sys
port, files = int(sys.argv[1]), sys.argv[2:]
c = http.client.HTTPConnection('127.0.0.1', port)
for f in files:
    data = open(f, 'rb').read()
    c.request('POST', '/up', body=data, headers={'Content-Type': 'application/octet-stream'})
    r = c.getresponse()
    print(r.status, r.read().decode())
`;

for (const [label, size] of [
  ["spindle's buffers (default)", undefined],
  ["Node's own reads (readBufferSize: 0)", 0],
  ['readBufferSize 256 KiB', 256 * 1024],
] as const) {
  describe(`uploads from real clients, ${label}`, () => {
    it('curl, python3 http.client (one keep-alive connection) and fetch: every body arrives exact', async () => {
      const port = await serve(size);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-upload-'));
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const files = SIZES.map((n) => {
        const f = path.join(dir, `b${n}`);
        fs.writeFileSync(f, body(n));
        return f;
      });
      const want = SIZES.map((n) => `${n} ${sha(body(n))}`);
      for (let i = 0; i < SIZES.length; i++) {
        const out = await run('curl', ['-sS', '--data-binary', `@${files[i]}`, `http://127.0.0.1:${port}/up`]);
        expect(out).toBe(want[i]);
      }
      const py = await run('python3', ['-c', PYTHON, String(port), ...files]);
      expect(py.trim().split('\n')).toEqual(want.map((w) => `200 ${w}`));
      for (let i = 0; i < SIZES.length; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/up`, { method: 'POST', body: body(SIZES[i]!) });
        expect(await res.text()).toBe(want[i]);
      }
    });
  });
}
