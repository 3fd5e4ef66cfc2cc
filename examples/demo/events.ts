/**
 * Server-sent events: a tick every `tickSeconds` on the request's reactor,
 * `count` of them (?count=N, default 5, at most MAX_EVENTS), then the stream
 * ends. Each event has an id, so a reconnecting browser sends Last-Event-ID
 * and the count resumes after it.
 */
import { NOT_DONE_YET, Resource, eventSource, type IWebRequest } from '../../src/index.js';

export const MAX_EVENTS = 3600;
const DEFAULT_EVENTS = 5;

export function parseCount(query: string): number {
  const n = Number(new URLSearchParams(query).get('count') ?? DEFAULT_EVENTS);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_EVENTS) : DEFAULT_EVENTS;
}

export class Events extends Resource {
  override isLeaf = true;
  constructor(private readonly tickSeconds: number) {
    super();
  }

  render_GET(request: IWebRequest): typeof NOT_DONE_YET | string {
    const count = parseCount(request.query);
    const stream = eventSource(request, { heartbeat: 15 });
    let n = Number(stream.lastEventId) || 0;
    if (n >= count) {
      stream.end();
      return NOT_DONE_YET;
    }
    const tick = () => {
      n++;
      stream.send({ id: String(n), event: 'tick', data: `tick ${n}/${count} ${new Date().toISOString()}` });
      if (n >= count) return stream.end();
      call = request.reactor.callLater(this.tickSeconds, tick);
    };
    let call = request.reactor.callLater(0, tick);
    // The client went away: stop ticking.
    stream.done.addCallback(() => {
      if (call.active()) call.cancel();
    });
    return NOT_DONE_YET;
  }
}
