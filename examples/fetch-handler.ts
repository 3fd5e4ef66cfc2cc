/**
 * Serving a WHATWG Fetch handler, `(Request) => Response`, on spindle's HTTP
 * server. Bodies stream both ways: the request body is a ReadableStream fed
 * as bytes arrive (reading pauses when you fall behind), and a streamed
 * response body is pulled only as fast as the client reads it.
 *
 *     node --import tsx examples/fetch-handler.ts
 *     curl http://127.0.0.1:8081/count?to=5
 *     curl --data-binary 'hello' http://127.0.0.1:8081/upper
 *
 * The same handler runs unchanged on any Fetch runtime; here it also shows
 * `spindle serve examples/fetch-handler.ts:handler --style fetch`.
 */
import { serve } from '../src/index.js'; // 'spindle'
import reactor from '../src/reactor/index.js'; // 'spindle/reactor'

const encoder = new TextEncoder();

export async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/count') {
    const to = Math.min(Number(url.searchParams.get('to') ?? 10), 10_000);
    let n = 0;
    // pull() runs only when the server wants more: a slow client slows the loop.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(encoder.encode(`${++n}\n`));
        if (n >= to) controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain' } });
  }
  if (url.pathname === '/upper' && request.method === 'POST' && request.body) {
    // Transform the upload as it streams through: nothing is buffered whole.
    const upper = request.body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TransformStream<string, string>({ transform: (text, c) => c.enqueue(text.toUpperCase()) }))
      .pipeThrough(new TextEncoderStream());
    return new Response(upper, { headers: { 'content-type': 'text/plain' } });
  }
  return Response.json({ routes: ['GET /count?to=N', 'POST /upper'] }, { status: url.pathname === '/' ? 200 : 404 });
}

// Run directly: serve the handler. (Imported by `spindle serve`, this part is skipped.)
if (import.meta.url === new URL(process.argv[1] ?? '', 'file:').href) {
  const port = Number(process.env.PORT ?? 8081);
  serve(handler, { style: 'fetch', port, host: process.env.HOST ?? '127.0.0.1', reactor }).addCallback((listening) => {
    const { host, port: p } = listening.getHost();
    console.log(`listening on http://${host}:${p}`);
    reactor.addSystemEventTrigger('before', 'shutdown', () => listening.stopListening());
  });
  reactor.run({ installSignalHandlers: true });
}
