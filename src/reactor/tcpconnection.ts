/**
 * The TCP transport: one `node:net` socket seen as an `ITransport`.
 *
 * Flow control both ways. Outgoing: a registered push producer is paused when
 * the socket's write buffer passes `highWater` (TRANSPORT_HIGH_WATER, 64 KiB,
 * as Twisted's `abstract.FileDescriptor.bufferSize`) and resumed once it has
 * drained; a pull producer is asked for more each time what it wrote has been
 * flushed. Incoming: the transport is a push producer of data, and
 * `pauseProducing` stops reading the socket.
 *
 * Closing: `loseConnection` waits for the buffer and for the producer to
 * unregister, then sends FIN and closes; `abortConnection` resets now;
 * `loseWriteConnection` sends FIN and keeps reading. `connectionLost` runs once,
 * from the socket's 'close' event, never inside the call that caused it.
 *
 * Bytes passed to `write` are handed to the socket without a copy: do not
 * change a buffer after writing it.
 *
 * The same class carries TLS and Unix-socket connections (a `TLSSocket` is a
 * `net.Socket`, and so is a pipe), so flow control is written once;
 * `startTLS` swaps the socket under the transport for a TLS one (STARTTLS).
 *
 * Coalescing: the first write of a reactor turn goes to the socket at once;
 * from the second one on, a plain socket is corked until the turn ends (the
 * next `process.nextTick`; not TLS, see `corks`), so what one turn writes
 * leaves in one `writev` instead of one `write(2)` each (an iterator app
 * yielding many small rows). Small writes of the turn are copied into one
 * buffer (mergeslab.ts), on TLS too, where each write would otherwise be a TLS
 * record of its own. Every write is still handed over as it comes (gateway
 * rule G6); only the system calls and records merge.
 *
 * One file on purpose: writing, producer flow control, closing and reading
 * share the same few flags (`writeClosed`, `producerPaused`, `lost`), and the
 * order in which they change is the contract.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { ConnectionDone, ConnectionLost, ProducerAlreadyRegisteredError, TLSStateError } from './errors.js';
import { Failure } from './failure.js';
import type {
  IAddress,
  IProducer,
  IProtocol,
  IPushProducer,
  IReactor,
  ITLSTransport,
  TLSClientOptions,
  TLSServerOptions,
} from './interfaces.js';
import { Logger } from './log.js';
import { appendToRun, MERGE_LIMIT_BYTES, takeRun, type SlabHolder } from './mergeslab.js';
import { closeAtShutdown, type ShutdownClosable } from './tcpshutdown.js';
import { checkWritable } from './writecheck.js';
import { upgradeToTLS } from './tls/starttls.js';

/** Bytes a transport buffers before it pauses its registered push producer. */
export const TRANSPORT_HIGH_WATER = 64 * 1024;

export interface TransportOptions {
  /** Write-buffer bytes past which the registered push producer is paused. Default `TRANSPORT_HIGH_WATER`. */
  highWater?: number;
}

/** How a socket transport came to be: a Unix socket's path, a TLS socket that already shook hands. */
export interface ConnectionKind {
  /** The socket is a Unix socket: the path, and whether this end accepted (listens on the path) or connected to it. */
  unix?: { path: string; accepted: boolean };
  /** The socket is a `TLSSocket` whose handshake is done. */
  secure?: boolean;
}

const UNDERLYING = Symbol('spindle.underlyingSocket');

/** Record that `tls` runs over `raw` (TLS over an accepted or STARTTLS socket): an abort resets `raw`. */
export function markUnderlying(tls: Socket, raw: Socket): void {
  (tls as Socket & { [UNDERLYING]?: Socket })[UNDERLYING] = raw;
  // Closing a TLS socket does not close the descriptor of the socket it wraps.
  tls.once('close', () => raw.destroy());
}

const log = new Logger('spindle.tcp');
const EMPTY = new Uint8Array(0);

/** Writes shorter than this, after a turn's first, are copied into one buffer with their neighbours (see `mergeBytes`). */
export const MERGE_WRITE_BYTES = 1024;
export { MERGE_LIMIT_BYTES };

