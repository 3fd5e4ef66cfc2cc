/**
 * HTTP rules that more than one part of spindle applies, each in one place:
 * the request parser, the response path, the gateway, the bridges and the CLI
 * import them from here instead of keeping their own copy.
 */
import { trimOWS } from './syntax.js';

/** Digits in a Content-Length: 15 keeps it below Number.MAX_SAFE_INTEGER. */
export const MAX_CONTENT_LENGTH_DIGITS = 15;

/** True when `text` is 1 to 15 ASCII digits and nothing else. */
export function isContentLengthDigits(text: string): boolean {
  if (text.length === 0 || text.length > MAX_CONTENT_LENGTH_DIGITS) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6), SP/HTAB around it allowed (OWS,
 * RFC 9110 §5.5): the length, or null for anything else (a list, a sign, hex,
 * an exponent, a Unicode space: `Number()` would accept several of those).
 */
export function parseContentLength(value: string): number | null {
  const t = trimOWS(value);
  return isContentLengthDigits(t) ? Number(t) : null;
}
