/**
 * Behind a reverse proxy: who the client is and which scheme it used, from
 * `Forwarded` (RFC 7239) or `X-Forwarded-For` / `X-Forwarded-Proto`, believed
 * only when the connection comes from a trusted proxy (uvicorn's
 * `--forwarded-allow-ips` is the model).
 *
 * The rule: each proxy appends the address it received the request from, so
 * the list reads client, proxy1, proxy2, ... and the peer is the last proxy.
 * Walking from the right, every hop that is itself a trusted proxy is skipped;
 * the first one that is not is the client (the right-most untrusted hop). A
 * client can put anything at the left of the list, but never to the right of
 * what the trusted proxies appended, so spoofed entries are never chosen.
 * Headers from a peer that is not trusted are ignored entirely.
 */
import { BlockList, isIP } from 'node:net';
import type { IAddress } from '../../reactor/interfaces.js';
import { TrustedProxyError } from '../errors.js';
import type { IHeaders } from './interfaces.js';

/** What the forwarding headers say about the original request. */
export interface ForwardedFor {
  /** The client: the right-most untrusted hop (port 0 when the header gave none). */
  client: IAddress;
  /** The scheme the client used, when a trusted proxy said; else undefined (use the connection's). */
  scheme: 'http' | 'https' | undefined;
}

/** A set of proxy addresses and CIDR ranges, IPv4 and IPv6. */
export class TrustedProxies {
  private readonly list = new BlockList();
  /** The entries as given, for messages and docs. */
  readonly entries: readonly string[];

