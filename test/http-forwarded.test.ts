/**
 * Issue 13, behind a load balancer: `trustedProxies` makes `request.client`,
 * `REMOTE_ADDR` and `wsgi.url_scheme` follow `Forwarded` (RFC 7239) or
 * `X-Forwarded-For` / `X-Forwarded-Proto`, only when the peer is a trusted
 * proxy; the client is the right-most untrusted hop. The same headers from
 * any other peer (a client spoofing them) change nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import { serve } from '../src/bridge/serve.js';
import type { IListeningPort } from '../src/reactor/interfaces.js';
import type { IterApp } from '../src/bridge/interfaces.js';
import type { IRequest } from '../src/protocols/http/interfaces.js';
import { Headers } from '../src/protocols/http/headers.js';
import { resolveForwarded, TrustedProxies } from '../src/protocols/http/forwarded.js';
import { TrustedProxyError } from '../src/protocols/errors.js';

const headersOf = (pairs: Array<[string, string]>) => Headers.fromPairs(pairs);
const peer = (host: string) => ({ host, port: 5555 });

describe('TrustedProxies', () => {
  it('takes addresses and CIDR ranges, IPv4 and IPv6, and matches IPv4-mapped IPv6 peers', () => {
    const t = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']);
    expect(t.has('10.200.3.4')).toBe(true);
    expect(t.has('11.0.0.1')).toBe(false);
    expect(t.has('192.168.1.7')).toBe(true);
    expect(t.has('192.168.1.8')).toBe(false);
    expect(t.has('::1')).toBe(true);
    expect(t.has('fd12:3456::9')).toBe(true);
    expect(t.has('fe80::1')).toBe(false);
    expect(t.has('::ffff:10.1.2.3')).toBe(true);
    expect(t.has('unknown')).toBe(false);
  });

  it.each([
    ['localhost', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/33', /prefix length must be 0-32/],
    ['fd00::/129', /prefix length must be 0-128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.1 ', /not an IPv4 or IPv6 address/],
  ])('refuses %j with TrustedProxyError naming it and showing good entries', (entry, why) => {
    let err: unknown;
    try {
      new TrustedProxies([entry]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrustedProxyError);
    expect((err as TrustedProxyError).code).toBe('ERR_TRUSTED_PROXY');
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toMatch(/e\.g\. 10\.0\.0\.1, 10\.0\.0\.0\/8/);
  });
});

describe('resolveForwarded', () => {
  const trusted = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48']);

  it('ignores every header from a peer that is not a trusted proxy', () => {
    const h = headersOf([
      ['x-forwarded-for', '1.2.3.4'],
      ['x-forwarded-proto', 'https'],
      ['forwarded', 'for=5.6.7.8;proto=https'],
    ]);
    expect(resolveForwarded(peer('203.0.113.9'), h, trusted)).toBeNull();
  });

  it('takes the right-most untrusted X-Forwarded-For hop, so a spoofed left part is never chosen', () => {
    const h = headersOf([
      ['x-forwarded-for', '6.6.6.6, 198.51.100.7, 10.1.1.1'],
      ['x-forwarded-proto', 'https'],
    ]);
    expect(resolveForwarded(peer('10.0.0.2'), h, trusted)).toEqual({
      client: { host: '198.51.100.7', port: 0, family: 'IPv4' },
      scheme: 'https',
    });
  });

  it('takes the left-most hop when every hop is a trusted proxy', () => {
    const h = headersOf([['x-forwarded-for', '10.9.9.9,10.1.1.1']]);
    expect(resolveForwarded(peer('10.0.0.2'), h, trusted)?.client.host).toBe('10.9.9.9');
  });

  it("reads X-Forwarded-Proto per hop when it has one entry per hop, else its right-most entry; the connection's scheme stays without it", () => {
    const perHop = headersOf([
      ['x-forwarded-for', '198.51.100.7, 10.1.1.1'],
      ['x-forwarded-proto', 'https, http'],
    ]);
    expect(resolveForwarded(peer('10.0.0.2'), perHop, trusted)?.scheme).toBe('https');
    const single = headersOf([
      ['x-forwarded-for', '198.51.100.7, 10.1.1.1'],
      ['x-forwarded-proto', 'https'],
    ]);
    expect(resolveForwarded(peer('10.0.0.2'), single, trusted)?.scheme).toBe('https');
    const none = headersOf([['x-forwarded-for', '198.51.100.7']]);
    expect(resolveForwarded(peer('10.0.0.2'), none, trusted)?.scheme).toBeUndefined();
    const odd = headersOf([
      ['x-forwarded-for', '198.51.100.7'],
      ['x-forwarded-proto', 'gopher'],
    ]);
    expect(resolveForwarded(peer('10.0.0.2'), odd, trusted)?.scheme).toBeUndefined();
  });

  it('reads Forwarded (RFC 7239): quoted IPv6 with a port, proto of the chosen element, and prefers it to X-Forwarded-*', () => {
    const h = headersOf([
      [
        'forwarded',
        'for=6.6.6.6;proto=http, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.2, For=10.3.3.3;proto=http',
      ],
      ['x-forwarded-for', '7.7.7.7'],
    ]);
    expect(resolveForwarded(peer('10.0.0.2'), h, trusted)).toEqual({
      client: { host: '2001:db8:cafe::17', port: 4711, family: 'IPv6' },
      scheme: 'https',
    });
    const split = headersOf([
      ['forwarded', 'for=192.0.2.60:8080;proto=https'],
      ['forwarded', 'for=10.4.4.4'],
    ]);
    expect(resolveForwarded(peer('10.0.0.2'), split, trusted)).toEqual({
      client: { host: '192.0.2.60', port: 8080, family: 'IPv4' },
      scheme: 'https',
    });
    expect(resolveForwarded(peer('10.0.0.2'), headersOf([['forwarded', 'for=unknown']]), trusted)?.client).toEqual({
      host: 'unknown',
      port: 0,
    });
  });

  it.each(['for="1.2.3.4', 'for=1.2.3.4;for=5.6.7.8', 'for', 'for=;proto=https', 'for=1.2.3.4 proto=https'])(
    'does not believe a malformed Forwarded: %j',
    (value) => {
      expect(resolveForwarded(peer('10.0.0.2'), headersOf([['forwarded', value]]), trusted)).toBeNull();
    },
  );

  it('keeps only SP and HTAB as list whitespace (U+00A0 is data, not a separator)', () => {
    const h = headersOf([['x-forwarded-for', '198.51.100.7,\u00a010.1.1.1']]);
    // '\u00a010.1.1.1' is not an address, so it is the right-most untrusted hop: never the proxy's own entry trimmed.
    expect(resolveForwarded(peer('10.0.0.2'), h, trusted)?.client.host).toBe('\u00a010.1.1.1');
  });
});

describe('trustedProxies on a real server (serve())', () => {
  const ports: IListeningPort[] = [];
  afterEach(async () => {
    while (ports.length) await ports.pop()!.stopListening();
  });

  const iterApp: IterApp = (environ, startResponse) => {
    startResponse('200 OK', [['content-type', 'text/plain']]);
    return [`${String(environ.REMOTE_ADDR)} ${String(environ['wsgi.url_scheme'])}`];
  };
  const cpsApp = (request: IRequest) => {
    request.setHeader('content-type', 'text/plain');
    request.write(`${request.client.host} ${request.secure ? 'https' : 'http'}`);
    request.finish();
  };

  async function get(port: number, headers: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  }

  const spoof = { 'x-forwarded-for': '6.6.6.6, 198.51.100.7', 'x-forwarded-proto': 'https' };

  it('believes the headers from a trusted proxy (127.0.0.1 here), for iterator and CPS apps', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    try {
      for (const [style, app] of [
        ['iter', iterApp],
        ['cps', cpsApp],
      ] as const) {
        const port = await serve(app, {
          style,
          port: 0,
          host: '127.0.0.1',
          reactor,
          trustedProxies: ['127.0.0.0/8', '::1'],
        });
        ports.push(port);
        expect(await get(port.getHost().port, spoof)).toBe('198.51.100.7 https');
        expect(await get(port.getHost().port, { forwarded: 'for="[2001:db8::5]:9";proto=https' })).toBe(
          '2001:db8::5 https',
        );
        expect(await get(port.getHost().port, {})).toBe('127.0.0.1 http');
      }
    } finally {
      await reactor.stop();
    }
  });

  it('ignores the same headers from a peer that is not a trusted proxy (a spoofing client), and with no trustedProxies', async () => {
    const reactor = new NodeReactor();
    reactor.run();
    try {
      for (const trustedProxies of [['10.0.0.0/8'], undefined]) {
        for (const [style, app] of [
          ['iter', iterApp],
          ['cps', cpsApp],
        ] as const) {
          const port = await serve(app, {
            style,
            port: 0,
            host: '127.0.0.1',
            reactor,
            ...(trustedProxies ? { trustedProxies } : {}),
          });
          ports.push(port);
          expect(await get(port.getHost().port, spoof)).toBe('127.0.0.1 http');
          expect(await get(port.getHost().port, { forwarded: 'for=5.6.7.8;proto=https' })).toBe('127.0.0.1 http');
        }
      }
    } finally {
      await reactor.stop();
    }
  });

  it('refuses a bad entry when the server is made, not on the first request', () => {
    expect(() =>
      serve(cpsApp, { style: 'cps', port: 0, reactor: new NodeReactor(), trustedProxies: ['proxy.internal'] }),
    ).toThrow(TrustedProxyError);
  });
});
