/**
 * Embedding the reactor in a command-line tool: connect with connectTCP, count
 * the lines a server sends, show progress with a LoopingCall, and shut down
 * cleanly so the process exits by itself (no process.exit).
 *
 *     node --import tsx examples/embed-cli-tool.ts HOST:PORT    count lines from a server
 *     node --import tsx examples/embed-cli-tool.ts              ...from a built-in source
 */
import { ClientFactory, Factory, LineReceiver, LoopingCall } from '../src/index.js'; // 'spindle'
import type { Failure, IConnector, IListeningPort } from '../src/index.js';
import reactor from '../src/reactor/index.js'; // 'spindle/reactor'

let lines = 0;

class Counter extends LineReceiver {
  override lineReceived(): void {
    lines++;
  }
}

class CounterFactory extends ClientFactory {
  override protocol = Counter;
  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    finish(`spindle-linecount: ${reason.getErrorMessage()}`, 1);
  }
  override clientConnectionLost(): void {
    finish(`received ${lines} lines`, 0); // the server closed: we are done
  }
}

/** A built-in server that sends 50 lines, ten every 20 ms, then hangs up. */
class Source extends LineReceiver {
  override connectionMade(): void {
    let sent = 0;
    const batch = () => {
      for (let i = 0; i < 10; i++) this.sendLine(`line ${++sent}`);
      if (sent < 50) reactor.callLater(0.02, batch);
      else this.transport.loseConnection();
    };
    batch();
  }
}

const progress = new LoopingCall(() => process.stderr.write(`\r${lines} lines so far`), { clock: reactor });
let source: IListeningPort | undefined;
let done = false;

function finish(message: string, code: number): void {
  if (done) return;
  done = true;
  process.stderr.write('\n');
  console.log(message);
  process.exitCode = code;
  if (progress.running) progress.stop();
  // Stop everything we started; with nothing left, Node exits on its own.
  void Promise.resolve(source?.stopListening()).then(() => reactor.stop());
}

async function main(): Promise<void> {
  const target = process.argv[2];
  // A typo ('localhost8000') must not silently count the built-in source instead.
  if (target !== undefined && !/^[^:]+:\d{1,5}$/.test(target)) {
    console.error(`spindle-linecount: expected HOST:PORT (e.g. 127.0.0.1:8000), got '${target}'`);
    process.exitCode = 2;
    return;
  }
  reactor.run({ installSignalHandlers: true }); // Ctrl-C stops the reactor...
  let [host, port] = (target ?? '').split(':') as [string, string | undefined];
  if (!port) {
    const serverFactory = new Factory();
    serverFactory.protocol = Source;
    source = await reactor.listenTCP(0, serverFactory, { host: '127.0.0.1' });
    [host, port] = ['127.0.0.1', String(source.getHost().port)];
  }
  const connector = reactor.connectTCP(host, Number(port), new CounterFactory(), { timeout: 5 });
  // ...and this trigger drops the connection then, so nothing keeps Node alive.
  reactor.addSystemEventTrigger('before', 'shutdown', () => connector.disconnect());
  void progress.start(0.1);
}

void main();