  /** `entries`: addresses (`10.0.0.1`, `::1`) and CIDRs (`10.0.0.0/8`, `fd00::/8`). Throws `TrustedProxyError` on a bad one. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      if (family === 0) throw new TrustedProxyError(entry, 'not an IPv4 or IPv6 address');
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) {
        this.list.addAddress(address, type);
        continue;
      }
      const bits = entry.slice(slash + 1);
      const prefix = /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128)))
        throw new TrustedProxyError(entry, `the prefix length must be 0-${family === 4 ? 32 : 128}`);
      this.list.addSubnet(address, prefix, type);
    }
    this.entries = [...entries];
  }

  /** Is `host` (an IP address; an IPv4-mapped IPv6 one counts as IPv4) one of the trusted proxies? */
  has(host: string): boolean {
    const ip = unmapped(host);
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:1.2.3.4` (how a dual-stack socket shows an IPv4 peer) → `1.2.3.4`. */
function unmapped(host: string): string {
  return host.length > 7 && host.slice(0, 7).toLowerCase() === '::ffff:' && isIP(host.slice(7)) === 4
    ? host.slice(7)
    : host;
}

/** One hop: a node (RFC 7239 §6) and, from `Forwarded`, the proto its proxy saw. */
interface Hop {
  host: string;
  port: number;
  proto: string | undefined;
}

/**
 * The client and scheme for a request that arrived from `peer`, or null when
 * the headers do not apply (an untrusted peer, no header, a malformed one).
 */
export function resolveForwarded(peer: IAddress, headers: IHeaders, trusted: TrustedProxies): ForwardedFor | null {
  if (!trusted.has(peer.host)) return null;
  const forwarded = headers.get('forwarded');
  let hops: Hop[] | null;
  let protos: string[] | null = null;
  if (forwarded !== undefined) {
    hops = parseForwarded(forwarded);
  } else {
    const xff = headers.get('x-forwarded-for');
    hops = xff === undefined ? [] : listItems(xff).map((item) => ({ ...parseNode(item), proto: undefined }));
    const xfp = headers.get('x-forwarded-proto');
    if (xfp !== undefined) protos = listItems(xfp);
  }
  if (hops === null) return null;
  // The right-most hop that is not a trusted proxy; if all are, the left-most.
  let index = hops.length - 1;
  while (index > 0 && trusted.has(hops[index]!.host)) index--;
  const hop = hops[index];
  let proto: string | undefined;
  if (hop !== undefined) proto = hop.proto;
  if (protos !== null && protos.length > 0) {
    // One X-Forwarded-Proto entry per hop: the chosen hop's; otherwise the right-most (a single proxy's).
    proto = protos.length === hops.length && hop !== undefined ? protos[index] : protos[protos.length - 1];
  }
  const lower = proto?.toLowerCase();
  const scheme = lower === 'https' || lower === 'http' ? lower : undefined;
  if (hop === undefined) return scheme === undefined ? null : { client: peer, scheme };
  const family = isIP(hop.host);
  const client: IAddress = {
    host: hop.host,
    port: hop.port,
    ...(family === 4 ? { family: 'IPv4' as const } : family === 6 ? { family: 'IPv6' as const } : {}),
  };
  return { client, scheme };
}

const OWS = (c: number) => c === 0x20 || c === 0x09;

/** Split a comma-separated list, dropping SP/HTAB around items and empty items (RFC 9110 §5.6.1). */
function listItems(value: string): string[] {
  return value
    .split(',')
    .map(stripOWS)
    .filter((s) => s !== '');
}

function stripOWS(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && OWS(s.charCodeAt(a))) a++;
  while (b > a && OWS(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/**
 * A node (RFC 7239 §6): `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::1]`,
 * `[2001:db8::1]:4711`, a bare IPv6 address (as X-Forwarded-For writes one),
 * or an obfuscated name (`unknown`, `_hidden`), kept as it is with port 0.
 */
function parseNode(node: string): { host: string; port: number } {
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    if (close !== -1) {
      const port = node.slice(close + 1);
      return { host: node.slice(1, close), port: /^:[0-9]{1,5}$/.test(port) ? Number(port.slice(1)) : 0 };
    }
  }
  if (isIP(node) !== 0) return { host: unmapped(node), port: 0 };
  const colon = node.lastIndexOf(':');
  if (colon !== -1 && isIP(node.slice(0, colon)) === 4 && /^[0-9]{1,5}$/.test(node.slice(colon + 1))) {
    return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
  }
  return { host: node, port: 0 };
}

/**
 * `Forwarded` (RFC 7239 §4): elements separated by ',', each pairs
 * `name=value` separated by ';', a value a token or a quoted-string. Returns
 * the `for` hops in order (an element without `for` is skipped), or null if
 * the header is malformed (then it is not believed at all).
 */
function parseForwarded(value: string): Hop[] | null {
  const hops: Hop[] = [];
  let i = 0;
  const n = value.length;
  let pairs: Map<string, string> = new Map();
  const endElement = (): void => {
    const node = pairs.get('for');
    if (node !== undefined) hops.push({ ...parseNode(node), proto: pairs.get('proto') });
    pairs = new Map();
  };
  for (;;) {
    while (i < n && OWS(value.charCodeAt(i))) i++;
    const nameStart = i;
    while (i < n && value[i] !== '=' && value[i] !== ';' && value[i] !== ',' && !OWS(value.charCodeAt(i))) i++;
    const name = value.slice(nameStart, i).toLowerCase();
    if (name === '' || value[i] !== '=') {
      if (name === '' && (i >= n || value[i] === ',')) {
        // An empty element (", ,"): allowed by the list rule.
      } else return null;
    } else {
      i++; // '='
      let v: string;
      if (value[i] === '"') {
        i++;
        let out = '';
        for (;;) {
          if (i >= n) return null; // unterminated quoted-string
          const c = value[i]!;
          if (c === '"') break;
          if (c === '\\') {
            i++;
            if (i >= n) return null;
          }
          out += value[i];
          i++;
        }
        i++; // closing quote
        v = out;
      } else {
        const start = i;
        while (i < n && value[i] !== ';' && value[i] !== ',' && !OWS(value.charCodeAt(i))) i++;
        v = value.slice(start, i);
        if (v === '') return null;
      }
      if (pairs.has(name)) return null; // a parameter repeated in one element (§4)
      pairs.set(name, v);
    }
    while (i < n && OWS(value.charCodeAt(i))) i++;
    if (i >= n) {
      endElement();
      return hops;
    }
    if (value[i] === ';') i++;
    else if (value[i] === ',') {
      endElement();
      i++;
    } else return null;
  }
}
