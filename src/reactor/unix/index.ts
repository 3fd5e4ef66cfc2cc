/** Unix sockets for the reactor: `listenUNIX`, `connectUNIX`. The transport is TCP's (`TCPConnection`). */
export { listenUNIX } from './unixport.js';
export { connectUNIX } from './unixconnector.js';
