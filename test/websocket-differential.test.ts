/**
 * The frame parser against a real peer's: the `ws` package's Receiver (server
 * mode) and spindle's FrameParser are fed the same random frame streams, valid
 * and broken (bad opcodes, RSV bits, unmasked frames, fragmented or long
 * control frames, stray continuations, bad UTF-8, every kind of close body),
 * split at random points. Both must deliver the same messages and end the same
 * way: the same close code and reason, or a failure with the same status.
 * ws checks UTF-8 at the end of a fragmented message, spindle at each fragment
 * (failing sooner): the generator keeps non-final fragments valid UTF-8 so both
 * fail at the same frame; fail-fast itself is tested in websocket-frames.
 */
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT } from '../src/protocols/websocket/frame.js';
import { cat, closeBody, frame, recorder, splitAt, type Event, type RawFrame } from './websocket-helpers.js';

/** ws's frame reader (exported by the package, not declared by @types/ws). */
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: {
    isServer: boolean;
    maxPayload: number;
    allowSynchronousEvents: boolean;
  }) => EventEmitter & { write(b: Buffer): boolean };
};

interface Outcome {
  messages: (string | number[])[];
  control: string[];
  end: string;
}

const LIMIT = 4096;

/** Feed ws's Receiver; its 'error' comes on a later tick (a Writable stream), so wait for one. */
async function viaWs(pieces: Uint8Array[]): Promise<Outcome> {
  const out: Outcome = { messages: [], control: [], end: 'open' };
  const r = new Receiver({ isServer: true, maxPayload: LIMIT, allowSynchronousEvents: true });
  r.on('message', (data: Buffer, isBinary: boolean) => out.messages.push(isBinary ? [...data] : data.toString('utf8')));
  r.on('ping', (d: Buffer) => out.control.push(`ping ${d.toString('latin1')}`));
  r.on('pong', (d: Buffer) => out.control.push(`pong ${d.toString('latin1')}`));
  r.on('conclude', (code: number, reason: Buffer) => (out.end = `close ${code} ${reason.toString('utf8')}`));
  r.on('error', (err: Error) => {
    if (out.end !== 'open') return;
    const sym = Object.getOwnPropertySymbols(err).find((s) => s.description === 'status-code');
    out.end = `error ${sym ? (err as unknown as Record<symbol, number>)[sym] : '?'}`;
  });
  for (const p of pieces) {
    if (out.end !== 'open') break;
    r.write(Buffer.from(p));
    await new Promise((done) => setImmediate(done));
  }
  return out;
}

function viaSpindle(pieces: Uint8Array[]): Outcome {
  const { parser, events } = recorder({ expectMasked: true, maxMessageBytes: LIMIT });
  for (const p of pieces) parser.feed(new Uint8Array(p));
  const out: Outcome = { messages: [], control: [], end: 'open' };
  for (const e of events as Event[]) {
    if (e[0] === 'message') out.messages.push(typeof e[1] === 'string' ? e[1] : [...e[1]]);
    else if (e[0] === 'ping' || e[0] === 'pong') out.control.push(`${e[0]} ${e[1]}`);
    else if (e[0] === 'close') out.end = `close ${e[1]} ${e[2]}`;
    else out.end = `error ${e[1]}`;
  }
  return out;
}

const utf8 = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => new Uint8Array(Buffer.from(s)));
const text = fc.oneof(utf8, fc.uint8Array({ maxLength: 30 }));
const closeCode = fc.oneof(
  fc.constantFrom(1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1014, 1015, 1016, 2999, 3000, 4999, 5000),
  fc.integer({ min: 0, max: 65535 }),
);
const rawFrame: fc.Arbitrary<RawFrame> = fc.oneof(
  // Non-final fragments are valid UTF-8 (see the header: spindle fails at a bad fragment, ws at the message's end).
  {
    weight: 6,
    arbitrary: fc
      .record({ opcode: fc.constantFrom(OP_TEXT, OP_BINARY, OP_CONTINUATION), fin: fc.boolean() })
      .chain((f) => (f.fin ? text : utf8).map((payload) => ({ ...f, payload }))),
  },
  {
    weight: 2,
    arbitrary: fc.record({ opcode: fc.constantFrom(OP_PING, OP_PONG), payload: fc.string({ maxLength: 10 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      opcode: fc.constant(OP_CLOSE),
      payload: fc.oneof(
        closeCode.chain((c) => text.map((r) => closeBody(c, r.subarray(0, 100)))),
        fc.uint8Array({ maxLength: 1 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({ opcode: fc.constantFrom(3, 7, 0xb, 0xf), payload: fc.constant('') }),
      fc.record({ opcode: fc.constant(OP_TEXT), payload: fc.constant('x'), rsv: fc.constantFrom(1, 2, 4) }),
      fc.record({ opcode: fc.constant(OP_BINARY), payload: fc.constant('y'), mask: fc.constant(null) }),
      fc.record({ opcode: fc.constant(OP_PING), payload: fc.constant(''), fin: fc.constant(false) }),
      fc.record({ opcode: fc.constant(OP_PONG), payload: fc.constant('z'.repeat(126)) }),
      fc.record({ opcode: fc.constant(OP_BINARY), payload: fc.constant(new Uint8Array(LIMIT + 1)) }),
    ),
  },
);

describe('FrameParser against the ws package’s Receiver', () => {
  it('same messages and the same ending on random streams, valid and broken, split at random', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rawFrame, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (frames, cuts) => {
          const pieces = splitAt(cat(frames.map(frame)), cuts);
          const theirs = await viaWs(pieces);
          const ours = viaSpindle(pieces);
          expect(ours.messages).toEqual(theirs.messages);
          expect(ours.end).toBe(theirs.end);
          expect(ours.control).toEqual(theirs.control);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
