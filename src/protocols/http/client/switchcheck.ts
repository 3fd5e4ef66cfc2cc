/**
 * Does an upstream's 101 answer the protocol switch the client asked for? The
 * reverse proxy asks this before it tunnels (proxy.ts): a 101 it passed on
 * unchecked would hand the client a connection switched to something it never
 * asked for, or a WebSocket whose handshake the upstream did not complete.
 *
 * - RFC 9110 §15.2.2: a 101 names the protocol(s) it switches to in Upgrade;
 *   §7.8: a server must not switch to a protocol the client did not list in
 *   its own Upgrade (protocol names compared case-insensitively, as §7.8 asks).
 * - RFC 6455 §4.1 (what a client checks), §4.2.2 (what a server sends), for a
 *   switch to `websocket`: Connection lists `upgrade`; Sec-WebSocket-Accept is
 *   base64(SHA-1(the client's Sec-WebSocket-Key + the §1.3 GUID)), computed by
 *   the WebSocket layer's `acceptKey` (one field, exactly that value); a
 *   Sec-WebSocket-Protocol is one the client offered; every extension in
 *   Sec-WebSocket-Extensions is one the client offered (§9.1).
 *
 * A switch to any other protocol is checked only by Upgrade: the proxy does not
 * know its handshake.
 */
import { acceptKey } from '../../websocket/frame.js';
import { hasListToken, listElements, trimOWS } from '../syntax.js';

/** Where the fields are read from: the request's or the response's headers. */
export interface FieldSource {
  get(name: string): string | undefined;
}

/** The names of an extension list (`permessage-deflate; client_max_window_bits, x-y` → both names, in lower case). */
function extensionNames(value: string | undefined): string[] {
  if (value === undefined) return [];
  return listElements(value).map((e) => {
    const semi = e.indexOf(';');
    return trimOWS(semi < 0 ? e : e.slice(0, semi)).toLowerCase();
  });
}

/** §4.1 for a 101 that switches to websocket: null when it answers the client's handshake. */
function webSocketProblem(asked: FieldSource, answer: FieldSource): string | null {
  if (!hasListToken(answer.get('connection') ?? '', 'upgrade'))
    return 'its 101 to a WebSocket handshake has no "upgrade" in Connection (RFC 6455 §4.1)';
  const key = asked.get('sec-websocket-key');
  const accept = answer.get('sec-websocket-accept');
  if (key === undefined)
    return 'the client sent no Sec-WebSocket-Key, so no Sec-WebSocket-Accept can answer it (RFC 6455 §4.1)';
  if (accept !== acceptKey(key))
    return accept === undefined
      ? 'its 101 has no Sec-WebSocket-Accept (RFC 6455 §4.2.2)'
      : `its Sec-WebSocket-Accept ${JSON.stringify(accept)} does not answer the client's Sec-WebSocket-Key (RFC 6455 §4.1, §4.2.2: ${JSON.stringify(acceptKey(key))} expected)`;
  const sub = answer.get('sec-websocket-protocol');
  if (sub !== undefined && !listElements(asked.get('sec-websocket-protocol') ?? '').includes(sub))
    return `its 101 chose the subprotocol ${JSON.stringify(sub)}, which the client did not offer (RFC 6455 §4.1)`;
  const offered = extensionNames(asked.get('sec-websocket-extensions'));
  for (const name of extensionNames(answer.get('sec-websocket-extensions')))
    if (!offered.includes(name))
      return `its 101 uses the extension ${JSON.stringify(name)}, which the client did not offer (RFC 6455 §4.1, §9.1)`;
  return null;
}

/**
 * Null when the 101 `answer` (the upstream's response fields) answers the switch
 * `asked` for (the client's request fields); otherwise what is wrong with it, in
 * one sentence about "its 101" for the proxy's log.
 */
export function switchProblem(asked: FieldSource, answer: FieldSource): string | null {
  const offered = listElements(asked.get('upgrade') ?? '').map((p) => p.toLowerCase());
  const chosen = listElements(answer.get('upgrade') ?? '');
  if (chosen.length === 0) return 'its 101 names no protocol in Upgrade (RFC 9110 §15.2.2)';
  for (const p of chosen)
    if (!offered.includes(p.toLowerCase()))
      return `its 101 switches to ${JSON.stringify(p)}, which the client did not ask for (RFC 9110 §7.8; it asked for ${JSON.stringify(asked.get('upgrade') ?? '')})`;
  return chosen.some((p) => p.toLowerCase() === 'websocket') ? webSocketProblem(asked, answer) : null;
}
