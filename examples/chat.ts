/**
 * A line-based chat server: each line a client sends goes to everyone else.
 * The first line is the client's name.
 *
 *     node --import tsx examples/chat.ts [port]        (default 8001)
 *     nc 127.0.0.1 8001                       (in two terminals)
 *
 * Lines longer than LineReceiver's MAX_LENGTH (16 KiB) close the sender's
 * connection with FrameTooLongError, and a member who stops reading is dropped
 * once 64 KiB wait for them; everyone else stays connected.
 */
import { Factory, LineReceiver } from '../src/protocols/index.js'; // 'spindle/protocols'
import type { Failure } from '../src/reactor/index.js';
import reactor from '../src/reactor/index.js'; // 'spindle/reactor'

class ChatFactory extends Factory {
  /** Everyone connected who has given a name. */
  readonly members = new Map<string, Chatter>();

  broadcast(from: string, line: string): void {
    for (const [name, member] of this.members) if (name !== from) member.sendLine(`<${from}> ${line}`);
  }
}

class Chatter extends LineReceiver<ChatFactory> {
  private name: string | null = null;

  override connectionMade(): void {
    // A member who stops reading would make the server buffer the room's
    // chatter for them without end. The transport pauses its producer once
    // 64 KiB wait unsent (TRANSPORT_HIGH_WATER): take that as "too slow, drop".
    this.transport.registerProducer(
      { pauseProducing: () => this.transport.abortConnection(), resumeProducing() {}, stopProducing() {} },
      true,
    );
    this.sendLine('Welcome! What is your name?');
  }

  override lineReceived(line: string): void {
    const room = this.factory!;
    if (this.name !== null) {
      room.broadcast(this.name, line);
      return;
    }
    const wanted = line.trim();
    if (wanted === '' || room.members.has(wanted)) {
      this.sendLine('That name is empty or taken, try another.');
      return;
    }
    this.name = wanted;
    room.members.set(wanted, this);
    this.sendLine(`Hello ${wanted}, ${room.members.size - 1} other(s) here.`);
    room.broadcast(wanted, '(joined)');
  }

  /**
   * The member's input ended (Ctrl-D in nc, or a piped file ran out): drop
   * them, as a member who stops reading is dropped. Without this, the
   * transport's default would loseConnection(), which waits for the producer
   * registered above to be unregistered: that never happens, and the
   * half-closed member would stay in the room for ever.
   */
  readConnectionLost(): void {
    this.transport.abortConnection();
  }

  override connectionLost(_reason: Failure): void {
    if (this.name === null) return;
    this.factory!.members.delete(this.name);
    this.factory!.broadcast(this.name, '(left)');
  }
}

const port = Number(process.argv[2] ?? 8001);
reactor
  .listenTCP(port, ChatFactory.forProtocol(Chatter), { host: '127.0.0.1' })
  .addCallback((listening) => console.log(`chat server listening on 127.0.0.1:${listening.getHost().port}`))
  .addErrback((failure: Failure) => {
    console.error(failure.getErrorMessage());
    process.exitCode = 1;
    void reactor.stop();
  });
reactor.run({ installSignalHandlers: true });
