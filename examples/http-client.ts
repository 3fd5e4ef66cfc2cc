/**
 * The HTTP client: fetch a page, then stream a file upload with a progress
 * line every 50 ms (LoopingCall). The upload goes only as fast as the server
 * reads it: FileBodyProducer is paused whenever the socket's buffer is full.
 *
 *     node --import tsx examples/http-client.ts                  (against a small server it starts itself)
 *     node --import tsx examples/http-client.ts http://example.com/
 *
 * It exits by itself when done.
 */
// In your project: from 'spindle' and 'spindle/reactor'.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Agent,
  FileBodyProducer,
  HTTPConnectionPool,
  HTTPFactory,
  LoopingCall,
  readBody,
  type CpsApp,
  type ITransport,
} from '../src/index.js';
import reactor from '../src/reactor/index.js';

/** A stand-in server: a page at /, and /upload counts what it is sent, reading slowly. */
const server: CpsApp = (request) => {
  if (request.path !== '/upload') {
    request.setHeader('Content-Type', 'text/html; charset=utf-8');
    request.write('<!doctype html><title>spindle</title><p>hello from spindle</p>\n');
    request.finish();
    return;
  }
  let received = 0;
  let transport: ITransport | null = null;
  request.deliverBody({
    makeConnection: (t) => void (transport = t),
    // Read in bursts: pause for 5 ms after each piece, so the upload has to wait for us.
    dataReceived: (data) => {
      received += data.length;
      transport!.pauseProducing();
      reactor.callLater(0.005, () => transport!.resumeProducing());
    },
    connectionLost: () => {
      request.write(`received ${received} bytes\n`);
      request.finish();
    },
  });
};

async function main(): Promise<void> {
  const pool = new HTTPConnectionPool(reactor, { maxPersistentPerHost: 2 });
  const agent = new Agent(reactor, { pool, timeout: 30 });
  let base = process.argv[2];
  let stopServer = async (): Promise<void> => {};
  if (base === undefined) {
    const port = await reactor.listenTCP(0, new HTTPFactory(server, { reactor }), { host: '127.0.0.1' });
    base = `http://127.0.0.1:${port.getHost().port}/`;
    stopServer = async () => void (await port.stopListening());
  }

  // 1. Fetch a page.
  const page = await agent.request('GET', base, { 'User-Agent': 'spindle-example' });
  const body = await readBody(page, { limit: 1 << 20 });
  console.log(
    `GET ${base} -> ${page.code} ${page.phrase}, ${body.length} bytes, ${page.headers.get('content-type') ?? 'no content-type'}`,
  );

  // 2. Stream a file upload (only to our own server), printing progress.
  if (process.argv[2] === undefined) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-upload-')), 'upload.bin');
    fs.writeFileSync(file, Buffer.alloc(16 * 1024 * 1024, 0x2a));
    const producer = new FileBodyProducer(file);
    const progress = new LoopingCall(
      () => console.log(`sent ${Math.floor((100 * producer.produced) / producer.length)}% (${producer.state})`),
      { clock: reactor },
    );
    void progress.start(0.05);
    const response = await agent.request(
      'PUT',
      new URL('/upload', base).href,
      { 'Content-Type': 'application/octet-stream' },
      producer,
    );
    progress.stop();
    console.log(
      `upload done: ${response.code} ${Buffer.from(await readBody(response))
        .toString()
        .trim()}`,
    );
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  await pool.closeCachedConnections();
  await stopServer();
}

reactor.run();
main().then(
  () => void reactor.stop(),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
    void reactor.stop();
  },
);