export class TCPConnection implements ITLSTransport, ShutdownClosable, SlabHolder {
  disconnecting = false;
  readonly highWater: number;
  /** True once a TLS handshake finished on this connection (`listenTLS`, `connectTLS`, or `startTLS`). */
  secure: boolean;

  private producer: IProducer | null = null;
  private streaming = false;
  /** True while this transport holds the push producer paused. */
  private producerPaused = false;
  private pendingPullWrites = 0;
  /** Writes made in this reactor turn (0 once the turn ended). */
  private turnWrites = 0;
  /** `endTurn` is scheduled (the next `process.nextTick`). */
  private turnEnding = false;
  /**
   * Inside `onData`: the read is the turn, so its first write schedules no
   * `endTurn` (a tick per request for the usual one response per read); a
   * second write schedules it and corks as in any turn, and the next read
   * forgets a lone write. A write in a later turn that is not a read, before
   * the next read, counts as a second one: corked until its own turn ends.
   */
  private inRead = false;
  /** The socket corked for the rest of this turn, uncorked when it ends. */
  private corkedSocket: Socket | null = null;
  /** Inside `writeSequence`: the high-water check waits for its end (one bounded write). */
  private inSequence = false;
  /**
   * Bytes of this turn's small writes copied, in order, into the shared merge
   * slab (mergeslab.ts) and not yet handed to the socket: at the turn's end
   * (or a larger write, a pause, the close, a full slab, another transport's
   * merge) they go as one buffer. Each small write would cost Node's stream an
   * entry and the kernel an iovec; 100 000 rows of 16 bytes made 100 000 of each.
   */
  private mergeBytes = 0;
  /**
   * Cork the socket for the rest of a turn: plain sockets only. A corked
   * `TLSSocket` hands a whole writev to its TLS layer at once and reports it
   * written before the peer has read it, so a stalled peer would no longer
   * pause the producer. Small writes are merged on both (`mergeBytes`): a
   * merged run is one ordinary write, counted like any other.
   */
  private corks: boolean;
  private reading = true;
  private writeClosed = false;
  private aborted = false;
  private lost = false;
  private socketError: Error | null = null;
  private reasonOverride: unknown = null;
  private readonly peer: IAddress;
  private readonly host: IAddress;
  private readonly forgetAtShutdown: () => void;
  private readonly onDataEvent = (chunk: Buffer): void => this.onData(chunk);
  private readonly onEndEvent = (): void => this.onPeerFin();
  private readonly onDrainEvent = (): void => this.onDrain();
  private readonly onErrorEvent = (err: Error): void => void (this.socketError ??= err);
  private readonly onCloseEvent = (): void => {
    if (this.aborting) process.nextTick(() => this.onClose());
    else this.onClose();
  };
  private aborting = false;

