/**
 * StaticFile on DummyRequest: types, validators and 304, ranges (single,
 * multiple, 416, If-Range), HEAD, directories, and path traversal.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Resource, StaticFile } from '../src/index.js';
import { parseRange } from '../src/protocols/index.js';
import { fetchStatic, LETTERS, makeFixture, parseMultipart, SECRET } from './web-static-helpers.js';

let fx: ReturnType<typeof makeFixture>;
let tree: Resource;
beforeAll(() => {
  fx = makeFixture();
  tree = new Resource();
  tree.putChild('files', new StaticFile(fx.root));
  tree.putChild('listed', new StaticFile(fx.root, { allowDirectoryListing: true }));
  tree.putChild('follow', new StaticFile(fx.root, { followSymlinks: true }));
  tree.putChild(
    'typed',
    new StaticFile(fx.root, { defaultType: 'text/x-default', contentTypes: { '.bin': 'application/x-spindle' } }),
  );
});
afterAll(() => fx.cleanup());

const get = (uri: string, headers: [string, string][] = [], method = 'GET') => fetchStatic(tree, uri, headers, method);

describe('StaticFile: whole files', () => {
  it('serves a file with its type, length, ETag, Last-Modified and Accept-Ranges', async () => {
    const r = await get('/files/letters.txt');
    const st = fs.statSync(join(fx.root, 'letters.txt'));
    expect(r.code).toBe(200);
    expect(r.body()).toEqual(LETTERS);
    expect(r.getResponseHeader('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.getResponseHeader('content-length')).toBe('26');
    expect(r.getResponseHeader('etag')).toMatch(/^"1a-[0-9a-f]+"$/);
    expect(r.getResponseHeader('last-modified')).toBe(new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString());
    expect(r.getResponseHeader('accept-ranges')).toBe('bytes');
  });

  it.each([
    ['/files/page.html', 'text/html; charset=utf-8'],
    ['/files/data.bin', 'application/octet-stream'],
    ['/files/noext', 'application/octet-stream'],
    ['/typed/data.bin', 'application/x-spindle'],
    ['/typed/noext', 'text/x-default'],
  ])('%s is %s', async (uri, type) => {
    expect((await get(uri)).getResponseHeader('content-type')).toBe(type);
  });

  it('an empty file is a 200 with Content-Length 0', async () => {
    const r = await get('/files/empty.txt');
    expect([r.code, r.getResponseHeader('content-length'), r.body().length]).toEqual([200, '0', 0]);
  });

  it('HEAD sends the headers of GET and reads nothing', async () => {
    const r = await get('/files/letters.txt', [['Range', 'bytes=0-1']], 'HEAD');
    expect([r.code, r.getResponseHeader('content-length'), r.written.length, r.producer]).toEqual([200, '26', 0, null]);
  });

  it('other methods get 405 with Allow: GET, HEAD', async () => {
    const r = await get('/files/letters.txt', [], 'POST');
    expect([r.code, r.getResponseHeader('allow')]).toEqual([405, 'GET, HEAD']);
  });
});

describe('StaticFile: conditional requests', () => {
  it('If-None-Match with the ETag (or *, or in a list, or weak) → 304 with no body', async () => {
    const etag = (await get('/files/letters.txt')).getResponseHeader('etag')!;
    for (const value of [etag, '*', `"nope", ${etag}`, `W/${etag}`]) {
      const r = await get('/files/letters.txt', [['If-None-Match', value]]);
      expect([value, r.code, r.written.length, r.getResponseHeader('etag')]).toEqual([value, 304, 0, etag]);
    }
    expect((await get('/files/letters.txt', [['If-None-Match', '"other"']])).code).toBe(200);
  });

  it('If-Modified-Since at or after the mtime → 304; before → 200; If-None-Match wins over it', async () => {
    const lm = (await get('/files/letters.txt')).getResponseHeader('last-modified')!;
    expect((await get('/files/letters.txt', [['If-Modified-Since', lm]])).code).toBe(304);
    expect(
      (await get('/files/letters.txt', [['If-Modified-Since', new Date(Date.parse(lm) - 1000).toUTCString()]])).code,
    ).toBe(200);
    expect((await get('/files/letters.txt', [['If-Modified-Since', 'not a date']])).code).toBe(200);
    expect(
      (
        await get('/files/letters.txt', [
          ['If-Modified-Since', lm],
          ['If-None-Match', '"other"'],
        ])
      ).code,
    ).toBe(200);
  });
});

describe('StaticFile: ranges', () => {
  const cases: [range: string, status: number, body: string | null, contentRange?: string][] = [
    ['bytes=0-4', 206, 'abcde', 'bytes 0-4/26'],
    ['bytes=20-', 206, 'uvwxyz', 'bytes 20-25/26'], // open-ended
    ['bytes=-3', 206, 'xyz', 'bytes 23-25/26'], // suffix
    ['bytes=-100', 206, LETTERS.toString(), 'bytes 0-25/26'], // suffix longer than the file
    ['bytes=24-100', 206, 'yz', 'bytes 24-25/26'], // last past the end: clamped
    ['bytes=0-2,1-5', 206, 'abcdef', 'bytes 0-5/26'], // overlapping: coalesced
    ['bytes=26-', 416, null, 'bytes */26'], // past the end
    ['bytes=30-40,50-', 416, null, 'bytes */26'],
    ['bytes=-0', 416, null, 'bytes */26'],
    ['bytes=5-2', 200, LETTERS.toString()], // invalid: ignored
    ['items=0-2', 200, LETTERS.toString()], // unknown unit: ignored
    ['bytes=abc', 200, LETTERS.toString()],
  ];
  for (const [range, status, body, contentRange] of cases) {
    it(`Range: ${range} → ${status}`, async () => {
      const r = await get('/files/letters.txt', [['Range', range]]);
      expect(r.code).toBe(status);
      expect(r.getResponseHeader('content-range')).toBe(contentRange);
      if (body !== null) expect(r.body().toString()).toBe(body);
      else expect(r.body().length).toBe(0);
      expect(r.getResponseHeader('content-length')).toBe(String(r.body().length));
    });
  }

  it('Range on an empty file → 416 bytes */0', async () => {
    for (const range of ['bytes=0-', 'bytes=-5', 'bytes=0-0']) {
      const r = await get('/files/empty.txt', [['Range', range]]);
      expect([range, r.code, r.getResponseHeader('content-range')]).toEqual([range, 416, 'bytes */0']);
    }
  });

  it('several ranges → multipart/byteranges in the order asked, lengths exact', async () => {
    const r = await get('/files/letters.txt', [['Range', 'bytes=20-21, 0-1,-1']]);
    expect(r.code).toBe(206);
    const type = r.getResponseHeader('content-type')!;
    expect(type).toMatch(/^multipart\/byteranges; boundary=[0-9a-f]{24}$/);
    expect(r.getResponseHeader('content-length')).toBe(String(r.body().length));
    const parts = parseMultipart(r.body(), type);
    expect(parts.map((p) => [p.headers['content-range'], p.headers['content-type'], p.data.toString()])).toEqual([
      ['bytes 20-21/26', 'text/plain; charset=utf-8', 'uv'],
      ['bytes 0-1/26', 'text/plain; charset=utf-8', 'ab'],
      ['bytes 25-25/26', 'text/plain; charset=utf-8', 'z'],
    ]);
  });

  it('If-Range: a matching ETag or date gives the range; another, or a weak tag, the whole file', async () => {
    const whole = await get('/files/letters.txt');
    const etag = whole.getResponseHeader('etag')!;
    const lm = whole.getResponseHeader('last-modified')!;
    const withIfRange = async (v: string) =>
      (
        await get('/files/letters.txt', [
          ['Range', 'bytes=0-0'],
          ['If-Range', v],
        ])
      ).code;
    expect(await withIfRange(etag)).toBe(206);
    expect(await withIfRange(lm)).toBe(206);
    expect(await withIfRange('"stale"')).toBe(200);
    expect(await withIfRange(`W/${etag}`)).toBe(200);
    expect(await withIfRange(new Date(Date.parse(lm) - 1000).toUTCString())).toBe(200);
  });

  it('more than maxRanges ranges: Range is ignored', () => {
    const many = 'bytes=' + Array.from({ length: 40 }, (_, i) => `${i * 2}-${i * 2}`).join(',');
    expect(parseRange(many, 1000)).toEqual({ kind: 'ignore' });
    expect(parseRange(many, 1000, 64).kind).toBe('ranges');
  });
});

