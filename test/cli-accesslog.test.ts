/**
 * The access log's lines, built without a server: Common Log Format plus the
 * duration, or one JSON object; what a client sends cannot break a line.
 * And the address the CLI prints, IPv6 included.
 */
import { describe, expect, it } from 'vitest';
import { formatAccess, type AccessRecord } from '../src/cli/accesslog.js';
import { clfDate } from '../src/protocols/http/accesslog.js';
import { urlOf } from '../src/cli/serve.js';

const record: AccessRecord = {
  time: new Date(Date.UTC(2026, 10, 2, 3, 4, 5)),
  remote: '127.0.0.1',
  method: 'GET',
  uri: '/a?b=1',
  version: 'HTTP/1.1',
  status: 200,
  bytes: 1234,
  duration: 0.0421,
  completed: true,
  userAgent: 'curl/8',
  pid: 42,
};

describe('access log lines', () => {
  it('writes Common Log Format with the duration', () => {
    expect(formatAccess(record, 'text')).toBe(
      '127.0.0.1 - - [02/Nov/2026:03:04:05 +0000] "GET /a?b=1 HTTP/1.1" 200 1234 0.042s\n',
    );
  });

  it('marks a response whose client went away', () => {
    expect(formatAccess({ ...record, completed: false, status: 200 }, 'text')).toMatch(/ \(client went away\)\n$/);
  });

  it('escapes quotes, backslashes and control characters so a line stays one line', () => {
    const line = formatAccess({ ...record, uri: '/x"y\\z\r\nInjected: 1' }, 'text');
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toContain('"GET /x\\"y\\\\z\\x0d\\x0aInjected: 1 HTTP/1.1"');
  });

  it('writes one JSON object per line with the documented fields', () => {
    const line = formatAccess({ ...record, userAgent: undefined }, 'json');
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({
      time: '2026-11-02T03:04:05.000Z',
      remote: '127.0.0.1',
      method: 'GET',
      uri: '/a?b=1',
      version: 'HTTP/1.1',
      status: 200,
      bytes: 1234,
      duration_ms: 42.1,
      completed: true,
      user_agent: null,
      pid: 42,
    });
  });

  it('dates are in UTC with two-digit days and English months', () => {
    expect(clfDate(new Date(Date.UTC(2025, 0, 9, 23, 59, 59)))).toBe('09/Jan/2025:23:59:59 +0000');
  });
});

describe('urlOf', () => {
  it('prints IPv4 as is and IPv6 in brackets', () => {
    expect(urlOf({ host: '127.0.0.1', port: 8080 })).toBe('http://127.0.0.1:8080');
    expect(urlOf({ host: '::1', port: 9 })).toBe('http://[::1]:9');
  });
});
