/**
 * Real clients nobody here wrote, against spindle over TLS and a Unix socket:
 * curl --cacert (keep-alive, and a 100 MiB streamed download at bounded
 * server memory), curl --unix-socket, Node's https.get and Python's
 * http.client.HTTPSConnection.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCpsApp } from '../src/bridge/gateway.js';
import { HTTPFactory } from '../src/protocols/http/factory.js';
import { serverFromString } from '../src/protocols/endpoints.js';
import { TRANSPORT_HIGH_WATER, type TCPConnection } from '../src/reactor/tcpconnection.js';
import type { Environ, IterApp, StartResponse } from '../src/bridge/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';
import type { IListeningPort, IProtocolFactory } from '../src/reactor/interfaces.js';
import type { TLSListeningPort } from '../src/reactor/tls/index.js';
import { CA, CA_PATH, CERT_PATH, KEY_PATH } from './tls-fixtures.js';

const MiB = 1024 * 1024;
const DOWNLOAD = 100 * MiB;
const CHUNK = 64 * 1024;

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 4 * MiB, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr }),
    );
  });
}

/** The server's connections, to read how much each holds in its write buffer. */
const transports: TCPConnection[] = [];
/** Answers /hello with its scheme; /big streams DOWNLOAD bytes in fresh 64 KiB chunks, noting the most any connection held. */
let peakBuffered = 0;
const app = ((environ: Environ, startResponse: StartResponse) => {
  if (environ.PATH_INFO === '/big') {
    startResponse('200 OK', [
      ['Content-Type', 'application/octet-stream'],
      ['Content-Length', String(DOWNLOAD)],
    ]);
    return (function* () {
      for (let sent = 0; sent < DOWNLOAD; sent += CHUNK) {
        for (const t of transports) peakBuffered = Math.max(peakBuffered, t.bufferSize);
        yield Buffer.alloc(CHUNK, sent & 0xff);
      }
    })();
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [
    `hello over ${environ['wsgi.url_scheme']}${environ.HTTPS === 'on' ? ' (HTTPS=on)' : ''} from ${environ.REMOTE_ADDR === '' ? 'a unix socket' : environ.REMOTE_ADDR}\n`,
  ];
}) as IterApp;

const dir = mkdtempSync(join(tmpdir(), 'spindle-real-clients-'));
const sock = join(dir, 'app.sock');
const reactor = new NodeReactor();
let ports: IListeningPort[] = [];
let tlsPort = 0;

beforeAll(async () => {
  reactor.run();
  const http = new HTTPFactory(toCpsApp(app, { reactor }), { reactor });
  const factory: IProtocolFactory = {
    buildProtocol(addr) {
      const p = http.buildProtocol(addr);
      const make = p.makeConnection.bind(p);
      p.makeConnection = (t) => {
        transports.push(t as TCPConnection);
        make(t);
      };
      return p;
    },
    doStart: () => http.doStart(),
    doStop: () => http.doStop(),
  };
  ports = [
    await serverFromString(reactor, `tls:0:interface=127.0.0.1:privateKey=${KEY_PATH}:certKey=${CERT_PATH}`).listen(
      factory,
    ),
    await serverFromString(reactor, `unix:${sock}`).listen(factory),
  ];
  tlsPort = ports[0]!.getHost().port;
});

afterAll(async () => {
  for (const p of ports) await p.stopListening();
  await reactor.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('real clients over TLS and a Unix socket', () => {
  it('curl --cacert: two requests on one kept-alive TLS connection', async () => {
    const before = reactor.stats.totalConnections;
    const url = `https://localhost:${tlsPort}/hello`;
    const { stdout, stderr } = await run('curl', ['-sS', '-v', '--cacert', CA_PATH, url, url]);
    expect(stdout).toBe('hello over https (HTTPS=on) from 127.0.0.1\n'.repeat(2));
    expect(stderr).toMatch(/Re-using existing connection|Reusing existing connection/);
    expect(reactor.stats.totalConnections - before).toBe(1);
    expect((ports[0] as TLSListeningPort).handshakes.failed).toBe(0);
  });

  it('curl --cacert: a 100 MiB streamed download arrives whole while the server holds at most the high-water mark and a chunk', async () => {
    peakBuffered = 0;
    const { stdout } = await run('curl', [
      '-sS',
      '--cacert',
      CA_PATH,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{size_download}',
      `https://localhost:${tlsPort}/big`,
    ]);
    expect(stdout).toBe(`200 ${DOWNLOAD}`);
    // Bounded by the transport's high-water mark and the gateway's pull-on-demand, not by the body.
    expect(peakBuffered).toBeGreaterThan(0);
    expect(peakBuffered).toBeLessThanOrEqual(TRANSPORT_HIGH_WATER + 2 * CHUNK);
  }, 60_000);

  it('curl --unix-socket: REMOTE_ADDR is empty', async () => {
    const { stdout } = await run('curl', ['-sS', '--unix-socket', sock, 'http://localhost/hello']);
    expect(stdout).toBe('hello over http from a unix socket\n');
  });

  it("Node's https.get trusts the test CA and reads the answer", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port: tlsPort, path: '/hello', ca: CA, servername: 'localhost' }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    expect(body).toBe('hello over https (HTTPS=on) from 127.0.0.1\n');
  });

  it("Python's http.client.HTTPSConnection: two requests on one connection, certificate checked", async () => {
    const script = [
      'import http.client, ssl, sys',
      `ctx = ssl.create_default_context(cafile=${JSON.stringify(CA_PATH)})`,
      `c = http.client.HTTPSConnection("localhost", ${tlsPort}, context=ctx)`,
      'for _ in range(2):',
      '    c.request("GET", "/hello")',
      '    r = c.getresponse()',
      '    sys.stdout.write(f"{r.status} {r.read().decode()}")',
      'c.close()',
    ].join('\n');
    const before = reactor.stats.totalConnections;
    const { stdout } = await run('python3', ['-c', script]);
    expect(stdout).toBe('200 hello over https (HTTPS=on) from 127.0.0.1\n'.repeat(2));
    expect(reactor.stats.totalConnections - before).toBe(1);
  });
});
