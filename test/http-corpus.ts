/**
 * A corpus of requests, valid and malicious, shared by the parser tests (each at
 * every split) and the differential test against Node's own parser. `status`
 * is what spindle answers (200 = accepted); `stricter` says why spindle refuses
 * something Node's parser accepts, when it does.
 */
export interface CorpusCase {
  name: string;
  raw: string;
  /** 200 when spindle accepts the (first) request, else the error status. */
  status: number;
  /** spindle's error code when rejected. */
  code?: string;
  /** Why spindle is stricter than Node here (only set where Node accepts and spindle refuses). */
  stricter?: string;
  /** For an accepted request: whether the connection may persist after it (RFC 9112 §9.3). */
  keepAlive?: boolean;
}

const H = 'Host: example.com\r\n';

export const corpus: CorpusCase[] = [
  // -- valid --
  { name: 'simple GET', raw: `GET / HTTP/1.1\r\n${H}\r\n`, status: 200 },
  { name: 'GET with query', raw: `GET /a/b?x=1&y=%20 HTTP/1.1\r\n${H}Accept: */*\r\n\r\n`, status: 200 },
  { name: 'HTTP/1.0 without Host', raw: 'GET /old HTTP/1.0\r\n\r\n', status: 200 },
  { name: 'POST content-length', raw: `POST /p HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`, status: 200 },
  {
    name: 'POST chunked',
    raw: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    status: 200,
  },
  {
    name: 'chunked with extension',
    raw: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n0\r\n\r\n`,
    status: 200,
  },
  {
    name: 'chunked with trailers',
    raw: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 99\r\n\r\n`,
    status: 200,
  },
  {
    name: 'uppercase hex chunk size',
    raw: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n`,
    status: 200,
  },
  { name: 'header OWS trimmed', raw: `GET / HTTP/1.1\r\n${H}X-A: \t padded \t\r\n\r\n`, status: 200 },
  { name: 'empty header value', raw: `GET / HTTP/1.1\r\n${H}X-Empty:\r\n\r\n`, status: 200 },
  { name: 'obs-text in value', raw: `GET / HTTP/1.1\r\n${H}X-Latin: caf\xe9\r\n\r\n`, status: 200 },
  { name: 'leading empty line', raw: `\r\nGET / HTTP/1.1\r\n${H}\r\n`, status: 200 },
  { name: 'Connection close', raw: `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, status: 200 },
  { name: '1.0 keep-alive', raw: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', status: 200 },
  { name: 'OPTIONS *', raw: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, status: 200 },
  { name: 'absolute-form', raw: `GET http://example.com/x?y HTTP/1.1\r\n${H}\r\n`, status: 200 },
  { name: 'repeated header kept in order', raw: `GET / HTTP/1.1\r\n${H}Accept: a\r\nAccept: b\r\n\r\n`, status: 200 },
  {
    name: 'Expect 100-continue',
    raw: `PUT /u HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nok`,
    status: 200,
  },
  { name: 'Content-Length zero', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`, status: 200 },
  { name: 'two pipelined', raw: `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n`, status: 200 },
  {
    name: 'chunked case-insensitive',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n`,
    status: 200,
  },
  { name: 'Content-Length leading zeros', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`, status: 200 },

  // -- request line --
  {
    name: 'HTTP/2.0 version',
    raw: `GET / HTTP/2.0\r\n${H}\r\n`,
    status: 505,
    code: 'ERR_HTTP_VERSION_NOT_SUPPORTED',
    stricter: 'RFC 9110 §15.6.6: a version this server does not implement gets 505 (Node serves it as 1.1)',
  },
  {
    name: 'HTTP/0.9 version',
    raw: `GET / HTTP/0.9\r\n${H}\r\n`,
    status: 505,
    code: 'ERR_HTTP_VERSION_NOT_SUPPORTED',
    stricter: 'RFC 9110 §15.6.6: HTTP/0.9 is not served (505)',
  },
  { name: 'lowercase version', raw: `GET / http/1.1\r\n${H}\r\n`, status: 400, code: 'ERR_HTTP_BAD_VERSION' },
  {
    name: 'missing version',
    raw: `GET /\r\n${H}\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_REQUEST_LINE',
    stricter: 'no HTTP/0.9 simple requests: the request line must carry a version (RFC 9112 §3)',
  },
  {
    name: 'double space in request line',
    raw: `GET  / HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_REQUEST_LINE',
    stricter:
      'RFC 9112 §3: exactly one SP between parts; whitespace-lenient request lines are parsed differently by different servers',
  },
  { name: 'space in target', raw: `GET /a b HTTP/1.1\r\n${H}\r\n`, status: 400, code: 'ERR_HTTP_BAD_VERSION' },
  { name: 'NUL in target', raw: `GET /a\x00b HTTP/1.1\r\n${H}\r\n`, status: 400, code: 'ERR_HTTP_BAD_TARGET' },
  { name: 'tab in target', raw: `GET /a\tb HTTP/1.1\r\n${H}\r\n`, status: 400, code: 'ERR_HTTP_BAD_TARGET' },
  {
    name: 'raw UTF-8 in target',
    raw: `GET /caf\xc3\xa9 HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TARGET',
  },
  { name: 'bad method char', raw: `G(T / HTTP/1.1\r\n${H}\r\n`, status: 400, code: 'ERR_HTTP_BAD_METHOD' },
  {
    name: 'target without slash',
    raw: `GET index.html HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TARGET',
  },
  {
    name: 'CONNECT',
    raw: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    status: 501,
    code: 'ERR_HTTP_METHOD_NOT_IMPLEMENTED',
  },
  { name: 'bare LF line endings', raw: 'GET / HTTP/1.1\nHost: example.com\n\n', status: 400, code: 'ERR_HTTP_BARE_LF' },
  {
    name: 'bare LF after header',
    raw: `GET / HTTP/1.1\r\nHost: example.com\nX: y\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BARE_LF',
  },
  { name: 'bare CR in request line', raw: `GET /\r HTTP/1.1\r\n${H}\r\n`, status: 400, code: 'ERR_HTTP_BARE_CR' },
  {
    name: 'too many empty lines',
    raw: `${'\r\n'.repeat(9)}GET / HTTP/1.1\r\n${H}\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_REQUEST_LINE',
    stricter: 'at most 8 leading empty lines (RFC 9112 §2.2 only asks to ignore one)',
  },

  // -- header fields --
  { name: 'obs-fold', raw: `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`, status: 400, code: 'ERR_HTTP_OBS_FOLD' },
  {
    name: 'space before colon',
    raw: `GET / HTTP/1.1\r\n${H}X-Bad : v\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'space before colon in Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length : 3\r\n\r\nabc`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'non-token header name',
    raw: `GET / HTTP/1.1\r\n${H}X(y): v\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'header without colon',
    raw: `GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'empty header name',
    raw: `GET / HTTP/1.1\r\n${H}: v\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'NUL in header value',
    raw: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_VALUE',
  },
  {
    name: 'bare CR in header value',
    raw: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BARE_CR',
  },
  {
    name: 'DEL in header value',
    raw: `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_VALUE',
  },
  {
    name: 'control char in header value',
    raw: `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_VALUE',
  },
  {
    name: 'missing Host on 1.1',
    raw: 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n',
    status: 400,
    code: 'ERR_HTTP_MISSING_HOST',
  },
  {
    name: 'duplicate Host',
    raw: `GET / HTTP/1.1\r\n${H}Host: evil.com\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_DUPLICATE_HOST',
    stricter: 'RFC 9112 §3.2: MUST respond 400 to more than one Host',
  },
  {
    name: 'Host with space',
    raw: 'GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n',
    status: 400,
    code: 'ERR_HTTP_BAD_HOST',
    stricter: 'RFC 3986 §3.2.2: host has no spaces',
  },
  {
    name: 'Host with slash',
    raw: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n',
    status: 400,
    code: 'ERR_HTTP_BAD_HOST',
    stricter: 'RFC 3986 §3.2.2: "/" is not a host character',
  },
  {
    name: 'unsupported Expect',
    raw: `GET / HTTP/1.1\r\n${H}Expect: magic\r\n\r\n`,
    status: 417,
    code: 'ERR_HTTP_EXPECTATION_FAILED',
  },

  // -- framing and smuggling --
  {
    name: 'CL.TE',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
    status: 400,
    code: 'ERR_HTTP_CONTENT_LENGTH_AND_TRANSFER_ENCODING',
  },
  {
    name: 'TE.CL',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_CONTENT_LENGTH_AND_TRANSFER_ENCODING',
  },
  {
    name: 'TE.TE chunked twice',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
  },
  {
    name: 'TE.TE chunked, chunked list',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
  },
  {
    name: 'TE.TE obfuscated xchunked',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
  },
  {
    name: 'TE.TE chunked then identity',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
  },
  {
    name: 'TE.TE space before colon',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_HEADER_NAME',
  },
  {
    name: 'TE.TE tab-prefixed obs-fold',
    raw: `POST / HTTP/1.1\r\n${H}X: y\r\n\tTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_OBS_FOLD',
  },
  {
    name: 'TE gzip, chunked',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    status: 501,
    code: 'ERR_HTTP_UNKNOWN_TRANSFER_CODING',
    stricter: 'RFC 9112 §6.1: a coding the server cannot decode gets 501',
  },
  {
    name: 'TE chunked;param',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
  },
  {
    name: 'TE in HTTP/1.0',
    raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
    stricter: 'RFC 9112 §6.1: TE in a 1.0 message means faulty framing',
  },
  {
    name: 'empty TE',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_TRANSFER_ENCODING',
    stricter: 'an empty Transfer-Encoding leaves the framing undefined (RFC 9112 §6.3); Node reads it as no body',
  },
  {
    name: 'differing Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'identical repeated Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'Content-Length list',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'negative Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'plus Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'hex Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'overflowing Content-Length',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'Content-Length with inner space',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CONTENT_LENGTH',
  },
  {
    name: 'non-hex chunk size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'huge chunk size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'negative chunk size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: '0x chunk size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'space after chunk size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunk data longer than size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunk without CRLF after data',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'bare LF in chunk size line',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BARE_LF',
  },
  {
    name: 'NUL in chunk extension',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a\x00\r\nabc\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'obs-fold in trailer',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_OBS_FOLD',
  },
];

/**
 * Characters that `String.prototype.trim()`, `\s` or other engines' helpers take
 * for whitespace but HTTP does not (RFC 9110 §5.6.3: OWS is SP and HTAB only),
 * as the bytes a client would send: the latin-1 byte where there is one, and
 * the UTF-8 form.
 */
export const UNICODE_SPACES: ReadonlyArray<readonly [string, string]> = [
  ['U+00A0 (byte A0)', '\xa0'],
  ['U+00A0 (UTF-8)', '\xc2\xa0'],
  ['U+0085 (byte 85)', '\x85'],
  ['U+0085 (UTF-8)', '\xc2\x85'],
  ...Array.from(
    { length: 11 },
    (_, i) =>
      [`U+${(0x2000 + i).toString(16).toUpperCase()} (UTF-8)`, `\xe2\x80${String.fromCharCode(0x80 + i)}`] as const,
  ),
  ['U+3000 (UTF-8)', '\xe3\x80\x80'],
];
/** Vertical tab and form feed: whitespace to `\s`, control bytes to HTTP (RFC 9110 §5.5). */
export const CONTROL_SPACES: ReadonlyArray<readonly [string, string]> = [
  ['VT', '\x0b'],
  ['FF', '\x0c'],
];

const EXPECT_STRICTER =
  'Node takes "100-continue" after any non-word character as 100-continue; spindle trims only SP/HTAB (RFC 9110 §5.6.3), so this is another expectation (417)';

/** Each space around the framing tokens: none of them may take effect (issue 12, item 1). */
function spaceCases(label: string, sp: string, control: boolean): CorpusCase[] {
  const bad = (code: string) => (control ? 'ERR_HTTP_BAD_HEADER_VALUE' : code);
  const te = (v: string) =>
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`;
  const cl = (v: string) => `POST / HTTP/1.1\r\n${H}Content-Length: ${v}\r\n\r\nhello`;
  const out: CorpusCase[] = [
    {
      name: `TE: ${label} before chunked is not chunked`,
      raw: te(`${sp}chunked`),
      status: 400,
      code: bad('ERR_HTTP_BAD_TRANSFER_ENCODING'),
    },
    {
      name: `TE: ${label} after chunked is not chunked`,
      raw: te(`chunked${sp}`),
      status: 400,
      code: bad('ERR_HTTP_BAD_TRANSFER_ENCODING'),
    },
    {
      name: `TE: ${label} between list elements is not chunked`,
      raw: te(`gzip,${sp}chunked`),
      status: 400,
      code: bad('ERR_HTTP_BAD_TRANSFER_ENCODING'),
    },
    {
      name: `CL: ${label} before the digits is refused`,
      raw: cl(`${sp}5`),
      status: 400,
      code: bad('ERR_HTTP_BAD_CONTENT_LENGTH'),
    },
    {
      name: `CL: ${label} after the digits is refused`,
      raw: cl(`5${sp}`),
      status: 400,
      code: bad('ERR_HTTP_BAD_CONTENT_LENGTH'),
    },
    {
      name: `TE name followed by ${label} is not a header name`,
      raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding${sp}: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      code: 'ERR_HTTP_BAD_HEADER_NAME',
    },
    {
      name: `CL name after ${label} is not a header name`,
      raw: `POST / HTTP/1.1\r\n${H}${sp}Content-Length: 5\r\n\r\nhello`,
      status: 400,
      code: 'ERR_HTTP_BAD_HEADER_NAME',
    },
  ];
  if (control) {
    out.push(
      {
        name: `Connection: keep-alive then ${label} is refused`,
        raw: `GET / HTTP/1.0\r\nConnection: keep-alive${sp}\r\n\r\n`,
        status: 400,
        code: bad(''),
      },
      {
        name: `Connection: close then ${label} is refused`,
        raw: `GET / HTTP/1.1\r\n${H}Connection: close${sp}\r\n\r\n`,
        status: 400,
        code: bad(''),
      },
      {
        name: `Expect: ${label} before 100-continue is refused`,
        raw: `PUT /u HTTP/1.1\r\n${H}Expect: ${sp}100-continue\r\nContent-Length: 2\r\n\r\nok`,
        status: 400,
        code: bad(''),
      },
      {
        name: `a value with ${label} around it is refused`,
        raw: `GET / HTTP/1.1\r\n${H}X-A: ${sp}v${sp}\r\n\r\n`,
        status: 400,
        code: bad(''),
      },
    );
  } else {
    out.push(
      {
        name: `Connection: keep-alive then ${label} does not keep a 1.0 connection`,
        raw: `GET / HTTP/1.0\r\nConnection: keep-alive${sp}\r\n\r\n`,
        status: 200,
        keepAlive: false,
      },
      {
        name: `Connection: close then ${label} does not close`,
        raw: `GET / HTTP/1.1\r\n${H}Connection: close${sp}\r\n\r\n`,
        status: 200,
        keepAlive: true,
      },
      {
        name: `Expect: ${label} before 100-continue is another expectation`,
        raw: `PUT /u HTTP/1.1\r\n${H}Expect: ${sp}100-continue\r\nContent-Length: 2\r\n\r\nok`,
        status: 417,
        code: 'ERR_HTTP_EXPECTATION_FAILED',
        stricter: EXPECT_STRICTER,
      },
      {
        name: `a value with ${label} around it keeps those bytes`,
        raw: `GET / HTTP/1.1\r\n${H}X-A: ${sp}v${sp}\r\n\r\n`,
        status: 200,
      },
    );
  }
  return out;
}

for (const [label, sp] of UNICODE_SPACES) corpus.push(...spaceCases(label, sp, false));
for (const [label, sp] of CONTROL_SPACES) corpus.push(...spaceCases(label, sp, true));

const CHUNK_EXT_STRICTER =
  'RFC 9112 §7.1.1: chunk-ext-name and chunk-ext-val are tokens (1*tchar) or a quoted-string; Node lets this one through';

/** Chunk extensions (RFC 9112 §7.1.1), checked and ignored (issue 12, item 2). */
const chunkExt = (ext: string, last = '0') =>
  `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5${ext}\r\nhello\r\n${last}\r\n\r\n`;
corpus.push(
  // -- valid --
  { name: 'chunk-ext: a name alone', raw: chunkExt(';a'), status: 200 },
  { name: 'chunk-ext: two name=token pairs', raw: chunkExt(';a=b;c=d'), status: 200 },
  { name: 'chunk-ext: quoted-string with a space', raw: chunkExt(';a="q s"'), status: 200 },
  { name: 'chunk-ext: quoted-string with quoted-pairs', raw: chunkExt(';a="\\"e\\""'), status: 200 },
  { name: 'chunk-ext: empty quoted-string', raw: chunkExt(';a=""'), status: 200 },
  { name: 'chunk-ext: obs-text inside quotes', raw: chunkExt(';a="x\xa0y"'), status: 200 },
  { name: 'chunk-ext: on the last chunk', raw: chunkExt('', '0;a=b'), status: 200 },
  // -- malformed --
  {
    name: 'chunk-ext: empty name (";" alone)',
    raw: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n`,
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  { name: 'chunk-ext: empty name on the last chunk', raw: chunkExt('', '0;'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: unbalanced quote', raw: chunkExt(';a="abc;b=c'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  {
    name: 'chunk-ext: backslash at the end of a quote',
    raw: chunkExt(';a="\\'),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  { name: 'chunk-ext: quoted-pair of DEL', raw: chunkExt(';a="x\\\x7f"'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  {
    name: 'chunk-ext: control byte inside quotes',
    raw: chunkExt(';a="x\x01"'),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  {
    name: 'chunk-ext: text after the closing quote',
    raw: chunkExt(';a="x"y'),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  { name: 'chunk-ext: non-token name', raw: chunkExt(';a@b'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: space inside a value', raw: chunkExt(';a=b c'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: name then space then name', raw: chunkExt(';a b'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: trailing ";"', raw: chunkExt(';a=b;'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: BWS after ";"', raw: chunkExt('; a=b'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: HTAB after ";"', raw: chunkExt(';\ta'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: HTAB before ";"', raw: chunkExt('\t;a'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: BWS before "="', raw: chunkExt(';a =b'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: BWS after "="', raw: chunkExt(';a= b'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: trailing space', raw: chunkExt(';a=b '), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: U+00A0 as a value', raw: chunkExt(';a=\xa0'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: U+00A0 before "="', raw: chunkExt(';a\xa0=b'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  {
    name: 'chunk-ext: U+3000 after the value',
    raw: chunkExt(';a=b\xe3\x80\x80'),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
  },
  { name: 'chunk-ext: VT in a name', raw: chunkExt(';a\x0bb'), status: 400, code: 'ERR_HTTP_BAD_CHUNK' },
  { name: 'chunk-ext: bare CR in a value', raw: chunkExt(';a=b\rc'), status: 400, code: 'ERR_HTTP_BARE_CR' },
  {
    name: 'chunk-ext: empty name before "="',
    raw: chunkExt(';=v'),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
    stricter: CHUNK_EXT_STRICTER,
  },
  {
    name: 'chunk-ext: empty value after "="',
    raw: chunkExt(';a='),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
    stricter: CHUNK_EXT_STRICTER,
  },
  {
    name: 'chunk-ext: empty element ";;"',
    raw: chunkExt(';;a'),
    status: 400,
    code: 'ERR_HTTP_BAD_CHUNK',
    stricter: CHUNK_EXT_STRICTER,
  },
);
