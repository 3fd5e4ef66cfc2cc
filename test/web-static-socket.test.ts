/**
 * StaticFile with real clients on a real socket: what curl and python3's
 * http.client receive for the Range edge cases is compared byte for byte with
 * the file; and the pull producer's memory bound, shown deterministically: a
 * client that does not ask gets nothing read from disk.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTPFactory, Logger, LogPublisher, NodeReactor, Resource, StaticFile, site } from '../src/index.js';
import type { IListeningPort } from '../src/index.js';
import { DEFAULT_CHUNK_SIZE, type FileProducer } from '../src/protocols/index.js';
import { DrivenRequest, makeFixture, parseMultipart } from './web-static-helpers.js';

const run = promisify(execFile);
let fx: ReturnType<typeof makeFixture>;
let reactor: NodeReactor;
let port: IListeningPort;
let base: string;
// 1 MiB + 7 bytes of a fixed pseudo-random sequence: ranges cross the read chunks (DEFAULT_CHUNK_SIZE).
const big = Buffer.alloc(1024 * 1024 + 7);
let seed = 12345;
for (let i = 0; i < big.length; i++) big[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;

beforeAll(async () => {
  fx = makeFixture();
  fs.writeFileSync(join(fx.root, 'big.bin'), big);
  const root = new Resource();
  root.putChild('files', new StaticFile(fx.root));
  reactor = new NodeReactor();
  reactor.run();
  const quiet = new Logger('test.static', new LogPublisher());
  port = await reactor.listenTCP(0, new HTTPFactory(site(root), { reactor, logger: quiet }), { host: '127.0.0.1' });
  base = `http://127.0.0.1:${port.getHost().port}/files/`;
});
afterAll(async () => {
  await port.stopListening();
  await reactor.stop();
  fx.cleanup();
});

interface Got {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

async function curl(path: string, headers: [string, string][]): Promise<Got> {
  const out = join(fx.base, `curl-${Math.random().toString(16).slice(2)}`);
  const args = [
    '-s',
    '-D',
    `${out}.h`,
    '-o',
    `${out}.b`,
    ...headers.flatMap(([n, v]) => ['-H', `${n}: ${v}`]),
    base + path,
  ];
  await run('curl', args);
  const lines = fs.readFileSync(`${out}.h`, 'latin1').split('\r\n');
  const result: Got = { status: Number(lines[0]!.split(' ')[1]), headers: {}, body: fs.readFileSync(`${out}.b`) };
  for (const line of lines.slice(1))
    if (line.includes(':'))
      result.headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 2);
  return result;
}

const PY = `
import sys, json, base64, http.client
port, path, headers = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
c = http.client.HTTPConnection('127.0.0.1', port)
c.request('GET', path, headers=dict(headers))
r = c.getresponse()
body = r.read()
print(json.dumps({'status': r.status, 'headers': {k.lower(): v for k, v in r.getheaders()}, 'body': base64.b64encode(body).decode()}))
`;

async function python(path: string, headers: [string, string][]): Promise<Got> {
  const { stdout } = await run(
    'python3',
    ['-c', PY, String(port.getHost().port), '/files/' + path, JSON.stringify(headers)],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const j = JSON.parse(stdout) as { status: number; headers: Record<string, string>; body: string };
  return { status: j.status, headers: j.headers, body: Buffer.from(j.body, 'base64') };
}

/** What each client must receive: status and the expected bytes (one buffer, or the parts of a multipart). */
type Expect = { status: number; body?: Buffer; parts?: [range: string, data: Buffer][]; contentRange?: string };
const K = DEFAULT_CHUNK_SIZE;
const cases: [name: string, file: string, headers: [string, string][], expected: () => Expect][] = [
  ['whole file', 'big.bin', [], () => ({ status: 200, body: big })],
  [
    'a range across a read chunk boundary',
    'big.bin',
    [['Range', `bytes=${K - 5}-${K + 4}`]],
    () => ({ status: 206, body: big.subarray(K - 5, K + 5), contentRange: `bytes ${K - 5}-${K + 4}/${big.length}` }),
  ],
  [
    'a suffix range',
    'big.bin',
    [['Range', 'bytes=-100000']],
    () => ({
      status: 206,
      body: big.subarray(big.length - 100000),
      contentRange: `bytes ${big.length - 100000}-${big.length - 1}/${big.length}`,
    }),
  ],
  [
    'an open-ended range',
    'big.bin',
    [['Range', `bytes=${1024 * 1024 - 3}-`]],
    () => ({
      status: 206,
      body: big.subarray(1024 * 1024 - 3),
      contentRange: `bytes ${1024 * 1024 - 3}-${big.length - 1}/${big.length}`,
    }),
  ],
  [
    'a range past the end, clamped',
    'letters.txt',
    [['Range', 'bytes=20-1000']],
    () => ({ status: 206, body: Buffer.from('uvwxyz'), contentRange: 'bytes 20-25/26' }),
  ],
  [
    'overlapping ranges, coalesced',
    'letters.txt',
    [['Range', 'bytes=0-3,2-6']],
    () => ({ status: 206, body: Buffer.from('abcdefg'), contentRange: 'bytes 0-6/26' }),
  ],
  [
    'two ranges: multipart',
    'big.bin',
    [['Range', `bytes=0-9,${2 * K - 3}-${2 * K + 3}`]],
    () => ({
      status: 206,
      parts: [
        [`bytes 0-9/${big.length}`, big.subarray(0, 10)],
        [`bytes ${2 * K - 3}-${2 * K + 3}/${big.length}`, big.subarray(2 * K - 3, 2 * K + 4)],
      ],
    }),
  ],
  [
    'a range starting past the end: 416',
    'letters.txt',
    [['Range', 'bytes=26-']],
    () => ({ status: 416, body: Buffer.alloc(0), contentRange: 'bytes */26' }),
  ],
  [
    'a range on an empty file: 416',
    'empty.txt',
    [['Range', 'bytes=0-']],
    () => ({ status: 416, body: Buffer.alloc(0), contentRange: 'bytes */0' }),
  ],
  [
    'If-Range that does not match: the whole file',
    'letters.txt',
    [
      ['Range', 'bytes=0-0'],
      ['If-Range', '"stale"'],
    ],
    () => ({ status: 200, body: fs.readFileSync(join(fx.root, 'letters.txt')) }),
  ],
];