  constructor(
    private readonly reactor: IReactor,
    private socket: Socket,
    private readonly protocol: IProtocol,
    options: TransportOptions = {},
    private readonly onLost?: (reason: Failure) => void,
    kind: ConnectionKind = {},
  ) {
    this.highWater = options.highWater ?? TRANSPORT_HIGH_WATER;
    this.corks = (socket as Socket & { encrypted?: boolean }).encrypted !== true;
    this.secure = kind.secure === true;
    if (kind.unix !== undefined) {
      // A Unix socket has no IP address: the accepting end is the path, the connecting end is unnamed.
      const { path, accepted } = kind.unix;
      this.host = { host: '', port: 0, family: 'unix', path: accepted ? path : '' };
      this.peer = { host: '', port: 0, family: 'unix', path: accepted ? '' : path };
    } else {
      this.peer = address(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
      this.host = address(socket.localAddress, socket.localPort, socket.localFamily);
    }
    reactor.stats.openConnections++;
    reactor.stats.totalConnections++;
    socket.setNoDelay(true);
    this.listen(socket);
    this.forgetAtShutdown = closeAtShutdown(reactor, this);
  }

  private listen(socket: Socket): void {
    socket.on('data', this.onDataEvent);
    socket.on('end', this.onEndEvent);
    socket.on('drain', this.onDrainEvent);
    socket.on('error', this.onErrorEvent);
    socket.on('close', this.onCloseEvent);
  }

  /**
   * STARTTLS (see `ITLSTransport.startTLS`). The TLS socket takes over the
   * same file descriptor; the transport listens to it from now on, so the
   * protocol, its producer and the flow control carry on unchanged.
   */
  startTLS(options: TLSServerOptions | TLSClientOptions, role: { server: boolean }): void {
    if (this.secure)
      throw new TLSStateError('startTLS() on a connection that is already secure; TLS is started once per connection');
    if (this.disconnecting || this.lost)
      throw new TLSStateError('startTLS() on a connection that is closing; start TLS before loseConnection()');
    // Plain bytes this turn corked go to the handle now, before the TLS socket takes it over.
    this.endTurn();
    this.corks = false;
    const raw = this.socket;
    for (const [event, fn] of [
      ['data', this.onDataEvent],
      ['end', this.onEndEvent],
      ['drain', this.onDrainEvent],
      ['error', this.onErrorEvent],
      ['close', this.onCloseEvent],
    ] as const) {
      raw.removeListener(event, fn as (...args: unknown[]) => void);
    }
    const paused = raw.isPaused();
    this.socket = upgradeToTLS(this.reactor, raw, options, role.server, {
      secured: () => void (this.secure = true),
      failed: (err) => {
        if (this.lost) return;
        this.reasonOverride = err;
        this.abortConnection();
      },
    });
    this.listen(this.socket);
    if (paused || !this.reading) this.socket.pause();
  }

  /** The reactor is shutting down: drop the connection (Twisted's disconnectAll). */
  closeForShutdown(): void {
    if (this.lost || this.aborted) return;
    this.reasonOverride = new ConnectionLost('connection dropped because the reactor shut down');
    this.abortConnection();
  }

  /** Hand the transport to the protocol (`makeConnection` → `connectionMade`). */
  start(): void {
    this.guard('makeConnection', () => this.protocol.makeConnection(this));
  }

  // ------------------------------------------------------------ writing

  write(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) checkWritable(data, 'transport.write');
    // `length`, not `byteLength`: the same for bytes, and V8 inlines it (byteLength costs a call, ~30 ns a read).
    const n = data.length;
    if (this.writeClosed || this.lost || n === 0) return;
    if (this.turnWrites++ === 0) {
      if (!this.inRead) this.endTurnLater();
    } else {
      if (this.corkedSocket === null) {
        // The turn's second write: its end is scheduled now if its first (in a read) did not.
        // (A TLS socket is never corked, so there this check runs on each later write.)
        if (!this.turnEnding) this.endTurnLater();
        if (this.corks) {
          this.corkedSocket = this.socket;
          this.socket.cork();
        }
      }
      if (n < MERGE_WRITE_BYTES && (this.producer === null || this.streaming)) {
        this.mergeBytes = appendToRun(this, data, n);
        if (this.mergeBytes >= MERGE_LIMIT_BYTES) this.flushMerge();
        this.checkHighWater();
        return;
      }
      this.flushMerge();
    }
    if (this.producer !== null && !this.streaming) {
      this.pendingPullWrites++;
      this.socket.write(data, this.onPullWritten);
    } else {
      this.socket.write(data);
    }
    this.checkHighWater();
  }

  private endTurnLater(): void {
    this.turnEnding = true;
    process.nextTick(this.endTurn);
  }

  /** The turn is over: what it wrote past its first write goes out now, in one writev. */
  private readonly endTurn = (): void => {
    this.turnEnding = false;
    this.turnWrites = 0;
    this.flushMerge();
    const corked = this.corkedSocket;
    if (corked === null) return;
    this.corkedSocket = null;
    corked.uncork();
  };

  /** Hand the merged small writes to the socket as one buffer (dropped if the connection is gone). For mergeslab.ts too. */
  flushMerge(): void {
    if (this.mergeBytes === 0) return;
    this.mergeBytes = 0;
    const run = takeRun(this);
    if (run === null || this.lost || this.aborted) return;
    this.socket.write(run);
  }

