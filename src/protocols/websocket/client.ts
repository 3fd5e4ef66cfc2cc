/**
 * `connectWebSocket(reactor, url, protocol, options)`: the client's side of
 * RFC 6455 for `ws:` (TCP) and `wss:` (TLS through the reactor's
 * `connectTLS`). It sends the opening handshake (§4.1), checks the server's
 * answer (101, Upgrade, Connection, the §4.2.2 accept key, the subprotocol),
 * then runs `protocol` on the connection with masked frames. The Deferred
 * fires with `protocol` once it is connected, or errbacks with
 * `WebSocketHandshakeError` (the server's status, or 0 when it was not a
 * valid answer), the connection error, or `TimeoutError`.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { Deferred } from '../../reactor/deferred.js';
import { InvalidArgumentError, TimeoutError } from '../../reactor/errors.js';
import { Failure } from '../../reactor/failure.js';
import type { IConnector, IDelayedCall, IReactor, IReactorTLS, TLSClientOptions } from '../../reactor/interfaces.js';
import { ClientFactory, Protocol } from '../protocol.js';
import { hasToken } from './accept.js';
import { WebSocketConnection } from './connection.js';
import { WebSocketHandshakeError } from './errors.js';
import { acceptKey } from './frame.js';
import type { IWebSocketProtocol, WebSocketOptions } from './interfaces.js';

/** Seconds from connecting until the server's 101 must have arrived. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30;
/** Largest handshake answer (status line and headers) read before giving up. */
export const MAX_HANDSHAKE_BYTES = 16 * 1024;

export interface ConnectWebSocketOptions extends WebSocketOptions {
  /** Subprotocols to offer (Sec-WebSocket-Protocol), most preferred first. */
  protocols?: readonly string[];
  /** Sent as the Origin header. */
  origin?: string;
  /** More request headers (names and values checked for CR/LF). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** For wss: whom to trust and which name to expect. */
  tls?: TLSClientOptions;
  /** Seconds the TCP connection attempt may take. */
  connectTimeout?: number;
  /** Seconds until the 101 must have come. Default `DEFAULT_HANDSHAKE_TIMEOUT`. */
  handshakeTimeout?: number;
  /** Largest answer head (status line and headers) read. Default `MAX_HANDSHAKE_BYTES`. */
  maxHandshakeBytes?: number;
}

/** Something that carries a reactor (an HTTP Agent) or the reactor itself. */
export type ReactorSource = IReactor | { readonly reactor: IReactor };

interface Target {
  secure: boolean;
  host: string;
  port: number;
  authority: string;
  path: string;
}

