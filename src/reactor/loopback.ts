/**
 * `loopback(a, b)`: two protocols connected in memory, for deterministic tests
 * of whole conversations (Twisted's `iosim`/`loopback`, reduced to a pump).
 *
 * Nothing moves by itself: writes are queued until `pump()` moves what is
 * pending once each way, or `flush()` pumps until nothing moves. With a `clock`
 * option, every write or close also schedules a `flush()` with
 * `clock.callLater(0)`, so `clock.advance(0)` delivers.
 *
 * The transports keep the TCP transport's rules: a queue past `bufferLimit`
 * pauses the writer's registered push producer until the queue empties; a
 * reader that called `pauseProducing()` gets nothing until it resumes;
 * `loseConnection` waits for the queue and the producer; `loseWriteConnection`
 * delivers the peer's `readConnectionLost` (or closes it when it has none);
 * `abortConnection` makes both sides lose the connection with `ConnectionLost`.
 * Every close is delivered by a pump, never inside the call that caused it.
 */
import type { IAddress, IProtocol, IReactorTime } from './interfaces.js';
import { LoopbackTransport } from './loopbacktransport.js';

/** Default bytes a loopback transport queues before pausing its writer's producer. */
export const LOOPBACK_BUFFER_LIMIT = 64 * 1024;
/** `flush()` gives up (throws) after this many pumps: something writes forever. */
export const LOOPBACK_MAX_PUMPS = 100_000;

export interface LoopbackOptions {
  /** Schedule a flush with `clock.callLater(0)` whenever something is queued. */
  clock?: IReactorTime;
  /** Queue size (bytes) past which a registered push producer is paused. Default `LOOPBACK_BUFFER_LIMIT`. */
  bufferLimit?: number;
  /** `a`'s own address (what `b.getPeer()` shows). Default `{ host: '127.0.0.1', port: 1 }`. */
  aAddress?: IAddress;
  /** `b`'s own address. Default `{ host: '127.0.0.1', port: 2 }`. */
  bAddress?: IAddress;
}

export interface LoopbackPump {
  /** The transport given to `a` and the one given to `b`. */
  readonly aTransport: LoopbackTransport;
  readonly bTransport: LoopbackTransport;
  /** Move what is pending once each way (data, FIN, close); true when anything moved. */
  pump(): boolean;
  /** Pump until nothing moves. Throws after `LOOPBACK_MAX_PUMPS` pumps. */
  flush(): void;
}

export function loopback(a: IProtocol, b: IProtocol, options: LoopbackOptions = {}): LoopbackPump {
  const limit = options.bufferLimit ?? LOOPBACK_BUFFER_LIMIT;
  const aAddr = options.aAddress ?? { host: '127.0.0.1', port: 1, family: 'memory' };
  const bAddr = options.bAddress ?? { host: '127.0.0.1', port: 2, family: 'memory' };
  let scheduled = false;
  const clock = options.clock;
  const onActivity = clock
    ? () => {
        if (scheduled) return;
        scheduled = true;
        clock.callLater(0, () => {
          scheduled = false;
          pumper.flush();
        });
      }
    : () => {};
  const ta = new LoopbackTransport(a, aAddr, bAddr, limit, onActivity);
  const tb = new LoopbackTransport(b, bAddr, aAddr, limit, onActivity);
  ta.peer = tb;
  tb.peer = ta;
  const pumper: LoopbackPump = {
    aTransport: ta,
    bTransport: tb,
    pump() {
      const ab = ta.pumpTo(tb);
      const ba = tb.pumpTo(ta);
      return ab || ba;
    },
    flush() {
      for (let i = 0; i < LOOPBACK_MAX_PUMPS; i++) {
        if (!pumper.pump()) return;
      }
      throw new RangeError(
        `loopback.flush(): still moving data after ${LOOPBACK_MAX_PUMPS} pumps; a producer seems to write forever`,
      );
    },
  };
  ta.start();
  tb.start();
  return pumper;
}
