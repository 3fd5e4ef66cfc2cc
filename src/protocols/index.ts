/**
 * `spindle/protocols`: Protocol and Factory, framing receivers, and the
 * HTTP/1.1 server (plus its Request) that both app styles run on.
 */
export { Protocol, Factory, ClientFactory, ReconnectingClientFactory } from './protocol.js';
export { LineReceiver, LINE_MAX_LENGTH, NetstringReceiver, NETSTRING_MAX_LENGTH, Int32StringReceiver, INT32_MAX_LENGTH } from './basic.js';
export { FrameTooLongError, BadFrameError, NoProtocolError } from './errors.js';
export { NoClockError } from './errors.js';
export { serverFromString, clientFromString, parseServerEndpoint, parseClientEndpoint, EndpointSyntaxError, EndpointFileError } from './endpoints.js';
export type { EndpointReactor, ServerEndpointSpec, ClientEndpointSpec, IStreamServerEndpoint, IStreamClientEndpoint } from './endpoints.js';
export { LimitConnectionsFactory, DEFAULT_MAX_CONNECTIONS } from './policies.js';
export { TimeoutMixin } from './timeout.js';
export type { ITimeoutMixin } from './timeout.js';
export type { ProtocolClass } from './protocol.js';
export type { LimitConnectionsOptions, ConnectionLimitStats } from './policies.js';
export * from './http/index.js';
export * from './websocket/index.js';
export * from './web/index.js';
