/**
 * Endpoint strings: a table of good descriptions and what they mean, a table
 * of bad ones and the part each error names, then each kind used for real
 * (listen and connect over TCP, TLS and a Unix socket) and on a MemoryReactor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clientFromString,
  parseClientEndpoint,
  parseServerEndpoint,
  serverFromString,
} from '../src/protocols/endpoints.js';
import { EndpointFileError, EndpointSyntaxError } from '../src/protocols/errors.js';
import { MemoryReactor } from '../src/reactor/memoryreactor.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { TCPConnection } from '../src/reactor/tcpconnection.js';
import { oneShotFactory, turnUntil, Recorder } from './transport-suite.js';
import { CA_PATH, CERT_PATH, KEY_PATH } from './tls-fixtures.js';

const goodServers: [string, unknown][] = [
  ['tcp:8080', { kind: 'tcp', port: 8080 }],
  ['tcp:0:interface=127.0.0.1', { kind: 'tcp', port: 0, host: '127.0.0.1' }],
  ['tcp:port=80:interface=0.0.0.0:backlog=100', { kind: 'tcp', port: 80, host: '0.0.0.0', backlog: 100 }],
  ['tcp:8080:interface=\\:\\:1', { kind: 'tcp', port: 8080, host: '::1' }],
  ['tls:8443:privateKey=k.pem:certKey=c.pem', { kind: 'tls', port: 8443, privateKey: 'k.pem', certKey: 'c.pem' }],
  [
    'tls:443:privateKey=/etc/k.pem:certKey=/etc/c.pem:interface=10.0.0.1:extraCertChain=chain.pem',
    {
      kind: 'tls',
      port: 443,
      host: '10.0.0.1',
      privateKey: '/etc/k.pem',
      certKey: '/etc/c.pem',
      extraCertChain: 'chain.pem',
    },
  ],
  [
    'tls:8443:privateKey=C\\:\\\\keys\\\\k.pem:certKey=c.pem',
    { kind: 'tls', port: 8443, privateKey: 'C:\\keys\\k.pem', certKey: 'c.pem' },
  ],
  ['unix:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
  ['unix:/run/app.sock:mode=660', { kind: 'unix', path: '/run/app.sock', mode: 0o660 }],
  [
    'unix:address=/tmp/a\\:b.sock:mode=0o600:backlog=5',
    { kind: 'unix', path: '/tmp/a:b.sock', mode: 0o600, backlog: 5 },
  ],
  ['unix:address=/run/a=b.sock', { kind: 'unix', path: '/run/a=b.sock' }],
];

const badServers: [string, string, RegExp][] = [
  ['', 'kind', /the kind "" is not one of tcp, tls, unix; for example tcp:8080/],
  ['http:8080', 'kind', /the kind "http" is not one of tcp, tls, unix/],
  ['8080', 'kind', /is not one of/],
  ['tcp', 'port', /port is missing; for example tcp:8080:interface=127.0.0.1/],
  ['tcp:eighty', 'port', /port must be a whole number from 0 to 65535, got "eighty"/],
  ['tcp:70000', 'port', /from 0 to 65535, got "70000"/],
  ['tcp:-1', 'port', /whole number/],
  ['tcp:8080:host=127.0.0.1', 'host', /host= is not a part of a tcp endpoint \(it takes port, interface, backlog\)/],
  ['tcp:8080:interface=', 'interface', /interface is empty/],
  ['tcp:8080:backlog=lots', 'backlog', /backlog must be a whole number/],
  ['tcp:8080:8081', '8081', /too many positional parts/],
  ['tcp:8080:port=8081', 'port', /port is given twice/],
  ['tcp:interface=127.0.0.1:8080', '8080', /comes after a key=value part/],
  ['tcp:8080:interface=a:interface=b', 'interface', /interface is given twice/],
  ['tcp:8080:=x', '=x', /has no key/],
  ['tcp:8080\\', 'end', /lone backslash/],
  ['tls:8443', 'privateKey', /privateKey is missing; for example tls:8443:privateKey=key.pem:certKey=cert.pem/],
  ['tls:8443:privateKey=k.pem', 'certKey', /certKey is missing/],
  ['tls:8443:privateKey=k.pem:certKey=c.pem:caCerts=x', 'caCerts', /caCerts= is not a part of a tls endpoint/],
  [
    'unix',
    'address (the socket path)',
    /address \(the socket path\) is missing; for example unix:\/run\/app.sock:mode=660/,
  ],
  ['unix:/run/a.sock:mode=999', 'mode', /mode must be an octal file mode such as 660, got "999"/],
  ['unix:/run/a.sock:mode=rw', 'mode', /octal/],
];

const goodClients: [string, unknown][] = [
  ['tcp:host=example.org:port=80', { kind: 'tcp', host: 'example.org', port: 80 }],
  ['tcp:example.org:80:timeout=2.5', { kind: 'tcp', host: 'example.org', port: 80, timeout: 2.5 }],
  ['tcp:host=\\:\\:1:port=8080', { kind: 'tcp', host: '::1', port: 8080 }],
  ['tls:host=example.org:port=443', { kind: 'tls', host: 'example.org', port: 443 }],
  [
    'tls:host=127.0.0.1:port=8443:trustRoots=ca.pem:servername=localhost',
    { kind: 'tls', host: '127.0.0.1', port: 8443, trustRoots: 'ca.pem', servername: 'localhost' },
  ],
  [
    'tls:host=h:port=1:certificate=c.pem:privateKey=k.pem',
    { kind: 'tls', host: 'h', port: 1, certificate: 'c.pem', privateKey: 'k.pem' },
  ],
  ['unix:path=/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
  ['unix:/run/app.sock:timeout=1', { kind: 'unix', path: '/run/app.sock', timeout: 1 }],
];

const badClients: [string, string, RegExp][] = [
  [
    'udp:host=h:port=1',
    'kind',
    /the kind "udp" is not one of tcp, tls, unix; for example tcp:host=example.org:port=80/,
  ],
  ['tcp:port=80', 'host', /host is missing; for example tcp:host=example.org:port=80/],
  ['tcp:host=h', 'port', /port is missing/],
  ['tcp:host=h:port=0', 'port', /from 1 to 65535, got "0"/],
  ['tcp:host=h:port=80:timeout=soon', 'timeout', /timeout must be a positive number of seconds/],
  ['tcp:host=h:port=80:timeout=0', 'timeout', /positive number/],
  ['tcp:host=h:port=80:trustRoots=ca.pem', 'trustRoots', /trustRoots= is not a part of a tcp endpoint/],
  [
    'tls:host=h:port=443:certificate=c.pem',
    'privateKey',
    /needs both certificate= and privateKey=; for example tls:host=example.org:port=443/,
  ],
  ['unix:', 'path', /path is missing; for example unix:path=\/run\/app.sock/],
  ['unix:path=/a:mode=660', 'mode', /mode= is not a part of a unix endpoint/],
];

describe('endpoint strings: parsing', () => {
  it.each(goodServers)('server %s', (desc, spec) => {
    expect(parseServerEndpoint(desc)).toEqual(spec);
  });
  it.each(badServers)('server %j fails naming %j', (desc, part, message) => {
    let err: unknown;
    try {
      parseServerEndpoint(desc);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EndpointSyntaxError);
    expect((err as EndpointSyntaxError).code).toBe('ERR_ENDPOINT_SYNTAX');
    expect((err as EndpointSyntaxError).part).toBe(part);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`bad endpoint ${JSON.stringify(desc)}`);
  });
  it.each(goodClients)('client %s', (desc, spec) => {
    expect(parseClientEndpoint(desc)).toEqual(spec);
  });
  it.each(badClients)('client %j fails naming %j', (desc, part, message) => {
    let err: unknown;
    try {
      parseClientEndpoint(desc);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EndpointSyntaxError);
    expect((err as EndpointSyntaxError).part).toBe(part);
    expect((err as Error).message).toMatch(message);
  });
  it('serverFromString and clientFromString throw at once for a malformed string', () => {
    const reactor = new MemoryReactor();
    expect(() => serverFromString(reactor, 'tcp:port')).toThrow(EndpointSyntaxError);
    expect(() => clientFromString(reactor, 'tcp:host=h')).toThrow(EndpointSyntaxError);
  });
});

describe('endpoint strings: listening and connecting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-endpoints-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('on a MemoryReactor, each kind reaches the matching listen/connect call with its options', () => {
    const reactor = new MemoryReactor();
    const f = oneShotFactory(new Recorder());
    void serverFromString(reactor, 'tcp:8080:interface=127.0.0.1:backlog=7').listen(f);
    void serverFromString(reactor, 'unix:/run/app.sock:mode=660').listen(f);
    void serverFromString(
      reactor,
      `tls:8443:privateKey=${KEY_PATH}:certKey=${CERT_PATH}:extraCertChain=${CA_PATH}`,
    ).listen(f);
    clientFromString(reactor, 'tcp:host=example.org:port=80:timeout=3').connect(f);
    clientFromString(reactor, 'unix:path=/run/app.sock').connect(f);
    clientFromString(reactor, `tls:host=localhost:port=8443:trustRoots=${CA_PATH}`).connect(f);
    expect(reactor.tcpServers[0]).toMatchObject({ port: 8080, host: '127.0.0.1', backlog: 7 });
    expect(reactor.unixServers[0]).toMatchObject({ path: '/run/app.sock', mode: 0o660 });
    const tls = reactor.tlsServers[0]!;
    expect(tls.port).toBe(8443);
    expect(String(tls.options.cert)).toMatch(/BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE/); // the chain is appended
    expect(String(tls.options.key)).toMatch(/PRIVATE KEY/);
    expect(reactor.tcpClients[0]).toMatchObject({ host: 'example.org', port: 80, timeout: 3 });
    expect(reactor.unixClients[0]).toMatchObject({ path: '/run/app.sock' });
    expect(String(reactor.tlsClients[0]!.options.ca)).toMatch(/BEGIN CERTIFICATE/);
  });

  it('a TLS endpoint whose key file is missing errbacks with EndpointFileError naming the part and path', async () => {
    const reactor = new MemoryReactor();
    const err = await serverFromString(reactor, `tls:8443:privateKey=${dir}/nope.pem:certKey=${CERT_PATH}`)
      .listen(oneShotFactory(new Recorder()))
      .asPromise()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointFileError);
    expect((err as Error).message).toMatch(/cannot read privateKey=.*nope.pem \(ENOENT\)/);
  });

  it.each(['tcp', 'tls', 'unix'])('%s: a server endpoint and a client endpoint connect for real', async (kind) => {
    const reactor = new NodeReactor();
    reactor.run();
    const server = new Recorder();
    const client = new Recorder();
    const sock = join(dir, `${kind}.sock`);
    const serverDesc =
      kind === 'tcp'
        ? 'tcp:0:interface=127.0.0.1'
        : kind === 'tls'
          ? `tls:0:interface=127.0.0.1:privateKey=${KEY_PATH}:certKey=${CERT_PATH}`
          : `unix:${sock}`;
    const port = await serverFromString(reactor, serverDesc).listen(oneShotFactory(server));
    const n = port.getHost().port;
    const clientDesc =
      kind === 'tcp'
        ? `tcp:host=127.0.0.1:port=${n}`
        : kind === 'tls'
          ? `tls:host=127.0.0.1:port=${n}:trustRoots=${CA_PATH}`
          : `unix:path=${sock}`;
    clientFromString(reactor, clientDesc).connect(oneShotFactory(client));
    await turnUntil(() => server.made === 1 && client.made === 1, 'connected');
    client.transport.write(Buffer.from('ping'));
    await turnUntil(() => server.received === 4, 'bytes arrived');
    expect((server.transport as TCPConnection).secure).toBe(kind === 'tls');
    client.transport.loseConnection();
    await turnUntil(() => reactor.stats.openConnections === 0, 'closed');
    await port.stopListening();
    await reactor.stop();
  });
});

describe('endpoint strings: escaping, for any text', () => {
  /** Escape ':', '=' and '\\' as Twisted's quoteStringArgument does. */
  const quote = (s: string) => s.replace(/[\\:=]/g, (c) => `\\${c}`);
  it('any host or path, quoted, parses back to itself', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 65535 }), (text, port) => {
        expect(parseClientEndpoint(`tcp:host=${quote(text)}:port=${port}`)).toEqual({ kind: 'tcp', host: text, port });
        expect(parseServerEndpoint(`unix:address=${quote(text)}`)).toEqual({ kind: 'unix', path: text });
        expect(parseServerEndpoint(`tls:${port}:privateKey=${quote(text)}:certKey=c`)).toMatchObject({
          privateKey: text,
        });
      }),
      { numRuns: 500 },
    );
  });
  it('any string either parses or throws EndpointSyntaxError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.constantFrom('tcp:', 'tls:', 'unix:').chain((k) => fc.string({ maxLength: 30 }).map((s) => k + s)),
        ),
        (desc) => {
          for (const parse of [parseServerEndpoint, parseClientEndpoint]) {
            try {
              parse(desc);
            } catch (err) {
              expect(err).toBeInstanceOf(EndpointSyntaxError);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
