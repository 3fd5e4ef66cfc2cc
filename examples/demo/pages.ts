/** HTML for the demo's pages: one small template and the index. */

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em}code{background:#f3f3f3;padding:0 .2em}td,th{padding:.1em .8em;text-align:left}';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A complete page; `body` is trusted HTML, `head` extra head elements. */
export function page(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title === 'spindle demo' ? title : `${title} - spindle demo`)}</title>
<style>${STYLE}</style>${head}</head>
<body><p><a href="/">spindle demo</a></p><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

/** Each demo page: link, what it shows. The smoke test requests every link. */
export const LINKS: ReadonlyArray<readonly [href: string, text: string, about: string]> = [
  [
    '/iter',
    'Iterator app',
    'an app(environ, startResponse) generator, pulled by the gateway only while the socket wants data',
  ],
  ['/cps', 'CPS app', 'request.write() and request.finish() after a Deferred fires (Twisted.web style)'],
  [
    '/cps-via-iter',
    'CPS app through toIterApp',
    'the same CPS app run as an iterator app, then hosted by the gateway again: toCpsApp(toIterApp(app))',
  ],
  [
    '/clock?ticks=3',
    'Streaming clock',
    'an iterator app that ticks once a second with wsgi.pause_output (try ?ticks=60)',
  ],
  ['/upload', 'Upload echo', 'a form; a POST or PUT body streams back as it arrives (wsgi.input_handler)'],
  [
    '/files/',
    'Static files',
    'examples/ served by StaticFile: a directory listing, ETag and 304, byte ranges (try curl -r 0-99)',
  ],
  [
    '/events?count=3',
    'Server-sent events',
    'a text/event-stream of ticks with ids, ended after count (try curl -N, or EventSource in a page)',
  ],
  ['/stats', 'Reactor statistics', 'live: pending delayed calls, open connections, paused producers, requests'],
  ['/stats.json', 'Statistics as JSON', 'the same numbers, for scripts'],
];

export const INDEX = page(
  'spindle demo',
  `<p>One reactor, two app styles, and the bridge between them. Every response carries
<code>X-Spindle-Pid</code>, the process that answered.</p>
<ul>
${LINKS.map(([href, text, about]) => `  <li><a href="${href}">${escapeHtml(text)}</a>: ${escapeHtml(about)}</li>`).join('\n')}
</ul>
<p>Served by <code>spindle serve examples/demo/app.ts:app --style cps</code>; the source is in <code>examples/demo/</code>.</p>`,
);
