/**
 * TCP for the reactor: `listenTCP`, `connectTCP` and the transport they make.
 * `NodeReactor.listenTCP/connectTCP` delegate here.
 */
export { listenTCP, type TCPListenOptions } from './tcpport.js';
export { connectTCP, CONNECT_TIMEOUT, type TCPConnectOptions } from './tcpconnector.js';
export { TCPConnection, TRANSPORT_HIGH_WATER, type TransportOptions } from './tcpconnection.js';
