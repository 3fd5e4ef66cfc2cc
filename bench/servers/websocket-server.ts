/**
 * Benchmark server (child process) for bench/websocket.ts. `KIND` is 'cps'
 * (a WebSocketProtocol via acceptWebSocket), 'iter' (an iterator app through
 * the gateway) or 'ws' (the ws package's WebSocketServer, the baseline).
 * `MODE` 'echo' sends every message back; 'stream' sends TOTAL bytes in
 * 64 KiB binary messages to each client, as fast as its socket takes them,
 * then closes with 1000. Prints `listening PORT` once ready.
 */
import type { Socket } from 'node:net';
import type { Chunk, Environ } from '../../src/bridge/interfaces.js';
import type { IRequest } from '../../src/protocols/http/interfaces.js';
import type { WebSocketMessage } from '../../src/protocols/websocket/interfaces.js';
import { spindleModule } from './dist.js';

const [kind = 'cps', mode = 'echo', totalArg = '0'] = process.argv.slice(2);
const total = Number(totalArg);
const CHUNK = 64 * 1024;
const shared = Buffer.alloc(CHUNK, 0x61);

if (kind === 'ws') {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });
  wss.on('connection', (ws) => {
    if (mode === 'echo') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      return;
    }
    const socket = (ws as unknown as { _socket: Socket })._socket;
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        ws.send(shared, { binary: true });
        sent += CHUNK;
        if (socket.writableNeedDrain) return void socket.once('drain', pump);
      }
      ws.close(1000);
    };
    pump();
  });
  await new Promise((r) => wss.once('listening', r));
  process.stdout.write(`listening ${(wss.address() as { port: number }).port}\n`);
} else {
  const { NodeReactor } =
    await spindleModule<typeof import('../../src/reactor/nodereactor.js')>('reactor/nodereactor.js');
  const { HTTPFactory } =
    await spindleModule<typeof import('../../src/protocols/http/factory.js')>('protocols/http/factory.js');
  const { toCpsApp } = await spindleModule<typeof import('../../src/bridge/gateway.js')>('bridge/gateway.js');
  const { acceptWebSocket } = await spindleModule<typeof import('../../src/protocols/websocket/accept.js')>(
    'protocols/websocket/accept.js',
  );
  const { WebSocketProtocol } = await spindleModule<typeof import('../../src/protocols/websocket/protocol.js')>(
    'protocols/websocket/protocol.js',
  );

  class Echo extends WebSocketProtocol {
    override messageReceived(data: WebSocketMessage): void {
      this.sendMessage(data);
    }
  }
  /** Sends while the socket takes data: the transport pauses it past its high-water mark. */
  class Stream extends WebSocketProtocol {
    private sent = 0;
    private paused = false;
    override connectionMade(): void {
      this.transport.registerProducer(this, true);
      this.resumeProducing();
    }
    pauseProducing(): void {
      this.paused = true;
    }
    resumeProducing(): void {
      this.paused = false;
      while (!this.paused && this.sent < total) {
        this.sent += CHUNK;
        this.sendMessage(shared);
      }
      if (this.sent >= total) {
        this.transport.unregisterProducer();
        this.close(1000);
      }
    }
    stopProducing(): void {
      this.paused = true;
    }
  }
  function* iterEcho(environ: Environ): Generator<Chunk> {
    const input = environ['spindle.websocket']!.accept()!;
    let resume: (() => void) | null = null;
    environ['wsgi.input_handler']!(input, () => resume?.());
    for (;;) {
      const m = input.receive();
      if (m !== null) yield m;
      else if (input.closed) return;
      else {
        resume = environ['wsgi.pause_output']!();
        yield '';
      }
    }
  }
  function* iterStream(environ: Environ): Generator<Chunk> {
    environ['spindle.websocket']!.accept();
    for (let sent = 0; sent < total; sent += CHUNK) yield shared;
  }
  const reactor = new NodeReactor();
  reactor.run();
  const app =
    kind === 'iter'
      ? toCpsApp(mode === 'echo' ? iterEcho : iterStream, { reactor })
      : (request: IRequest) =>
          void acceptWebSocket(request, mode === 'echo' ? new Echo() : new Stream(), {
            maxMessageBytes: 64 * 1024 * 1024,
          });
  const port = await reactor.listenTCP(0, new HTTPFactory(app, { reactor }), { host: '127.0.0.1' });
  process.stdout.write(`listening ${port.getHost().port}\n`);
}
process.on('SIGTERM', () => process.exit(0));
