/** Helpers for WebSocket tests: frames built by hand (valid or not), and a parser event recorder. */
import { Buffer } from 'node:buffer';
import { FrameParser, type FrameParserOptions } from '../src/protocols/websocket/parser.js';
import type { WebSocketProtocolError } from '../src/protocols/websocket/errors.js';
export { splitAt } from './split.js';

export const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

export interface RawFrame {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Uint8Array | string;
  /** A 4-byte mask, or null for an unmasked frame. Default MASK. */
  mask?: Uint8Array | null;
  /** Force the length field's form: 7-bit, 16-bit or 64-bit. */
  lengthForm?: 7 | 16 | 64;
}

/** One frame's bytes, written independently of src/ (a second implementation of §5.2). */
export function frame(f: RawFrame): Uint8Array {
  const payload =
    typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : Buffer.from(f.payload ?? new Uint8Array(0));
  const mask = f.mask === undefined ? MASK : f.mask;
  const len = payload.length;
  const form = f.lengthForm ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | f.opcode];
  const m = mask ? 0x80 : 0;
  if (form === 7) head.push(m | len);
  else if (form === 16) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    const big = BigInt(len);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  const body = Buffer.from(payload);
  if (mask) {
    head.push(...mask);
    for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  }
  return new Uint8Array(Buffer.concat([Buffer.from(head), body]));
}

export function closeBody(code: number, reason: string | Uint8Array = ''): Uint8Array {
  const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

export const cat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

export type Event =
  | ['message', string | Uint8Array]
  | ['ping', string]
  | ['pong', string]
  | ['close', number, string]
  | ['error', number, string];

/** A parser whose events are recorded in order. */
export function recorder(options: FrameParserOptions = { expectMasked: true }) {
  const events: Event[] = [];
  const parser = new FrameParser(
    {
      onMessage: (d) => events.push(['message', typeof d === 'string' ? d : new Uint8Array(d)]),
      onPing: (p) => events.push(['ping', Buffer.from(p).toString('latin1')]),
      onPong: (p) => events.push(['pong', Buffer.from(p).toString('latin1')]),
      onClose: (c, r) => events.push(['close', c, r]),
      onError: (e: WebSocketProtocolError) => events.push(['error', e.closeCode, e.message]),
    },
    options,
  );
  return { parser, events };
}

/** Events of a fresh parser fed `pieces` (each copied, so the parser cannot rely on the caller's buffers). */
export function parse(pieces: Uint8Array[], options?: FrameParserOptions): Event[] {
  const r = recorder(options);
  for (const p of pieces) r.parser.feed(new Uint8Array(p));
  return r.events;
}
