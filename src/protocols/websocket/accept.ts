/**
 * `acceptWebSocket(request, protocol, options)`: the server's opening
 * handshake (RFC 6455 §4.2) for a CPS app. It checks the request, answers
 * `101 Switching Protocols` and runs `protocol` on the connection, or answers
 * a plain 400 / 403 / 426 saying what was wrong and returns false.
 *
 * Where the request is not on a socket of its own (a CPS app bridged into an
 * iterator app by `toIterApp`), the request offers `[ACCEPT_WEBSOCKET]` and
 * the bridge carries the messages instead. A host that can do neither (a Fetch
 * host, a worker thread) makes it throw `WebSocketUnsupportedError`.
 */
import { Buffer } from 'node:buffer';
import type { IRequest } from '../http/interfaces.js';
import { hasListToken, listElements } from '../http/syntax.js';
import { WebSocketConnection } from './connection.js';
import { WebSocketUnsupportedError } from './errors.js';
import { acceptKey } from './frame.js';
import type { AcceptWebSocketOptions, IWebSocketProtocol } from './interfaces.js';

/** A request that carries WebSocket messages by other means than its own socket (the bridges). */
export const ACCEPT_WEBSOCKET: unique symbol = Symbol.for('spindle.acceptWebSocket');

export interface BridgedWebSocketRequest {
  [ACCEPT_WEBSOCKET](protocol: IWebSocketProtocol, subprotocol: string | null, options: AcceptWebSocketOptions): void;
}

/** The handshake's verdict: go ahead with `key`, or answer `status`. */
export type HandshakeCheck =
  | { ok: true; key: string; subprotocol: string | null }
  | { ok: false; status: number; message: string; headers: [string, string][] };

/** Does the comma-separated header `value` hold `token` (case-insensitive, SP/HTAB trimmed only: syntax.ts)? */
export function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined && hasListToken(value, token);
}

/** True when `request` asks for a WebSocket (Upgrade: websocket), whatever else is wrong with it. */
export function isWebSocketRequest(request: Pick<IRequest, 'headers'>): boolean {
  return hasToken(request.headers.get('upgrade'), 'websocket');
}

/** §4.2.1: the client's handshake, checked in the order a client can fix it. */
export function checkHandshake(request: IRequest, options: AcceptWebSocketOptions = {}): HandshakeCheck {
  const h = request.headers;
  const upgradeHeaders: [string, string][] = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Version', '13'],
  ];
  if (!isWebSocketRequest(request))
    return {
      ok: false,
      status: 426,
      message:
        'this resource speaks WebSocket only: send GET with "Upgrade: websocket" and "Connection: Upgrade" (RFC 6455 §4.1)',
      headers: upgradeHeaders,
    };
  if (request.method !== 'GET')
    return {
      ok: false,
      status: 400,
      message: `a WebSocket handshake is a GET request, not ${request.method} (RFC 6455 §4.1)`,
      headers: [],
    };
  if (request.version !== 'HTTP/1.1')
    return { ok: false, status: 400, message: 'a WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1)', headers: [] };
  if (!hasToken(h.get('connection'), 'upgrade'))
    return {
      ok: false,
      status: 400,
      message: 'the "Connection" header must include "Upgrade" (RFC 6455 §4.2.1)',
      headers: [],
    };
  const version = h.get('sec-websocket-version');
  if (version !== '13') {
    return {
      ok: false,
      status: 426,
      message: `Sec-WebSocket-Version must be 13, got ${JSON.stringify(version ?? null)} (RFC 6455 §4.4)`,
      headers: upgradeHeaders,
    };
  }
  const key = h.get('sec-websocket-key');
  if (key === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(key) || Buffer.from(key, 'base64').length !== 16) {
    return {
      ok: false,
      status: 400,
      message: 'Sec-WebSocket-Key must be 16 random bytes in base64 (RFC 6455 §4.1)',
      headers: [],
    };
  }
  if (options.checkOrigin && !options.checkOrigin(h.get('origin'), request)) {
    return {
      ok: false,
      status: 403,
      message: `origin ${JSON.stringify(h.get('origin') ?? null)} is not allowed (RFC 6455 §10.2)`,
      headers: [],
    };
  }
  let subprotocol: string | null = null;
  const offered = h.get('sec-websocket-protocol');
  if (offered !== undefined && options.protocols) {
    for (const name of listElements(offered)) {
      if (options.protocols.includes(name)) {
        subprotocol = name;
        break;
      }
    }
  }
  return { ok: true, key, subprotocol };
}

/**
 * Accept the WebSocket `request` asks for and run `protocol` on it. Returns
 * false (after answering 400, 403 or 426 itself) when the handshake is not
 * valid, on any host. Throws `WebSocketUnsupportedError` for a valid handshake
 * on a host that cannot hand over its connection.
 */
export function acceptWebSocket(
  request: IRequest,
  protocol: IWebSocketProtocol,
  options: AcceptWebSocketOptions = {},
): boolean {
  const bridged = (request as Partial<BridgedWebSocketRequest>)[ACCEPT_WEBSOCKET];
  // The handshake first: a plain GET (a browser opening the URL) gets its 426 on every host.
  const check = checkHandshake(request, options);
  if (!check.ok) {
    refuse(request, check.status, check.message, check.headers);
    return false;
  }
  if (bridged === undefined && typeof request.upgrade !== 'function')
    throw new WebSocketUnsupportedError('on this host (it cannot hand over its connection)');
  if (bridged !== undefined) {
    bridged.call(request, protocol, check.subprotocol, options);
    return true;
  }
  request.setHeader('Upgrade', 'websocket');
  request.setHeader('Connection', 'Upgrade');
  request.setHeader('Sec-WebSocket-Accept', acceptKey(check.key));
  if (check.subprotocol !== null) request.setHeader('Sec-WebSocket-Protocol', check.subprotocol);
  const reactor = request.reactor;
  request.upgrade!(
    new WebSocketConnection(protocol, {
      ...options,
      clock: reactor,
      reactor,
      isClient: false,
      subprotocol: check.subprotocol,
    }),
  );
  return true;
}

function refuse(request: IRequest, status: number, message: string, headers: [string, string][]): void {
  const body = Buffer.from(`${message}\n`, 'utf8');
  request.setResponseCode(status);
  request.setHeader('Content-Type', 'text/plain; charset=utf-8');
  request.setHeader('Content-Length', String(body.length));
  for (const [name, value] of headers) request.setHeader(name, value);
  request.write(body);
  request.finish();
}
