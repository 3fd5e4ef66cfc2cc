/**
 * RFC 6455 frame constants and the pure pieces: the accept key (§1.3, §4.2.2),
 * which close codes may be sent and received (§7.4), and the serializer
 * (§5.2). No I/O.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** §7.4.1 status codes spindle sends or reports. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_NO_STATUS = 1005;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;

/** Largest message (all fragments together) accepted before failing with 1009. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Largest single frame accepted before failing with 1009. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Seconds to wait for the peer's close frame (or the TCP close) before aborting. */
export const DEFAULT_CLOSE_TIMEOUT = 5;
/** §5.5: control frames carry at most 125 bytes; a close reason at most 123 after the code. */
export const MAX_CONTROL_PAYLOAD = 125;

/** §1.3: the GUID the server appends to Sec-WebSocket-Key. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §4.2.2 step 5.4: base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/**
 * §7.4: may this code appear in a close frame on the wire? 1000-1003,
 * 1007-1014 (the IANA registry's 1012-1014 included), 3000-4999. 1004-1006
 * and 1015 are reserved never to be sent.
 */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/**
 * One frame's bytes (§5.2): FIN set unless `fin` is false, no RSV bits,
 * masked with `mask` (4 bytes) when given, as a client must (§5.3). A string
 * payload is written as UTF-8. Returns
 * the header and the payload apart when the payload is large and unmasked, so
 * it is not copied.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array | string,
  mask: Uint8Array | null,
  fin = true,
): Uint8Array[] {
  const text = typeof payload === 'string';
  const len = text ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const headLen = 2 + ext + (mask ? 4 : 0);
  const copy = text || mask !== null || len < 16 * 1024;
  const out = Buffer.allocUnsafe(copy ? headLen + len : headLen);
  out[0] = (fin ? 0x80 : 0) | opcode;
  const maskBit = mask ? 0x80 : 0;
  if (ext === 0) out[1] = maskBit | len;
  else if (ext === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  // A string is encoded straight into the frame: one copy, no intermediate buffer.
  if (text) out.write(payload, headLen, len, 'utf8');
  else if (copy) out.set(payload, headLen);
  if (mask) {
    out.set(mask, 2 + ext);
    applyMask(out, headLen, len, mask, 0);
  }
  return copy ? [out] : [out, payload as Uint8Array];
}

/**
 * XOR `buf[start, start+len)` with `mask`, the first byte taking mask byte
 * `phase` (§5.3). Words at a time where the buffer is aligned.
 */
export function applyMask(buf: Uint8Array, start: number, len: number, mask: Uint8Array, phase: number): void {
  let i = 0;
  const end = start + len;
  // Bytes until the absolute address is 4-aligned, then 32-bit words.
  while (i < len && (buf.byteOffset + start + i) % 4 !== 0) {
    buf[start + i] ^= mask[(phase + i) & 3]!;
    i++;
  }
  const words = (len - i) >>> 2;
  if (words > 0) {
    const p = phase + i;
    // The mask rotated so that word lane 0 takes mask[(p) & 3]; little-endian lanes.
    const m0 = mask[p & 3]!,
      m1 = mask[(p + 1) & 3]!,
      m2 = mask[(p + 2) & 3]!,
      m3 = mask[(p + 3) & 3]!;
    const word = LITTLE_ENDIAN
      ? (m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)) >>> 0
      : ((m0 << 24) | (m1 << 16) | (m2 << 8) | m3) >>> 0;
    const view = new Uint32Array(buf.buffer, buf.byteOffset + start + i, words);
    for (let w = 0; w < words; w++) view[w] ^= word;
    i += words * 4;
  }
  for (; start + i < end; i++) buf[start + i] ^= mask[(phase + i) & 3]!;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