describe('StaticFile: directories', () => {
  it('a directory without a trailing slash is redirected to add one (query kept)', async () => {
    const r = await get('/files/site?x=1');
    expect([r.code, r.getResponseHeader('location')]).toEqual([301, '/files/site/?x=1']);
  });

  it('a directory with an index serves it', async () => {
    const r = await get('/files/site/');
    expect([r.code, r.text(), r.getResponseHeader('content-type')]).toEqual([
      200,
      '<h1>index</h1>',
      'text/html; charset=utf-8',
    ]);
  });

  it('without an index: 404, or an HTML-escaped listing when allowed', async () => {
    expect((await get('/files/plain/')).code).toBe(404);
    const r = await get('/listed/plain/');
    expect(r.code).toBe(200);
    expect(r.text()).toContain('<a href="inner/">inner/</a>');
    expect(r.text()).toContain(`<a href="%3Cb%3E%26%22q&#39;.txt">&#60;b&#62;&#38;&#34;q&#39;.txt</a>`);
    expect(r.text()).not.toContain('<b>&');
  });
});

describe('StaticFile: path traversal', () => {
  // Every attempt to reach outside the root (or a name the root does not have).
  const corpus = [
    '/files/../secret.txt',
    '/files/%2e%2e/secret.txt',
    '/files/%2E%2E/secret.txt',
    '/files/.%2e/secret.txt',
    '/files/%2e%2e%2fsecret.txt',
    '/files/..%2Fsecret.txt',
    '/files/..%5csecret.txt',
    '/files/..\\secret.txt',
    '/files/%252e%252e/secret.txt',
    '/files/sub/../../secret.txt',
    '/files/./letters.txt',
    '/files//etc/passwd',
    '/files/%2Fetc%2Fpasswd',
    '/files/%2Ftmp%2Fsecret.txt',
    '/files/letters.txt%00.html',
    '/files/letters.txt%00',
    '/files/%00',
    '/files/out-link',
    '/files/out-dir/secret.txt',
    '/files/missing.txt',
    '/files/letters.txt/',
    '/files/letters.txt/x',
  ];

  it('every attempt is a 404, nothing outside the root is opened or read, and the secret never shows', async () => {
    const touched: string[] = [];
    const [open, stat, readdir, realpath] = [
      fs.open.bind(fs),
      fs.promises.stat.bind(fs.promises),
      fs.promises.readdir.bind(fs.promises),
      fs.promises.realpath.bind(fs.promises),
    ];
    const spies = [
      vi.spyOn(fs.promises, 'realpath').mockImplementation(((p: fs.PathLike) => {
        touched.push(String(p));
        return realpath(p);
      }) as typeof fs.promises.realpath),
      vi.spyOn(fs, 'open').mockImplementation(
        (
          (orig) =>
          (...args: unknown[]) => {
            touched.push(String(args[0]));
            return (orig as (...a: unknown[]) => unknown)(...args);
          }
        )(open) as typeof fs.open,
      ),
      vi.spyOn(fs.promises, 'stat').mockImplementation(
        ((orig) => (p: fs.PathLike) => {
          touched.push(String(p));
          return orig(p);
        })(stat) as typeof fs.promises.stat,
      ),
      vi.spyOn(fs.promises, 'readdir').mockImplementation(
        ((orig) => (p: fs.PathLike, o: never) => {
          touched.push(String(p));
          return orig(p, o);
        })(readdir) as typeof fs.promises.readdir,
      ),
    ];
    try {
      for (const uri of corpus) {
        const r = await get(uri);
        expect([uri, r.code]).toEqual([uri, 404]);
        expect(r.text()).not.toContain(SECRET);
      }
    } finally {
      for (const s of spies) s.mockRestore();
    }
    const real = fs.realpathSync(fx.root);
    expect(touched.length).toBeGreaterThan(0); // the spies do see the lookups (most attempts are refused before any)
    expect(touched.filter((p) => !p.startsWith(real + '/') && p !== real && p !== fx.root)).toEqual([]);
  });

  it('a symlink inside the root is served; one out of it only with followSymlinks', async () => {
    expect((await get('/files/in-link')).body()).toEqual(LETTERS);
    expect((await get('/follow/out-link')).text()).toBe(SECRET);
  });
});
