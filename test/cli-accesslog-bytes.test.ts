/**
 * The access log's byte count is what went on the wire as body: a HEAD
 * response, a 204 and a 304 carry none (RFC 9110 sections 9.3.2, 15.3.5,
 * 15.4.5), even when the app wrote a body the server then dropped. A new user
 * saw `"HEAD / HTTP/1.1" 200 40` for a response with no body.
 */
import { describe, expect, it } from 'vitest';
import { withAccessLog } from '../src/cli/accesslog.js';
import type { CpsApp } from '../src/protocols/http/interfaces.js';
import { makeServer } from './http-channel-helpers.js';

function logged(app: CpsApp, request: string): string[] {
  const lines: string[] = [];
  const server = makeServer(
    withAccessLog(
      app,
      (line) => lines.push(line),
      'text',
      () => new Date(0),
    ),
  );
  server.send(request);
  return lines;
}

const body40: (code: number) => CpsApp = (code) => (request) => {
  request.setResponseCode(code);
  request.write('x'.repeat(40));
  request.finish();
};

describe('access log byte count', () => {
  it('counts the body of a GET', () => {
    expect(logged(body40(200), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toEqual([
      expect.stringMatching(/"GET \/ HTTP\/1\.1" 200 40 /),
    ]);
  });

  it('logs 0 bytes for HEAD, 204 and 304, whose bodies never reach the wire', () => {
    expect(logged(body40(200), 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n')).toEqual([
      expect.stringMatching(/"HEAD \/ HTTP\/1\.1" 200 0 /),
    ]);
    expect(logged(body40(204), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toEqual([expect.stringMatching(/ 204 0 /)]);
    expect(logged(body40(304), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toEqual([expect.stringMatching(/ 304 0 /)]);
  });
});