function parseTarget(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`connectWebSocket() needs an absolute ws: or wss: URL, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new InvalidArgumentError(`connectWebSocket() speaks ws: and wss:, not ${u.protocol} (${url})`);
  if (u.hash !== '') throw new InvalidArgumentError(`a WebSocket URL has no fragment (RFC 6455 §3): ${url}`);
  const secure = u.protocol === 'wss:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return {
    secure,
    host,
    port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
    authority: u.host,
    path: `${u.pathname || '/'}${u.search}`,
  };
}

const BAD_FIELD = /[\r\n\0]/;

export function connectWebSocket(
  agentOrReactor: ReactorSource,
  url: string,
  protocol: IWebSocketProtocol,
  options: ConnectWebSocketOptions = {},
): Deferred<IWebSocketProtocol> {
  const reactor =
    'reactor' in agentOrReactor && !('callLater' in agentOrReactor)
      ? agentOrReactor.reactor
      : (agentOrReactor as IReactor);
  const target = parseTarget(url);
  for (const [name, value] of options.headers ?? []) {
    if (BAD_FIELD.test(name) || BAD_FIELD.test(value))
      throw new InvalidArgumentError(`header ${JSON.stringify(name)} contains CR, LF or NUL`);
  }
  let connector: IConnector | null = null;
  let handshake: ClientHandshake | null = null;
  const d = new Deferred<IWebSocketProtocol>(() => {
    if (handshake?.transportReady) handshake.transport.abortConnection();
    else connector?.disconnect();
  });
  const factory = new WebSocketClientFactory(reactor, target, protocol, options, d, (h) => (handshake = h));
  if (target.secure) {
    const tls = reactor as IReactor & Partial<IReactorTLS>;
    if (typeof tls.connectTLS !== 'function')
      throw new InvalidArgumentError('wss: needs a reactor with connectTLS (NodeReactor)');
    connector = tls.connectTLS(target.host, target.port, factory, {
      ...options.tls,
      ...(options.connectTimeout !== undefined ? { timeout: options.connectTimeout } : {}),
    });
  } else {
    connector = reactor.connectTCP(
      target.host,
      target.port,
      factory,
      options.connectTimeout !== undefined ? { timeout: options.connectTimeout } : {},
    );
  }
  return d;
}

class WebSocketClientFactory extends ClientFactory {
  constructor(
    private readonly reactor: IReactor,
    private readonly target: Target,
    private readonly app: IWebSocketProtocol,
    private readonly options: ConnectWebSocketOptions,
    private readonly done: Deferred<IWebSocketProtocol>,
    private readonly made: (h: ClientHandshake) => void,
  ) {
    super();
  }

  override buildProtocol(): ClientHandshake {
    const h = new ClientHandshake(this.reactor, this.target, this.app, this.options, this.done);
    this.made(h);
    return h;
  }

  override clientConnectionFailed(_connector: IConnector, reason: Failure): void {
    if (!this.done.called) this.done.errback(reason);
  }
}

/** The connection until the 101 came; afterwards it forwards to the WebSocketConnection. */
class ClientHandshake extends Protocol {
  private readonly key = randomBytes(16).toString('base64');
  private head: Buffer[] = [];
  private headBytes = 0;
  private conn: WebSocketConnection | null = null;
  private timer: IDelayedCall | null = null;
  transportReady = false;

  constructor(
    private readonly reactor: IReactor,
    private readonly target: Target,
    private readonly app: IWebSocketProtocol,
    private readonly options: ConnectWebSocketOptions,
    private readonly done: Deferred<IWebSocketProtocol>,
  ) {
    super();
  }

  override connectionMade(): void {
    this.transportReady = true;
    const o = this.options;
    let text = `GET ${this.target.path} HTTP/1.1\r\nHost: ${this.target.authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    text += `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n`;
    if (o.protocols && o.protocols.length > 0) text += `Sec-WebSocket-Protocol: ${o.protocols.join(', ')}\r\n`;
    if (o.origin !== undefined) text += `Origin: ${o.origin}\r\n`;
    for (const [name, value] of o.headers ?? []) text += `${name}: ${value}\r\n`;
    this.transport.write(Buffer.from(`${text}\r\n`, 'latin1'));
    this.timer = this.reactor.callLater(o.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT, () => {
      this.timer = null;
      this.fail(
        new TimeoutError(
          `the WebSocket server at ${this.target.authority} did not answer the handshake within ${o.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT} s`,
        ),
      );
    });
  }

  override dataReceived(data: Uint8Array): void {
    if (this.conn !== null) return this.conn.dataReceived(data);
    if (this.done.called) return;
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const all = Buffer.concat(this.head, this.headBytes);
    const end = all.indexOf('\r\n\r\n');
    if (end === -1) {
      const limit = this.options.maxHandshakeBytes ?? MAX_HANDSHAKE_BYTES;
      if (this.headBytes > limit)
        this.fail(
          new WebSocketHandshakeError(
            0,
            `the server's handshake answer is longer than ${limit} bytes (maxHandshakeBytes)`,
          ),
        );
      else {
        this.head = [all];
      }
      return;
    }
    this.head = [];
    this.answer(all.subarray(0, end).toString('latin1'), all.subarray(end + 4));
  }

  override connectionLost(reason: Failure): void {
    this.cancelTimer();
    if (this.conn !== null) return this.conn.connectionLost(reason);
    if (!this.done.called)
      this.done.errback(
        new WebSocketHandshakeError(
          0,
          `the connection to ${this.target.authority} closed before the WebSocket handshake finished`,
        ),
      );
  }

  readConnectionLost(): void {
    if (this.conn !== null) this.conn.readConnectionLost();
    else this.transport.loseConnection();
  }

  /** §4.2.2 / §4.1: check the server's answer, then switch to frames. */
  private answer(headText: string, rest: Uint8Array): void {
    const lines = headText.split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (m === null)
      return this.fail(
        new WebSocketHandshakeError(
          0,
          `the server did not answer with HTTP/1.1: ${JSON.stringify(lines[0]!.slice(0, 80))}`,
        ),
      );
    const status = Number(m[1]);
    if (status !== 101)
      return this.fail(
        new WebSocketHandshakeError(
          status,
          `the server answered ${status} ${m[2] ?? ''} instead of 101 Switching Protocols`,
        ),
      );
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0)
        return this.fail(
          new WebSocketHandshakeError(
            0,
            `a malformed header line in the server's answer: ${JSON.stringify(line.slice(0, 80))}`,
          ),
        );
      const name = line.slice(0, i).toLowerCase();
      const value = line.slice(i + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    if (!hasToken(headers.get('upgrade'), 'websocket'))
      return this.fail(new WebSocketHandshakeError(101, 'the 101 answer has no "Upgrade: websocket" (RFC 6455 §4.1)'));
    if (!hasToken(headers.get('connection'), 'upgrade'))
      return this.fail(new WebSocketHandshakeError(101, 'the 101 answer has no "Connection: Upgrade" (RFC 6455 §4.1)'));
    if (headers.get('sec-websocket-accept') !== acceptKey(this.key))
      return this.fail(
        new WebSocketHandshakeError(
          101,
          'Sec-WebSocket-Accept does not match the key sent (RFC 6455 §4.1); the server is not speaking WebSocket to us',
        ),
      );
    if (headers.has('sec-websocket-extensions'))
      return this.fail(
        new WebSocketHandshakeError(101, 'the server chose an extension though none was offered (RFC 6455 §9.1)'),
      );
    const sub = headers.get('sec-websocket-protocol') ?? null;
    if (sub !== null && !(this.options.protocols ?? []).includes(sub))
      return this.fail(
        new WebSocketHandshakeError(
          101,
          `the server chose subprotocol ${JSON.stringify(sub)}, which was not offered (RFC 6455 §4.1)`,
        ),
      );
    this.cancelTimer();
    const conn = new WebSocketConnection(this.app, {
      ...this.options,
      clock: this.reactor,
      reactor: this.reactor,
      isClient: true,
      subprotocol: sub,
    });
    this.conn = conn;
    conn.makeConnection(this.transport);
    this.done.callback(this.app);
    if (rest.length > 0 && conn.state !== 'closed') conn.dataReceived(new Uint8Array(rest));
  }

  private fail(error: Error): void {
    this.cancelTimer();
    if (!this.done.called) this.done.errback(new Failure(error));
    this.transport.abortConnection();
  }

  private cancelTimer(): void {
    if (this.timer?.active()) this.timer.cancel();
    this.timer = null;
  }
}
