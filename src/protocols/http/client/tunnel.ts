/**
 * `Tunnel`: the reverse proxy's two connections after a protocol switch
 * (RFC 9110 §7.8): the client's (handed over by `request.upgrade()`) and the
 * upstream's (by `response.switchProtocols()`). From then on the proxy only
 * relays bytes, as RFC 9110 §7.8 says an intermediary does once both sides
 * switched; it reads neither protocol.
 *
 * Each side is the protocol on its own connection and the push producer
 * registered on the other's transport (a `Relay`): a reader that stops reading
 * fills its socket, its transport pauses the producer, and that stops reading
 * the other socket. Bytes that still arrive while paused count against
 * `maxBuffered`; past it both connections are aborted.
 *
 * Closing passes through: a FIN (half-close) becomes a FIN on the other
 * connection; a clean close closes the other once its writes went out; an
 * unclean one aborts it.
 *
 * Release after flush (reactor/readbuffer.ts, flushed.ts): each read one side
 * relays is given back to its connection once the other connection's socket
 * took it (`bufferSize` says what it has not), so a bulk transfer reads into
 * the same memory again instead of leaving a fresh buffer of garbage per read.
 *
 * Idle timeout (optional, on the reactor's clock): once no byte went either way
 * for `idleTimeout` seconds, both connections are closed (cleanly: what was
 * written still goes out). Activity only stamps the time; one timer checks it.
 */
import { Buffer } from 'node:buffer';
import { ConnectionDone } from '../../../reactor/errors.js';
import type { Failure } from '../../../reactor/failure.js';
import type { IDelayedCall, IProtocol, IReactorTime, ITransport } from '../../../reactor/interfaces.js';
import { FlushedReads } from './flushed.js';
import { Relay } from './relay.js';

/** One connection of the tunnel: its protocol, and the producer registered on the other connection. */
export class TunnelSide extends Relay implements IProtocol {
  /** The other side (set by the Tunnel). */
  peer!: TunnelSide;
  /** Bytes read before the other connection was handed over (the few that came with the 101). */
  private early: Uint8Array[] = [];
  /** How this connection closed (null while open). */
  lostReason: Failure | null = null;
  /** The reads relayed to the other connection, given back once its socket took them. */
  private readonly flushed = new FlushedReads(
    () => (this.peer.transport as { bufferSize?: number } | null)?.bufferSize,
  );

  constructor(
    maxBuffered: number,
    private readonly tunnel: Tunnel,
  ) {
    super(maxBuffered);
  }

  /** This connection closed. */
  get gone(): boolean {
    return this.lostReason !== null;
  }

  get connection(): ITransport | null {
    return this.transport;
  }

  makeConnection(transport: ITransport): void {
    this.transport = transport;
    if (this.paused) transport.pauseProducing();
    if (this.peer.transport !== null) this.tunnel.joined();
  }

  dataReceived(data: Uint8Array): void {
    const out = this.peer.transport;
    if (out === null) {
      this.early.push(Buffer.from(data));
      return;
    }
    if (!this.admit(data.length)) return this.tunnel.abort();
    this.tunnel.lastActivity = this.tunnel.now();
    out.write(data);
    this.flushed.wrote(data);
  }

  /** Both connections are there: pass on what came early, then register for flow control. */
  flushTo(out: ITransport): void {
    const early = this.early;
    this.early = [];
    for (const d of early) out.write(d);
    if (!this.gone) out.registerProducer(this, true);
  }

  /** The peer sent FIN: nothing more will be read here, so half-close the other connection. */
  readConnectionLost(): void {
    const out = this.peer.transport;
    if (out === null || this.peer.gone) return;
    out.unregisterProducer();
    out.loseWriteConnection();
  }

  connectionLost(reason: Failure): void {
    this.flushed.drop();
    this.tunnel.lost(this, reason);
  }

  /** The other connection drained and resumes us: what we wrote to it has gone. */
  override resumeProducing(): void {
    this.flushed.taken();
    super.resumeProducing();
  }

  /** The other connection closed: the Tunnel closes this one itself (cleanly or not), nothing to do here. */
  override stopProducing(): void {}
}

export class Tunnel {
  /** The protocol for the client's connection (`request.upgrade(tunnel.client)`). */
  readonly client: TunnelSide;
  /** The protocol for the upstream's connection (`response.switchProtocols(tunnel.upstream)`). */
  readonly upstream: TunnelSide;

  /** When a byte last went through (reactor seconds); read by the idle timer. */
  lastActivity = 0;
  private idleCall: IDelayedCall | null = null;

  /** `idle`: close both connections after that many seconds without a byte either way (on `clock`). */
  constructor(
    maxBuffered: number,
    private readonly idle: { clock: IReactorTime; seconds: number } | null = null,
  ) {
    this.client = new TunnelSide(maxBuffered, this);
    this.upstream = new TunnelSide(maxBuffered, this);
    this.client.peer = this.upstream;
    this.upstream.peer = this.client;
  }

  now(): number {
    return this.idle === null ? 0 : this.idle.clock.seconds();
  }

  /** The second connection was handed over. */
  joined(): void {
    const c = this.client.connection!;
    const u = this.upstream.connection!;
    this.lastActivity = this.now();
    this.client.flushTo(u);
    this.upstream.flushTo(c);
    if (this.client.gone) this.close(u, this.client);
    if (this.upstream.gone) this.close(c, this.upstream);
    if (this.idle !== null && !this.client.gone && !this.upstream.gone) this.checkIdle();
  }

  /** Close both connections if nothing went through for the idle timeout, else look again when it could have. */
  private checkIdle(): void {
    const { clock, seconds } = this.idle!;
    const left = this.lastActivity + seconds - clock.seconds();
    if (left > 0) {
      this.idleCall = clock.callLater(left, () => this.checkIdle());
      return;
    }
    this.idleCall = null;
    for (const t of [this.client.connection!, this.upstream.connection!]) {
      t.unregisterProducer();
      t.loseConnection();
    }
  }

  lost(side: TunnelSide, reason: Failure): void {
    if (side.gone) return;
    side.lostReason = reason;
    if (this.idleCall?.active()) this.idleCall.cancel();
    this.idleCall = null;
    const out = side.peer.connection;
    if (out !== null) this.close(out, side);
  }

  /** `side` closed: close `out` (the other connection) the same way. */
  private close(out: ITransport, side: TunnelSide): void {
    if (side.peer.gone) return;
    out.unregisterProducer();
    if (side.lostReason?.check(ConnectionDone)) out.loseConnection();
    else out.abortConnection();
  }

  /** A side took in more than `maxBuffered` while paused: drop both connections. */
  abort(): void {
    this.client.connection?.abortConnection();
    this.upstream.connection?.abortConnection();
  }
}