  writeSequence(data: Iterable<Uint8Array>): void {
    if (this.inSequence) {
      for (const chunk of data) this.write(chunk);
      return;
    }
    this.socket.cork();
    this.inSequence = true;
    try {
      for (const chunk of data) this.write(chunk);
    } finally {
      this.inSequence = false;
      this.socket.uncork();
    }
    this.checkHighWater(true);
  }

  /** Bytes written but not yet handed to the kernel. */
  get bufferSize(): number {
    return this.socket.writableLength + this.mergeBytes;
  }

  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.producer !== null) throw new ProducerAlreadyRegisteredError();
    if (this.lost) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streaming = streaming;
    if (streaming) this.checkHighWater();
    else producer.resumeProducing();
  }

  unregisterProducer(): void {
    if (this.producer === null) return;
    if (this.producerPaused) this.reactor.stats.pausedProducers--;
    this.producer = null;
    this.producerPaused = false;
    if (this.disconnecting && !this.aborted && !this.lost) this.endWriting(true);
  }

  /**
   * Pause the push producer once the unsent bytes pass `highWater`. `sequence`: the end of a
   * `writeSequence` (one message and its framing, e.g. a 64 KiB body chunk between its chunk-size
   * line and CRLF): if the turn holds it corked past the mark, it goes now and only what the kernel
   * left counts, so a peer that keeps up is not paused once per chunk. The turn corks again at its
   * next write. Plain writes in a turn still count corked (a producer writing in a loop is paused
   * by the turn's bytes).
   */
  private checkHighWater(sequence = false): void {
    if (this.producer === null || !this.streaming || this.producerPaused || this.inSequence) return;
    if (this.socket.writableLength + this.mergeBytes <= this.highWater) return;
    if (sequence && this.corkedSocket !== null) {
      this.flushMerge();
      this.corkedSocket = null;
      this.socket.uncork();
      if (this.socket.writableLength <= this.highWater) return;
    }
    this.flushMerge(); // what is held goes to the socket first, so its drain covers it
    this.producerPaused = true;
    this.reactor.stats.pausedProducers++;
    // 'drain' only comes when a write returned false; below Node's own mark, ask for a flush callback.
    if (!this.socket.writableNeedDrain) this.socket.write(EMPTY, () => this.onDrain());
    (this.producer as IPushProducer).pauseProducing();
  }

  private onDrain(): void {
    if (!this.producerPaused || this.producer === null || this.lost) return;
    this.producerPaused = false;
    this.reactor.stats.pausedProducers--;
    this.guard('resumeProducing', () => (this.producer as IPushProducer).resumeProducing());
  }

  private readonly onPullWritten = (): void => {
    this.pendingPullWrites--;
    if (this.pendingPullWrites > 0 || this.lost || this.producer === null || this.streaming) return;
    this.guard('resumeProducing', () => this.producer!.resumeProducing());
  };

  // ------------------------------------------------------------ closing

  loseConnection(reason?: Error): void {
    if (this.disconnecting || this.lost) return;
    this.disconnecting = true;
    if (reason !== undefined) this.reasonOverride = reason;
    this.stopReading();
    if (this.producer === null) this.endWriting(true);
  }

  abortConnection(): void {
    if (this.aborted || this.lost) return;
    this.disconnecting = true;
    this.aborted = true;
    this.stopReading();
    if (this.writeClosed) {
      // end() already queued a shutdown request: libuv refuses to reset a handle
      // that is shutting down, and Node's resetAndDestroy() then leaves the handle
      // open for ever (the process hangs at exit). Destroy plainly instead.
      this.socket.destroy();
      return;
    }
    // A TLS socket cannot be reset itself; the TCP socket under it can, and the TLS
    // socket then closes by itself, maybe inside this call: `aborting` makes onClose
    // wait for the next tick. (Destroying the TLS socket too, after the reset,
    // crashes Node 20; destroying it before sends a FIN instead of the RST.)
    const tcp = (this.socket as Socket & { [UNDERLYING]?: Socket })[UNDERLYING] ?? this.socket;
    this.aborting = true;
    try {
      tcp.resetAndDestroy(); // RST, so the peer sees a reset rather than a clean close
    } catch {
      tcp.destroy(); // not connected yet, already closed, or a Unix socket: nothing to reset
    } finally {
      this.aborting = false;
    }
  }

  loseWriteConnection(): void {
    if (this.writeClosed || this.lost) return;
    this.endWriting(false);
  }

  /** FIN after the buffer drains; `thenClose` also closes the reading side (loseConnection). */
  private endWriting(thenClose: boolean): void {
    const socket = this.socket;
    if (!this.writeClosed) {
      this.writeClosed = true;
      this.flushMerge();
      socket.end();
    }
    if (thenClose) {
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    }
  }

  private stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  // ------------------------------------------------------------ reading

  pauseProducing(): void {
    this.socket.pause();
  }

  resumeProducing(): void {
    if (this.reading) this.socket.resume();
  }

  stopProducing(): void {
    this.loseConnection();
  }

  getPeer(): IAddress {
    return { ...this.peer };
  }

  getHost(): IAddress {
    return { ...this.host };
  }

  private onData(chunk: Buffer): void {
    if (!this.reading) return;
    // A read is a turn of its own: a lone write left by an earlier one (which scheduled no end,
    // see `inRead`) is forgotten, and the first write of this one goes at once without a tick.
    if (!this.turnEnding) this.turnWrites = 0;
    this.inRead = true;
    // The hot path: no closure per chunk (guard() would allocate one).
    try {
      this.protocol.dataReceived(chunk);
    } catch (err) {
      this.failed('dataReceived', err);
    }
    this.inRead = false;
  }

  private onPeerFin(): void {
    if (this.lost || !this.reading) return;
    this.reading = false;
    if (this.writeClosed) return; // both directions closed: the socket closes by itself
    const p = this.protocol;
    if (typeof p.readConnectionLost === 'function') this.guard('readConnectionLost', () => p.readConnectionLost!());
    else this.loseConnection();
  }

  private onClose(): void {
    if (this.lost) return;
    this.lost = true;
    this.disconnecting = true;
    this.flushMerge(); // a run still held is dropped, and the shared slab forgets this transport
    this.forgetAtShutdown();
    this.reactor.stats.openConnections--;
    if (this.producerPaused) this.reactor.stats.pausedProducers--;
    this.producerPaused = false;
    const reason = new Failure(this.closeReason());
    const producer = this.producer;
    this.producer = null;
    if (producer !== null) this.guard('stopProducing', () => producer.stopProducing(), false);
    this.guard('connectionLost', () => this.protocol.connectionLost(reason), false);
    this.onLost?.(reason);
  }

  private closeReason(): unknown {
    if (this.reasonOverride !== null) return this.reasonOverride;
    if (this.aborted) return new ConnectionLost('connection aborted by abortConnection()');
    if (this.socketError !== null) {
      const code = (this.socketError as { code?: string }).code ?? this.socketError.message;
      return new ConnectionLost(`connection to ${this.peer.host}:${this.peer.port} was lost: ${code}`, {
        cause: this.socketError,
      });
    }
    return new ConnectionDone();
  }

  /**
   * Run user code; if it throws, log it and (unless the connection is already
   * gone) abort with the error as the reason, as Twisted does.
   */
  private guard(what: string, fn: () => void, abortOnError = true): void {
    try {
      fn();
    } catch (err) {
      this.failed(what, err, abortOnError);
    }
  }

  private failed(what: string, err: unknown, abort = true): void {
    log.failure(
      `${what} raised an exception on the connection to ${this.peer.host}:${this.peer.port}; aborting it`,
      err,
      'error',
    );
    if (abort && !this.lost) {
      this.reasonOverride = err;
      this.abortConnection();
    }
  }
}

function address(host: string | undefined, port: number | undefined, family: string | undefined): IAddress {
  return { host: host ?? '', port: port ?? 0, family: family === 'IPv6' ? 'IPv6' : 'IPv4' };
}
