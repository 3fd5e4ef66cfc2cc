/**
 * TLS options as spindle takes them, turned into what `node:tls` wants. The
 * key and certificate are loaded into one `SecureContext` per port (not per
 * connection), so a listening port pays the parsing once.
 */
import { createSecureContext, type SecureContext, type TLSSocketOptions, type ConnectionOptions } from 'node:tls';
import { InvalidArgumentError } from '../errors.js';
import type { TLSClientOptions, TLSMaterial, TLSServerOptions } from '../interfaces.js';

/** Seconds (reactor time) a TLS handshake may take before the connection is closed. */
export const TLS_HANDSHAKE_TIMEOUT = 10;

type NodeMaterial = string | Buffer | Array<string | Buffer>;

function material(m: TLSMaterial | undefined): NodeMaterial | undefined {
  if (m === undefined) return undefined;
  const one = (x: string | Uint8Array): string | Buffer =>
    typeof x === 'string' ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return Array.isArray(m) ? m.map(one) : one(m);
}

/** The handshake timeout in seconds, checked. */
export function handshakeTimeoutOf(options: { handshakeTimeout?: number }, what: string): number {
  const t = options.handshakeTimeout ?? TLS_HANDSHAKE_TIMEOUT;
  if (!(t > 0) || !Number.isFinite(t))
    throw new InvalidArgumentError(`${what} handshakeTimeout must be a positive number of seconds, got ${String(t)}`);
  return t;
}

/** The server's key and certificate in one context; throws `InvalidArgumentError` naming what is missing or unreadable. */
export function serverContext(options: TLSServerOptions, what: string): SecureContext {
  if (options == null || options.key == null || options.cert == null) {
    throw new InvalidArgumentError(
      `${what} needs { key, cert } (PEM text or bytes), e.g. { key: readFileSync('key.pem'), cert: readFileSync('cert.pem') }`,
    );
  }
  try {
    return createSecureContext({ key: material(options.key), cert: material(options.cert), ca: material(options.ca) });
  } catch (err) {
    throw new InvalidArgumentError(
      `${what}: the key or certificate could not be loaded (${(err as Error).message}); pass PEM text or bytes, and a key that matches the certificate`,
    );
  }
}

/** What `new TLSSocket(raw, ...)` gets on the server side. */
export function serverSocketOptions(options: TLSServerOptions, context: SecureContext): TLSSocketOptions {
  const requestCert = options.requestCert === true;
  return {
    isServer: true,
    secureContext: context,
    requestCert,
    rejectUnauthorized: requestCert && options.rejectUnauthorized !== false,
    ...(options.ALPNProtocols !== undefined ? { ALPNProtocols: options.ALPNProtocols } : {}),
    ...(options.SNICallback !== undefined ? { SNICallback: options.SNICallback } : {}),
  };
}

/** What `tls.connect` gets on the client side (without host, port or socket). */
export function clientConnectOptions(options: TLSClientOptions, host: string | undefined): ConnectionOptions {
  const servername = options.servername ?? (host !== undefined && !isIP(host) ? host : undefined);
  return {
    ...(options.ca !== undefined ? { ca: material(options.ca) } : {}),
    ...(options.cert !== undefined ? { cert: material(options.cert) } : {}),
    ...(options.key !== undefined ? { key: material(options.key) } : {}),
    ...(servername !== undefined ? { servername } : {}),
    ...(options.ALPNProtocols !== undefined ? { ALPNProtocols: options.ALPNProtocols } : {}),
    rejectUnauthorized: options.rejectUnauthorized !== false,
  };
}

function isIP(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}
