/**
 * Upload echo: GET shows a form; POST or PUT (`curl -T`) streams the request body back as it
 * arrives. The iterator app reads `wsgi.input` without blocking: when nothing
 * has arrived it pauses its output and asks `wsgi.input_handler` to resume it
 * when bytes (or the end) come. Reading pauses the socket when the app falls
 * behind, so a large upload to a slow reader stays bounded (G15).
 */
import type { Environ, IterApp, StartResponse } from '../../src/index.js';
import { page } from './pages.js';

/** Largest piece echoed per chunk. */
export const ECHO_CHUNK = 64 * 1024;

const FORM = page(
  'Upload echo',
  `<p>POST a body to <code>/upload</code> and it streams straight back, piece by piece as it arrives.</p>
<form method="post" action="/upload" enctype="multipart/form-data">
  <p><textarea name="text" rows="4" cols="60">Hello, spindle!</textarea></p>
  <p><input type="file" name="file"></p>
  <p><button type="submit">Send</button></p>
</form>
<p>Or: <code>curl --data-binary @big.iso http://127.0.0.1:8080/upload | cmp - big.iso</code>
(POST), or <code>curl -T big.iso http://127.0.0.1:8080/upload | cmp - big.iso</code> (PUT).</p>`,
);

export const uploadApp: IterApp = (environ: Environ, startResponse: StartResponse) => {
  const method = environ.REQUEST_METHOD;
  if (method === 'GET' || method === 'HEAD') {
    startResponse('200 OK', [['content-type', 'text/html; charset=utf-8']]);
    return [FORM];
  }
  if (method !== 'POST' && method !== 'PUT') {
    startResponse('405 Method Not Allowed', [
      ['content-type', 'text/plain; charset=utf-8'],
      ['allow', 'GET, HEAD, POST, PUT'],
    ]);
    return [`${method} is not allowed here; GET the form, or POST or PUT a body\n`];
  }
  const input = environ['wsgi.input'];
  const pauseOutput = environ['wsgi.pause_output'];
  const inputHandler = environ['wsgi.input_handler'];
  if (!pauseOutput || !inputHandler)
    throw new Error('the upload echo needs wsgi.pause_output and wsgi.input_handler (spindle serve)');
  startResponse('200 OK', [
    ['content-type', 'text/plain; charset=utf-8'],
    ['x-content-type-options', 'nosniff'],
  ]);
  return (function* () {
    for (;;) {
      const piece = input.read(ECHO_CHUNK);
      if (piece.byteLength > 0) {
        yield piece;
        continue;
      }
      if (input.atEOF || input.clientGone) return;
      // Nothing yet: sleep until the gateway says more arrived.
      inputHandler(input, pauseOutput());
      yield '';
    }
  })();
};