function check(client: string, got: Got, e: Expect): void {
  expect([client, got.status]).toEqual([client, e.status]);
  expect(got.headers['content-length']).toBe(String(got.body.length));
  if (e.contentRange !== undefined) expect(got.headers['content-range']).toBe(e.contentRange);
  if (e.body !== undefined) expect(got.body.equals(e.body)).toBe(true);
  if (e.parts !== undefined) {
    const parts = parseMultipart(got.body, got.headers['content-type']!);
    expect(parts.map((p) => p.headers['content-range'])).toEqual(e.parts.map(([r]) => r));
    parts.forEach((p, i) => expect(p.data.equals(e.parts![i]![1])).toBe(true));
  }
}

describe.concurrent('StaticFile ranges as curl and python3 http.client receive them', () => {
  for (const [name, file, headers, expected] of cases) {
    it(name, async () => {
      const e = expected();
      const [c, p] = await Promise.all([curl(file, headers), python(file, headers)]);
      check('curl', c, e);
      check('python', p, e);
    });
  }

  it('If-Range with the current ETag gets the range (ETag read by curl first)', async () => {
    const first = await curl('letters.txt', []);
    const again = await python('letters.txt', [
      ['Range', 'bytes=1-2'],
      ['If-Range', first.headers.etag!],
    ]);
    expect([again.status, again.body.toString()]).toEqual([206, 'bc']);
  });
});

describe('StaticFile memory bound (deterministic)', () => {
  it('a stalled client is not read for: one chunk per request for more, none without', async () => {
    const r = new DrivenRequest({ uri: '/files/big.bin' });
    const root = new Resource();
    root.putChild('files', new StaticFile(fx.root));
    let change = r.changed();
    site(root)(r);
    while (r.producer === null) {
      await change;
      change = r.changed();
    }
    const producer = r.producer as FileProducer;
    expect([producer.bytesRead, producer.inFlight]).toEqual([0, false]); // registered, never asked: nothing read
    for (let asked = 1; asked <= 3; asked++) {
      r.pull(1);
      r.pull(1); // asking again while a read is in flight starts no second read
      expect(producer.inFlight).toBe(true);
      await change;
      change = r.changed();
      expect([producer.bytesRead, producer.inFlight, r.body().length]).toEqual([
        asked * DEFAULT_CHUNK_SIZE,
        false,
        asked * DEFAULT_CHUNK_SIZE,
      ]);
    }
    r.loseConnection(); // the client goes away: the file is closed, nothing more is read
    expect(producer.fdClosed).toBe(true);
    expect(producer.bytesRead).toBe(3 * DEFAULT_CHUNK_SIZE);
  });
});
