/**
 * An echo server: every byte a client sends comes back.
 *
 *     node --import tsx examples/echo.ts [port]        (default 8000; 0 picks a free port)
 *     nc 127.0.0.1 8000
 *
 * The echo keeps flow control: when a client stops reading, the server's write
 * buffer passes the transport's high-water mark, and the server stops reading
 * from that client until the buffer drains (it registers its own transport as
 * the producer of the data it writes back).
 */
import { Factory, Protocol } from '../src/protocols/index.js'; // 'spindle/protocols'
import type { Failure } from '../src/reactor/index.js';
import reactor from '../src/reactor/index.js'; // 'spindle/reactor'

class Echo extends Protocol {
  override connectionMade(): void {
    // Incoming data is what we write back, so the transport's reading side is
    // the producer to pause when the client is slow to read the echo.
    this.transport.registerProducer(this.transport, true);
  }

  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }

  /** The client finished sending (FIN): stop producing, and close once the echo is flushed. */
  readConnectionLost(): void {
    this.transport.unregisterProducer();
    this.transport.loseConnection();
  }

  override connectionLost(reason: Failure): void {
    const peer = this.transport.getPeer();
    console.log(`${peer.host}:${peer.port} left: ${reason.getErrorMessage()}`);
  }
}

const port = Number(process.argv[2] ?? 8000);
reactor
  .listenTCP(port, Factory.forProtocol(Echo), { host: '127.0.0.1' })
  .addCallback((listening) => {
    const { host, port } = listening.getHost();
    console.log(`echo server listening on ${host}:${port}`);
  })
  .addErrback((failure: Failure) => {
    console.error(failure.getErrorMessage());
    process.exitCode = 1;
    void reactor.stop();
  });
reactor.run({ installSignalHandlers: true });
