/**
 * `FrameParser`: RFC 6455 frames in, messages and control events out, no I/O.
 * Bytes may arrive split anywhere. It reassembles fragmented messages (§5.4)
 * while control frames come between the fragments, checks text is UTF-8 (§8.1,
 * also across fragment boundaries), enforces the frame and message limits, and
 * reports the first protocol violation once, with the close code it calls for
 * (§7.4.1), then stops.
 *
 * Pausing: `pause()` stops events after the current one; bytes keep being
 * stored (the caller stops reading the socket) and `resume()` carries on.
 *
 * One piece: a single state machine (header, payload, the message being
 * reassembled) whose checks depend on each other; the constants and the
 * serializer are in frame.ts.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { WebSocketProtocolError } from './errors.js';
import {
  CLOSE_INVALID_DATA,
  CLOSE_NO_STATUS,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_BIG,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_CONTROL_PAYLOAD,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  applyMask,
  isValidCloseCode,
} from './frame.js';

export interface FrameHandler {
  /** A whole message: a string for text, bytes for binary. */
  onMessage(data: string | Uint8Array): void;
  onPing(payload: Uint8Array): void;
  onPong(payload: Uint8Array): void;
  /** The peer's close frame: its code (1005 when it had none) and reason. Nothing follows. */
  onClose(code: number, reason: string): void;
  /** A protocol violation; nothing follows. */
  onError(error: WebSocketProtocolError): void;
}

export interface FrameParserOptions {
  /** True on a server: §5.1 every client frame is masked, and a server's never is. */
  expectMasked: boolean;
  maxMessageBytes?: number;
  maxFrameBytes?: number;
}

const HEAD = 0,
  PAYLOAD = 1,
  DONE = 2;
