/**
 * `toNodeListener(app, { reactor })`: mount an iterator app (through the
 * gateway) or a CPS app on `node:http` as a `(req, res)` listener.
 *
 * Output respects `res.write()` returning false: the app's producer (the
 * gateway, for an iterator app) is paused until 'drain'. Input is read with
 * `req.pause()`/`req.resume()` as the app asks. 'close' before the response
 * ended is the client going away: the CPS app's `notifyFinish()` errbacks and
 * its producer stops; an iterator app's iterable is closed (G14).
 */
import { Buffer } from 'node:buffer';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { IProtocol } from '../reactor/interfaces.js';
import { TCPConnection } from '../reactor/tcpconnection.js';
import type { IDelayedCall, IReactor } from '../reactor/interfaces.js';
import { ConnectionLost } from '../reactor/errors.js';
import { NodeReactor } from '../reactor/nodereactor.js';
import { Headers } from '../protocols/http/headers.js';
import type { CpsApp } from '../protocols/http/interfaces.js';
import { BRIDGE_MAX_BUFFERED } from './bridgequeue.js';
import { BridgeRequest } from './bridgerequest.js';
import type { BodyControl, BodySink } from './bridgebody.js';
import { BridgeOverflowError } from './errors.js';
import { UpgradeError } from '../protocols/http/errors.js';
import { asCpsApp, type HostedStyle } from './fetch.js';
import type { GatewayOptions } from './gateway.js';
import type { IterApp } from './interfaces.js';
import { runCpsApp } from '../protocols/http/requestcore.js';

export interface NodeListenerOptions {
  /** Default: a `NodeReactor` of this listener's own (never the shared one). */
  reactor?: IReactor;
  style?: HostedStyle;
  /** Bytes node:http may hold for a slow client before a write throws `BridgeOverflowError`. */
  maxBuffered?: number;
  readBodyLimit?: number;
  gateway?: Omit<GatewayOptions, 'reactor'>;
}

/**
 * A `(req, res)` listener for the server's 'request' event, with `upgrade`
 * for its 'upgrade' event: `server.on('upgrade', listener.upgrade)` lets the
 * app accept WebSockets (acceptWebSocket, `environ['spindle.websocket']`); a
 * request it does not upgrade is answered as an ordinary one, then closed.
 */
export type NodeListener = ((req: IncomingMessage, res: ServerResponse) => void) & {
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
};

export function toNodeListener(app: IterApp | CpsApp, options: NodeListenerOptions = {}): NodeListener {
  const resolved = { ...options, reactor: options.reactor ?? new NodeReactor() };
  const cps = asCpsApp(
    app,
    options.style ?? 'iter',
    resolved.reactor,
    options.gateway,
    'toNodeListener(app, { style })',
  );
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const bridged = new NodeRequest(req, res, resolved);
    runCpsApp(cps, bridged);
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // An answer that is not a switch is written by a ServerResponse on the socket, then the socket closes.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    runCpsApp(cps, new NodeRequest(req, res, resolved, { socket: socket as Socket, head }));
  };
  return Object.assign(listener, { upgrade });
}

/** The `IRequest` over one node:http exchange. */
export class NodeRequest extends BridgeRequest {
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly maxBuffered: number;
  private waitingDrain = false;
  private pullTimer: IDelayedCall | null = null;

