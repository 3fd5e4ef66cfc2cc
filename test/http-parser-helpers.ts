/**
 * Test helpers for the HTTP parser: run bytes through an `HTTPParser` at a given
 * split and collect its events in a split-independent form (adjacent body
 * pieces merged).
 */
import { HTTPParser, type ParserLimits } from '../src/protocols/http/parser.js';

export type ParsedEvent =
  | {
      type: 'head';
      method: string;
      target: string;
      version: string;
      headers: Array<[string, string]>;
      keepAlive: boolean;
      expectContinue: boolean;
      chunked: boolean;
      contentLength: number;
    }
  | { type: 'body'; data: string }
  | { type: 'complete'; trailers: Array<[string, string]> | null }
  | { type: 'error'; status: number; code: string };

export const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** Feed `bytes` cut at `cuts` (sorted offsets) and return the events. */
export function parseWithCuts(bytes: Uint8Array, cuts: number[], limits?: ParserLimits): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  const parser = new HTTPParser(
    {
      onHead: (h) =>
        events.push({
          type: 'head',
          method: h.method,
          target: h.target,
          version: h.version,
          headers: h.headers.rawPairs().map(([n, v]) => [n, v]),
          keepAlive: h.keepAlive,
          expectContinue: h.expectContinue,
          chunked: h.chunked,
          contentLength: h.contentLength,
        }),
      onBody: (d) => {
        const last = events[events.length - 1];
        const s = Buffer.from(d).toString('latin1');
        if (last?.type === 'body') last.data += s;
        else events.push({ type: 'body', data: s });
      },
      onComplete: (t) => events.push({ type: 'complete', trailers: t ? t.rawPairs().map(([n, v]) => [n, v]) : null }),
      onError: (e) => events.push({ type: 'error', status: e.status, code: e.code }),
    },
    limits,
  );
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > prev) parser.feed(bytes.subarray(prev, c));
    prev = Math.max(prev, c);
  }
  return events;
}

export const parseWhole = (bytes: Uint8Array, limits?: ParserLimits) => parseWithCuts(bytes, [], limits);
export const parseBytewise = (bytes: Uint8Array, limits?: ParserLimits) =>
  parseWithCuts(
    bytes,
    Array.from({ length: bytes.length }, (_, i) => i),
    limits,
  );
