/**
 * Waiting for a TLS handshake on the reactor's clock. A handshake that fails
 * or does not finish within `handshakeTimeout` seconds ends in `failed` with a
 * `TLSHandshakeError`; one that finishes ends in `secured`. Exactly one of the
 * two runs, once. The timer is a reactor `callLater`, so tests drive it with
 * their own clock.
 */
import type { TLSSocket } from 'node:tls';
import { TLSHandshakeError } from '../errors.js';
import type { IDelayedCall, IReactor } from '../interfaces.js';

export interface HandshakeOutcome {
  secured(): void;
  failed(err: TLSHandshakeError): void;
}

/** Watch `socket` until its handshake ends; `server` picks the event that says it did. */
export function awaitHandshake(
  reactor: IReactor,
  socket: TLSSocket,
  server: boolean,
  timeout: number,
  outcome: HandshakeOutcome,
): void {
  let timer: IDelayedCall | null = null;
  let done = false;
  const finish = (err: TLSHandshakeError | null): void => {
    if (done) return;
    done = true;
    if (timer?.active()) timer.cancel();
    socket.removeListener(server ? 'secure' : 'secureConnect', onSecure);
    socket.removeListener('close', onClose);
    socket.removeListener('end', onClose);
    // 'error' stays handled (a no-op now): a late error must not crash the process.
    if (err === null) outcome.secured();
    else outcome.failed(err);
  };
  const onSecure = (): void => {
    // A server that asked for a client certificate checks it here, as node:tls's own server does.
    if (server && (socket as unknown as { _requestCert?: boolean })._requestCert === true) {
      const handle = (socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
      const verifyError = handle?.verifyError?.() ?? null;
      const reject = (socket as unknown as { _rejectUnauthorized?: boolean })._rejectUnauthorized === true;
      if (verifyError !== null && reject) {
        finish(
          new TLSHandshakeError(
            `the client's certificate was refused (${(verifyError as { code?: string }).code ?? verifyError.message}); give the client a certificate signed by one of the CAs in the ca option`,
            { cause: verifyError },
          ),
        );
        return;
      }
    }
    finish(null);
  };
  const onError = (err: Error & { code?: string }): void =>
    finish(new TLSHandshakeError(describe(err, server), { cause: err }));
  const onClose = (): void => finish(new TLSHandshakeError(`the peer closed the connection during the TLS handshake`));
  socket.once(server ? 'secure' : 'secureConnect', onSecure);
  socket.on('error', onError);
  socket.once('close', onClose);
  socket.once('end', onClose); // sockets are half-open: a FIN alone would not close them
  timer = reactor.callLater(timeout, () => {
    timer = null;
    finish(
      new TLSHandshakeError(
        `the TLS handshake did not finish within ${timeout} s (handshakeTimeout); the peer sent nothing, or too slowly`,
      ),
    );
  });
}

function describe(err: Error & { code?: string }, server: boolean): string {
  const code = err.code ?? err.message;
  if (!server && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return `the server's certificate was not trusted (${code}): ${err.message}; pass the CA that signed it as ca, or the name it was issued for as servername`;
  }
  if (server && /WRONG_VERSION_NUMBER|HTTP_REQUEST|UNKNOWN_PROTOCOL|PACKET_LENGTH/.test(code)) {
    return `the client did not speak TLS (${code}); plain HTTP or stray bytes were sent to a TLS port`;
  }
  return `the TLS handshake failed (${code}): ${err.message}`;
}
