/**
 * Request paths as resource traversal sees them: the percent-encoded path is
 * split at '/' first and each segment decoded after (so '%2F' stays inside its
 * segment, as in Twisted's `Request.postpath`), then read as UTF-8. A segment
 * whose bytes are not UTF-8 keeps one char per byte (latin-1), so nothing is lost.
 */

import { Buffer } from 'node:buffer';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decode one segment to bytes; a '%' not followed by two hex digits stays as it is. */
function segmentBytes(segment: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x25 && i + 2 < segment.length && isHex(segment.charCodeAt(i + 1)) && isHex(segment.charCodeAt(i + 2))) {
      out.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else for (const b of Buffer.from(segment[i]!, 'utf8')) out.push(b);
  }
  return Uint8Array.from(out);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** One decoded path segment. */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  const bytes = segmentBytes(segment);
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

/** '/a/b%20c/' → ['a', 'b c', '']; '/' → ['']; '' or '*' → []. */
export function splitPath(path: string): string[] {
  if (path.charCodeAt(0) !== 0x2f) return [];
  return path.slice(1).split('/').map(decodeSegment);
}
