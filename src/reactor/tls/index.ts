/**
 * TLS for the reactor: `listenTLS`, `connectTLS`, and STARTTLS on any socket
 * transport (`transport.startTLS`). The transport is TCP's (`TCPConnection`).
 */
export { listenTLS, type TLSPortOptions, type TLSListeningPort, type HandshakeStats } from './tlsport.js';
export { connectTLS } from './tlsconnector.js';
export { TLS_HANDSHAKE_TIMEOUT } from './options.js';