  /** Present for a request from the server's 'upgrade' event. */
  upgrade?: (protocol: IProtocol) => void;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    options: NodeListenerOptions & { reactor: IReactor },
    upgrading?: { socket: Socket; head: Buffer },
  ) {
    const socket = req.socket;
    super({
      method: req.method ?? 'GET',
      uri: req.url ?? '/',
      version: `HTTP/${req.httpVersion}`,
      headers: new Headers(req.rawHeaders.slice()),
      client: { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      host: { host: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      reactor: options.reactor,
      secure: Boolean((socket as { encrypted?: boolean }).encrypted),
      readBodyLimit: options.readBodyLimit,
    });
    this.req = req;
    this.res = res;
    this.maxBuffered = options.maxBuffered ?? BRIDGE_MAX_BUFFERED;
    res.once('finish', () => this.responseCompleted());
    res.once('close', () => {
      this.cancelPull();
      if (!res.writableFinished)
        this.connectionLost(new ConnectionLost('the node:http client went away before the response ended'));
    });
    if (upgrading !== undefined) this.upgrade = (protocol) => this.switchTo(protocol, upgrading.socket, upgrading.head);
  }

  /** RFC 9110 §7.8: the 101 with the headers set, then the socket is a spindle transport of `protocol`'s. */
  private switchTo(protocol: IProtocol, socket: Socket, head: Buffer): void {
    if (this.startedWriting || this.finished || this.disconnected)
      throw new UpgradeError('upgrade() after the response started or ended; switch protocols before writing anything');
    let text = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (const [name, value] of this.headerPairs()) text += `${name}: ${value}\r\n`;
    this.res.detachSocket(socket);
    this.switchedProtocols();
    socket.write(Buffer.from(`${text}\r\n`, 'latin1'));
    const transport = new TCPConnection(this.reactor, socket, protocol);
    transport.start();
    if (head.length > 0) protocol.dataReceived(new Uint8Array(head.buffer, head.byteOffset, head.byteLength));
  }

  protected sendHead(code: number, phrase: string, names: readonly string[], values: readonly string[]): void {
    const flat: string[] = new Array(2 * names.length);
    for (let i = 0; i < names.length; i++) {
      flat[2 * i] = names[i]!;
      flat[2 * i + 1] = values[i]!;
    }
    this.res.writeHead(code, phrase, flat);
  }

  protected sendData(chunk: Uint8Array): void {
    const wanted = this.res.writableLength + chunk.byteLength;
    if (wanted > this.maxBuffered) throw new BridgeOverflowError(this.maxBuffered, wanted);
    if (!this.res.write(chunk) && !this.waitingDrain) {
      this.waitingDrain = true;
      this.outputPaused();
      this.res.once('drain', () => {
        this.waitingDrain = false;
        this.outputResumed();
        this.schedulePull();
      });
    }
  }

  protected sendFlush(): void {
    this.res.flushHeaders();
  }

  protected sendEnd(): void {
    this.cancelPull();
    this.res.end();
  }

  protected sendAbort(): void {
    this.cancelPull();
    this.res.destroy();
  }

  protected override producerRegistered(streaming: boolean): void {
    if (!streaming) this.schedulePull();
  }

  /** A pull producer gets one resumeProducing per reactor turn while node:http is not full. */
  private schedulePull(): void {
    if (this.pullTimer || this.finished || this.disconnected) return;
    this.pullTimer = this.reactor.callLater(0, () => {
      this.pullTimer = null;
      if (this.waitingDrain || this.finished || this.disconnected) return;
      if (this.wantMore()) this.schedulePull();
    });
  }

  private cancelPull(): void {
    if (this.pullTimer?.active()) this.pullTimer.cancel();
    this.pullTimer = null;
  }

  protected openBody(sink: BodySink): BodyControl {
    const req = this.req;
    let stopped = false;
    const onData = (chunk: Buffer): void => {
      if (!stopped) sink.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    };
    req.on('data', onData);
    req.once('end', () => sink.end());
    req.once('error', (err) => sink.lost(err));
    req.once('close', () => {
      if (!req.complete) sink.lost(new ConnectionLost('the node:http client went away before the request body ended'));
    });
    return {
      pause: () => {
        req.pause();
      },
      resume: () => {
        if (!stopped) req.resume();
      },
      // Read on and discard: the connection stays usable for the next request.
      stop: () => {
        stopped = true;
        req.off('data', onData);
        req.resume();
      },
    };
  }
}
