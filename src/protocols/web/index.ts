/** The web layer: resource trees served by `site()` (twisted.web's resource/server), error pages, redirects. */
export { Resource } from './resource.js';
export { NOT_DONE_YET } from './interfaces.js';
export { site, asWebRequest, getChildForRequest } from './site.js';
export { ErrorPage, NoResource, ForbiddenResource, Redirect, redirectTo, escapeHtml } from './pages.js';
export { resourceFromCps } from './mount.js';
export { StaticFile } from './static/staticfile.js';
export { FileProducer, DEFAULT_CHUNK_SIZE } from './static/producer.js';
export { DEFAULT_MAX_RANGES, parseRange } from './static/ranges.js';
export { CONTENT_TYPES } from './static/mimetypes.js';
export {
  eventSource,
  EventStream,
  formatEvent,
  formatComment,
  SSE_HEARTBEAT,
  SSE_MAX_BUFFERED,
  EVENT_STREAM_HEADERS,
} from './sse.js';
export { RenderResultError, ChildNameError, EventFieldError, EventStreamOverflowError } from './errors.js';
export type { IResource, IWebRequest, RenderResult, NotDoneYet, Body } from './interfaces.js';
export type { SiteOptions } from './site.js';
export type { ServerSentEvent, EventStreamOptions, EventStreamEnd } from './sse.js';
export type { StaticFileOptions } from './static/staticfile.js';
export type { ByteRange, RangeResult } from './static/ranges.js';
