/** The committed test certificates (test/fixtures/tls, made by make-certs.sh). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Clock } from '../src/reactor/clock.js';
import type { IReactor } from '../src/reactor/interfaces.js';
import { NodeReactor } from '../src/reactor/nodereactor.js';

const dir = fileURLToPath(new URL('./fixtures/tls/', import.meta.url));
export const TLS_DIR = dir;
export const CA = readFileSync(`${dir}ca.pem`);
export const CERT = readFileSync(`${dir}server.pem`);
export const KEY = readFileSync(`${dir}server-key.pem`);
export const CA_PATH = `${dir}ca.pem`;
export const CERT_PATH = `${dir}server.pem`;
export const KEY_PATH = `${dir}server-key.pem`;
/** Server options for listenTLS. */
export const serverTLS = { key: KEY, cert: CERT };
/** Client options that trust the test CA. */
export const clientTLS = { ca: CA };

/** A running NodeReactor whose time is a Clock: sockets are real, timeouts fire when the test advances the clock. */
export function clockedReactor(): { reactor: IReactor; real: NodeReactor; clock: Clock } {
  const real = new NodeReactor();
  real.run();
  const clock = new Clock();
  const reactor = Object.create(real) as IReactor;
  reactor.callLater = clock.callLater.bind(clock) as IReactor['callLater'];
  reactor.seconds = () => clock.seconds();
  return { reactor, real, clock };
}