/** Frames longer than this are stored in the pieces they arrive in, then joined. */
const PIECEWISE_FROM = 64 * 1024;
const EMPTY = new Uint8Array(0);
/** UTF-8 to a string, or null when not valid UTF-8 (node's native check, then a decode that keeps a BOM). */
function decodeUtf8(b: Uint8Array): string | null {
  if (!isUtf8(b)) return null;
  return (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('utf8');
}

export class FrameParser {
  private readonly expectMasked: boolean;
  private readonly maxMessage: number;
  private readonly maxFrame: number;
  private chunks: Uint8Array[] = [];
  /** Offset of the first unread byte in chunks[0]. */
  private offset = 0;
  private buffered = 0;
  private state = HEAD;
  private paused = false;
  private running = false;
  private readonly head = new Uint8Array(14);
  // The frame being read.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private readonly mask = new Uint8Array(4);
  /** The frame's payload: one buffer for a small frame; pieces as they arrive for a large one. */
  private payload: Uint8Array = EMPTY;
  private pieces: Uint8Array[] | null = null;
  private frameLen = 0;
  private filled = 0;
  // The message being reassembled: its opcode (0: none), parts and size.
  private msgOpcode = 0;
  private msgBytes = 0;
  private parts: Uint8Array[] = [];
  private textParts: string[] = [];
  private decoder: TextDecoder | null = null;

  constructor(
    private readonly handler: FrameHandler,
    options: FrameParserOptions,
  ) {
    this.expectMasked = options.expectMasked;
    this.maxMessage = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxFrame = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received and not yet parsed. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once a close frame or a violation ended the stream. */
  get done(): boolean {
    return this.state === DONE;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  feed(data: Uint8Array): void {
    if (this.state === DONE || data.length === 0) return;
    this.chunks.push(data);
    this.buffered += data.length;
    this.run();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.run();
  }

  private run(): void {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.paused && this.state !== DONE) {
        if (this.state === HEAD ? !this.readHead() : !this.readPayload()) break;
      }
    } finally {
      this.running = false;
    }
  }

  private byteAt(k: number): number {
    let i = 0,
      pos = this.offset + k;
    while (pos >= this.chunks[i]!.length) pos -= this.chunks[i++]!.length;
    return this.chunks[i]![pos]!;
  }

  /** Move `n` buffered bytes into `dst` at `at`. */
  private take(dst: Uint8Array, at: number, n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(n, c.length - this.offset);
      dst.set(k === c.length ? c : c.subarray(this.offset, this.offset + k), at);
      at += k;
      n -= k;
      this.offset += k;
      if (this.offset === c.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
  }

  /** §5.2: the header, when all of it is here. Returns false to wait for bytes. */
  private readHead(): boolean {
    if (this.buffered < 2) return false;
    const b0 = this.byteAt(0),
      b1 = this.byteAt(1);
    const len7 = b1 & 0x7f;
    const headLen = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
    if (this.buffered < headLen) return false;
    const h = this.head;
    this.take(h, 0, headLen);
    this.fin = (b0 & 0x80) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    let len = len7,
      at = 2;
    if (len7 === 126) {
      len = (h[2]! << 8) | h[3]!;
      at = 4;
    } else if (len7 === 127) {
      const hi = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
      // §5.2: the most significant bit MUST be 0; beyond 2^53 no limit could be met anyway.
      if (hi > 0x1fffff) return this.fail(CLOSE_PROTOCOL_ERROR, 'a 64-bit frame length with its top bits set');
      len = hi * 0x100000000 + (((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0);
      at = 10;
    }
    if (this.masked) this.mask.set(h.subarray(at, at + 4));
    if (!this.checkHead(b0, len)) return false;
    // Memory follows the bytes that came, not the length a header claims: a large
    // frame is kept in pieces as it arrives (a header alone cannot make us allocate).
    this.frameLen = len;
    this.pieces = len > PIECEWISE_FROM ? [] : null;
    this.payload = len === 0 || this.pieces !== null ? EMPTY : Buffer.allocUnsafe(len);
    this.filled = 0;
    if (len === 0) return this.frameDone();
    this.state = PAYLOAD;
    return true;
  }

  private checkHead(b0: number, len: number): boolean {
    const op = this.opcode;
    if (b0 & 0x70) return this.fail(CLOSE_PROTOCOL_ERROR, 'RSV bits set, but no extension was negotiated (§5.2)');
    if (this.masked !== this.expectMasked) {
      return this.fail(
        CLOSE_PROTOCOL_ERROR,
        this.expectMasked
          ? 'an unmasked frame from the client; clients MUST mask every frame (§5.1)'
          : 'a masked frame from the server; servers MUST NOT mask (§5.1)',
      );
    }
    if (op >= 0x8) {
      if (op > OP_PONG) return this.fail(CLOSE_PROTOCOL_ERROR, `reserved control opcode 0x${op.toString(16)} (§5.2)`);
      if (!this.fin) return this.fail(CLOSE_PROTOCOL_ERROR, 'a fragmented control frame (§5.5)');
      if (len > MAX_CONTROL_PAYLOAD)
        return this.fail(CLOSE_PROTOCOL_ERROR, `a control frame of ${len} bytes; at most 125 are allowed (§5.5)`);
      return true;
    }
    if (op > OP_BINARY) return this.fail(CLOSE_PROTOCOL_ERROR, `reserved data opcode 0x${op.toString(16)} (§5.2)`);
    if (op === OP_CONTINUATION && this.msgOpcode === 0)
      return this.fail(CLOSE_PROTOCOL_ERROR, 'a continuation frame with no message to continue (§5.4)');
    if (op !== OP_CONTINUATION && this.msgOpcode !== 0)
      return this.fail(CLOSE_PROTOCOL_ERROR, 'a new message began before the last fragment of the previous one (§5.4)');
    if (len > this.maxFrame)
      return this.fail(CLOSE_TOO_BIG, `a frame of ${len} bytes is larger than maxFrameBytes ${this.maxFrame}`);
    if (this.msgBytes + len > this.maxMessage)
      return this.fail(
        CLOSE_TOO_BIG,
        `a message of at least ${this.msgBytes + len} bytes is larger than maxMessageBytes ${this.maxMessage}`,
      );
    if (op !== OP_CONTINUATION) this.msgOpcode = op;
    this.msgBytes += len;
    return true;
  }

  private readPayload(): boolean {
    const n = Math.min(this.frameLen - this.filled, this.buffered);
    if (n === 0) return false;
    let dst = this.payload,
      at = this.filled;
    if (this.pieces !== null) {
      dst = n >= 4096 ? Buffer.allocUnsafeSlow(n) : Buffer.allocUnsafe(n);
      at = 0;
      this.pieces.push(dst);
    }
    this.take(dst, at, n);
    if (this.masked) applyMask(dst, at, n, this.mask, this.filled & 3);
    this.filled += n;
    if (this.filled < this.frameLen) return false;
    return this.frameDone();
  }

  private frameDone(): boolean {
    this.state = HEAD;
    const pieces = this.pieces;
    const payload =
      pieces === null ? this.payload : pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, this.frameLen);
    this.payload = EMPTY;
    this.pieces = null;
    switch (this.opcode) {
      case OP_PING:
        this.handler.onPing(payload);
        return true;
      case OP_PONG:
        this.handler.onPong(payload);
        return true;
      case OP_CLOSE:
        return this.closeFrame(payload);
    }
    const text = this.msgOpcode === OP_TEXT;
    if (this.fin && this.parts.length === 0 && this.decoder === null) {
      this.endMessage();
      if (!text) this.handler.onMessage(payload);
      else {
        const s = decodeUtf8(payload);
        if (s === null) return this.fail(CLOSE_INVALID_DATA, 'a text message that is not valid UTF-8 (§8.1)');
        this.handler.onMessage(s);
      }
      return true;
    }
    if (text) {
      // §8.1: checked fragment by fragment; a code point may span fragments.
      this.decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      try {
        this.textParts.push(this.decoder.decode(payload, { stream: !this.fin }));
      } catch {
        return this.fail(CLOSE_INVALID_DATA, 'a text message that is not valid UTF-8 (§8.1)');
      }
    } else if (payload.length > 0) this.parts.push(payload);
    if (!this.fin) return true;
    const parts = this.parts,
      textParts = this.textParts,
      size = this.msgBytes;
    this.endMessage();
    this.handler.onMessage(text ? textParts.join('') : parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
    return true;
  }

  private endMessage(): void {
    this.msgOpcode = 0;
    this.msgBytes = 0;
    this.parts = [];
    this.textParts = [];
    this.decoder = null;
  }

  /** §5.5.1: no body, or a 2-byte code and a UTF-8 reason. */
  private closeFrame(payload: Uint8Array): boolean {
    if (payload.length === 0) {
      this.state = DONE;
      this.handler.onClose(CLOSE_NO_STATUS, '');
      return false;
    }
    if (payload.length === 1)
      return this.fail(CLOSE_PROTOCOL_ERROR, 'a close frame with a 1-byte body; the code takes 2 bytes (§5.5.1)');
    const code = (payload[0]! << 8) | payload[1]!;
    if (!isValidCloseCode(code))
      return this.fail(CLOSE_PROTOCOL_ERROR, `close code ${code} may not be sent on the wire (§7.4)`);
    const reason = decodeUtf8(payload.subarray(2));
    if (reason === null) return this.fail(CLOSE_INVALID_DATA, 'a close reason that is not valid UTF-8 (§5.5.1)');
    this.state = DONE;
    this.handler.onClose(code, reason);
    return false;
  }

  private fail(closeCode: number, what: string): false {
    this.state = DONE;
    this.pieces = null;
    this.payload = EMPTY;
    this.chunks = [];
    this.buffered = 0;
    this.handler.onError(
      new WebSocketProtocolError(
        closeCode,
        `WebSocket protocol error: ${what}; the connection was closed with ${closeCode}`,
      ),
    );
    return false;
  }
}
