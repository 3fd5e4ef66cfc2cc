/**
 * Common header names matched from the bytes, and each common field's last
 * value reused while a keep-alive client repeats it (src/protocols/http/
 * fieldnames.ts, issue 17). The parser's output must be what reading every
 * name and value from the bytes gives: checked on one connection whose
 * requests repeat, change and re-spell fields, at every split, and over
 * random sequences of requests (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMON_COUNT, commonFieldName, RECENT_VALUE_MAX_BYTES, sameLatin1 } from '../src/protocols/http/fieldnames.js';
import { HTTPParser } from '../src/protocols/http/parser.js';
import { enc, parseWithCuts } from './http-parser-helpers.js';

const heads = (events: ReturnType<typeof parseWithCuts>) =>
  events.flatMap((e) => (e.type === 'head' ? [e.headers] : e.type === 'error' ? [[['error', e.code]]] : []));

describe('common header names and repeated values', () => {
  it('matches a common name only as spelled, and gives its lower-cased form', () => {
    const b = enc('Host User-Agent host HOST Hostx');
    expect(commonFieldName(b, 0, 4)).toMatchObject({ name: 'Host', lower: 'host' });
    expect(commonFieldName(b, 5, 15)).toMatchObject({ name: 'User-Agent', lower: 'user-agent' });
    expect(commonFieldName(b, 16, 20)).toMatchObject({ name: 'host', lower: 'host' });
    expect(commonFieldName(b, 21, 25)).toBeNull(); // another spelling: read from the bytes
    expect(commonFieldName(b, 26, 31)).toBeNull();
    expect(sameLatin1('abc', enc('xabc'), 1, 4)).toBe(true);
    expect(sameLatin1('abd', enc('xabc'), 1, 4)).toBe(false);
    expect(sameLatin1('ab', enc('xabc'), 1, 4)).toBe(false);
  });

  it('on one connection, a value that repeats, changes (same length too), or comes under another spelling is read right', () => {
    const requests = [
      'GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: u1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: u1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: b.example\r\nUser-Agent: u2\r\n\r\n',
      'GET / HTTP/1.1\r\nHOST: a.example\r\nuser-agent: u2\r\n\r\n',
      'GET / HTTP/1.1\r\nhost: \xe9.example\r\nUser-Agent:  u2 \r\n\r\n',
    ];
    const bytes = enc(requests.join(''));
    const want = [
      [
        ['Host', 'a.example'],
        ['User-Agent', 'u1'],
      ],
      [
        ['Host', 'a.example'],
        ['User-Agent', 'u1'],
      ],
      [
        ['Host', 'b.example'],
        ['User-Agent', 'u2'],
      ],
      [
        ['HOST', 'a.example'],
        ['user-agent', 'u2'],
      ],
      [['error', 'ERR_HTTP_BAD_HOST']], // é is not a host character: the check runs on the reused path too
    ];
    for (let cut = 0; cut <= bytes.length; cut++) expect(heads(parseWithCuts(bytes, [cut]))).toEqual(want);
  });

  it('keeps no value longer than RECENT_VALUE_MAX_BYTES for reuse (a connection holds at most ~5.6 KiB of them)', () => {
    const recent = new HTTPParser({ onHead() {}, onBody() {}, onComplete() {}, onError() {} }).recent;
    const parser = new HTTPParser({ onHead() {}, onBody() {}, onComplete() {}, onError() {} });
    const long = 'c'.repeat(RECENT_VALUE_MAX_BYTES + 1);
    const short = 'c'.repeat(RECENT_VALUE_MAX_BYTES);
    parser.feed(enc(`GET / HTTP/1.1\r\nHost: h\r\nCookie: ${long}\r\nReferer: ${short}\r\n\r\n`));
    expect(parser.recent.filter((v) => v !== undefined).sort()).toEqual([short, 'h']);
    expect(recent.length).toBe(COMMON_COUNT);
  });

  it('over random requests on one connection, names and values are the bytes’ (property)', () => {
    const name = fc.constantFrom(
      'Host',
      'host',
      'HOST',
      'Accept',
      'accept',
      'X-Thing',
      'Cookie',
      'User-Agent',
      'Referer',
    );
    const value = fc.constantFrom('a', 'b', 'ab', 'ba', 'a b', '', 'x'.repeat(70));
    const request = fc
      .array(fc.tuple(name, value), { maxLength: 5 })
      .map((fields) => [['Host', 'h'] as [string, string], ...fields.filter(([n]) => n.toLowerCase() !== 'host')]);
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 6 }), (reqs) => {
        const text = reqs.map((f) => `GET / HTTP/1.1\r\n${f.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`).join('');
        expect(heads(parseWithCuts(enc(text), []))).toEqual(reqs);
      }),
      { numRuns: 300 },
    );
  });
});
