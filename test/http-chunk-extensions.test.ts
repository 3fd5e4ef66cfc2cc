/**
 * Issue 12 item 2: chunk extensions are checked (RFC 9112 §7.1.1) and then
 * ignored. The corpus (test/http-corpus.ts) holds the byte-level cases, run at
 * every split and against node:http; here: what a client of the server sees,
 * and generated well-formed extensions that must all be accepted.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeServer } from './http-channel-helpers.js';
import { enc, parseWhole, parseWithCuts } from './http-parser-helpers.js';
import type { Failure } from '../src/reactor/failure.js';
import { captureLogs } from '../src/reactor/log.js';

const post = (chunks: string) => `POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`;

describe('chunk extensions (issue 12, item 2)', () => {
  const malformed: Array<[string, string]> = [
    ['an empty extension name', '2;\r\naa\r\n0\r\n\r\n'],
    ['an unbalanced quoted string', '5;a="abc;b=c\r\nhello\r\n0\r\n\r\n'],
    ['a space inside a value', '5;a=b c\r\nhello\r\n0\r\n\r\n'],
  ];
  for (const [what, chunks] of malformed) {
    it(`a chunk line with ${what} gets 400, and the app's body reader hears the body will not come`, () => {
      let failure: Failure | null = null;
      let body: Uint8Array | null = null;
      const s = makeServer(
        (req) =>
          void req.readBody().addCallbacks(
            (b) => void (body = b),
            (f) => void (failure = f),
          ),
      );
      s.send(post(chunks));
      s.reactor.advance(0);
      expect(body).toBeNull();
      expect(failure).not.toBeNull();
      expect(s.responses().map((r) => r.status)).toEqual([400]);
      expect(s.transport.disconnecting).toBe(true);
    });
  }

  it('a malformed extension gets 400 even when the app returns the read (its failure does not become a 500)', () => {
    const logs = captureLogs();
    try {
      const s = makeServer((req) => req.readBody().addCallback(() => req.finish()));
      s.send(post('5;a="abc;b=c\r\nhello\r\n0\r\n\r\n'));
      s.reactor.advance(0);
      expect(s.responses().map((r) => r.status)).toEqual([400]);
    } finally {
      logs.restore();
    }
  });

  const tchar = fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789abcxyzABCXYZ".split(''));
  const token = fc.string({ unit: tchar, minLength: 1, maxLength: 6 });
  const qdtext = fc.constantFrom(' ', '\t', '!', '#', '[', ']', '~', 'a', ';', '=', ',', '\xa0', '\xff');
  const quotedPair = fc.constantFrom('\\"', '\\\\', '\\ ', '\\a', '\\\xe9');
  const quoted = fc.array(fc.oneof(qdtext, quotedPair), { maxLength: 6 }).map((xs) => `"${xs.join('')}"`);
  const extension = fc
    .tuple(token, fc.option(fc.oneof(token, quoted), { nil: undefined }))
    .map(([n, v]) => (v === undefined ? `;${n}` : `;${n}=${v}`));
  const extensions = fc.array(extension, { maxLength: 3 }).map((xs) => xs.join(''));

  it('every well-formed extension list is accepted and the body is unchanged, at any split', () => {
    fc.assert(
      fc.property(extensions, extensions, fc.array(fc.nat(), { maxLength: 6 }), (e1, e2, cutsRaw) => {
        const bytes = enc(post(`5${e1}\r\nhello\r\n0${e2}\r\n\r\n`));
        const whole = parseWhole(bytes);
        expect(whole.map((e) => e.type)).toEqual(['head', 'body', 'complete']);
        expect(whole[1]).toEqual({ type: 'body', data: 'hello' });
        const cuts = [...new Set(cutsRaw.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        expect(parseWithCuts(bytes, cuts)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
});
