/** fast-check arbitraries for HTTP tests. */
import fc from 'fast-check';

/** A well-formed request: random method, path, headers and a Content-Length or chunked body. */
export const validRequest = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH'),
    path: fc.stringMatching(/^\/[a-z0-9\/._~%-]{0,20}(\?[a-z0-9=&]{0,10})?$/),
    headers: fc.array(
      fc.tuple(
        fc.stringMatching(/^X-[A-Za-z0-9-]{1,8}$/),
        fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim()),
      ),
      { maxLength: 4 },
    ),
    body: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
    chunked: fc.boolean(),
    expect: fc.boolean(),
    close: fc.boolean(),
  })
  .map(({ method, path, headers, body, chunked, expect, close }) => {
    let head = `${method} ${path} HTTP/1.1\r\nHost: fuzz\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}`;
    if (close) head += 'Connection: close\r\n';
    if (body === undefined) return `${head}\r\n`;
    if (expect) head += 'Expect: 100-continue\r\n';
    if (!chunked) return `${head}Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
    const mid = Math.floor(body.length / 2);
    const parts = [body.slice(0, mid), body.slice(mid)].filter((p) => p.length > 0);
    return `${head}Transfer-Encoding: chunked\r\n\r\n${parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('')}0\r\n\r\n`;
  });
