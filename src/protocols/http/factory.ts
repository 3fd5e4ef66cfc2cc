/**
 * `HTTPFactory`: the HTTP/1.1 server as a Factory for `listenTCP`. One per
 * server: it holds the app, the options, the cached Date header and the
 * server's statistics; it builds one `HTTPChannel` per connection.
 *
 *     const factory = new HTTPFactory((req) => { req.write('hi'); req.finish(); }, { reactor });
 *     await reactor.listenTCP(8080, factory);
 */
import { TrustedProxies } from './forwarded.js';
import type { IAddress, IProtocol } from '../../reactor/interfaces.js';
import { Logger } from '../../reactor/log.js';
import { Factory } from '../protocol.js';
import { HTTPChannel, type ChannelConfig } from './channel.js';
import { DateCache } from './date.js';
import { HeadCache } from './headcache.js';
import type { CpsApp } from './interfaces.js';
import {
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_LINGER_MAX_BYTES,
  DEFAULT_LINGER_TIMEOUT,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_DRAIN_BYTES,
  DEFAULT_MAX_HELD_INPUT_BYTES,
  newStats,
  type HTTPServerOptions,
  type HTTPStats,
} from './options.js';
import type { ServerContext } from './request.js';

export class HTTPFactory extends Factory {
  readonly stats: HTTPStats = newStats();
  readonly app: CpsApp;
  private readonly config: ChannelConfig;

  constructor(app: CpsApp, options: HTTPServerOptions) {
    super();
    if (typeof app !== 'function')
      throw new TypeError(`HTTPFactory(app, options): app must be a function (request) => void, got ${typeof app}`);
    if (options?.reactor === undefined)
      throw new TypeError('HTTPFactory(app, { reactor }): a reactor is required (timeouts and the Date header use it)');
    this.app = app;
    const log = options.logger ?? new Logger('spindle.http');
    const accessLog =
      options.accessLog === true
        ? new Logger('spindle.http.access')
        : options.accessLog instanceof Logger
          ? options.accessLog
          : null;
    const context: ServerContext = {
      app,
      dates: new DateCache(options.reactor),
      heads: new HeadCache(),
      serverName: options.serverName,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      log,
      stats: this.stats,
      trustedProxies:
        options.trustedProxies === undefined || options.trustedProxies.length === 0
          ? null
          : new TrustedProxies(options.trustedProxies),
    };
    this.config = {
      reactor: options.reactor,
      context,
      limits: {
        maxRequestLineBytes: options.maxRequestLineBytes,
        maxHeaderBytes: options.maxHeaderBytes,
        maxHeaderCount: options.maxHeaderCount,
        maxChunkLineBytes: options.maxChunkLineBytes,
        maxTrailerBytes: options.maxTrailerBytes,
      },
      headerTimeout: options.headerTimeout ?? DEFAULT_HEADER_TIMEOUT,
      idleTimeout: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
      maxHeldInputBytes: options.maxHeldInputBytes ?? DEFAULT_MAX_HELD_INPUT_BYTES,
      maxDrainBytes: options.maxDrainBytes ?? DEFAULT_MAX_DRAIN_BYTES,
      accessLog,
      allowHalfOpen: options.allowHalfOpen === true,
      lingerTimeout: options.lingerTimeout ?? DEFAULT_LINGER_TIMEOUT,
      lingerMaxBytes: options.lingerMaxBytes ?? DEFAULT_LINGER_MAX_BYTES,
    };
  }

  override buildProtocol(_addr: IAddress): IProtocol {
    const channel = new HTTPChannel(this.config);
    channel.factory = this;
    return channel;
  }
}
