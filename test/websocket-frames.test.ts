/**
 * RFC 6455 framing with no I/O: the parser fed at every split point and at
 * fast-check splits, fragmentation with control frames between fragments,
 * every close-code path, UTF-8 checks, limits, and the serializer against an
 * independent frame writer (websocket-helpers.ts).
 */
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  acceptKey,
  applyMask,
  encodeFrame,
  isValidCloseCode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from '../src/protocols/websocket/frame.js';
import { FrameParser } from '../src/protocols/websocket/parser.js';
import { oneByOne } from './split.js';
import { cat, closeBody, frame, MASK, parse, recorder, splitAt, type Event } from './websocket-helpers.js';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_v, i) => (i * 31 + seed) & 0xff);

/** A stream exercising every length form, fragmentation, interleaved control frames and a final close. */
const STREAM = cat([
  frame({ opcode: OP_TEXT, payload: 'hello' }),
  frame({ opcode: OP_BINARY, payload: bytes(0) }),
  frame({ opcode: OP_BINARY, payload: bytes(125) }),
  frame({ opcode: OP_BINARY, payload: bytes(126) }),
  frame({ opcode: OP_TEXT, payload: 'x'.repeat(300), lengthForm: 64 }),
  frame({ opcode: OP_TEXT, payload: 'é€', fin: false }),
  frame({ opcode: OP_PING, payload: 'p1' }),
  frame({ opcode: OP_CONTINUATION, payload: Buffer.from('😀').subarray(0, 2), fin: false }),
  frame({ opcode: OP_PONG, payload: 'p2' }),
  frame({ opcode: OP_CONTINUATION, payload: Buffer.from('😀').subarray(2) }),
  frame({ opcode: OP_CLOSE, payload: closeBody(1000, 'bye ✓') }),
]);
const STREAM_EVENTS: Event[] = [
  ['message', 'hello'],
  ['message', new Uint8Array(0)],
  ['message', bytes(125)],
  ['message', bytes(126)],
  ['message', 'x'.repeat(300)],
  ['ping', 'p1'],
  ['pong', 'p2'],
  ['message', 'é€😀'],
  ['close', 1000, 'bye ✓'],
];

describe('the accept key', () => {
  it('matches the RFC 6455 §1.3 example', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('FrameParser at every split', () => {
  it('reads a whole stream fed at once', () => {
    expect(parse([STREAM])).toEqual(STREAM_EVENTS);
  });

  it('reads it one byte at a time', () => {
    expect(parse(oneByOne(STREAM))).toEqual(STREAM_EVENTS);
  });

  it('reads it split in two at every point', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) expect(parse(splitAt(STREAM, [cut]))).toEqual(STREAM_EVENTS);
  });

  it('reads it at random fast-check splits', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        expect(parse(splitAt(STREAM, cuts))).toEqual(STREAM_EVENTS);
      }),
      { numRuns: 300 },
    );
  });

  it('reassembles random messages, randomly fragmented with pings between fragments, at random splits', () => {
    const message = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 300 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message, fc.array(fc.nat(), { maxLength: 4 })), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (msgs, cuts) => {
          const frames: Uint8Array[] = [];
          const expected: Event[] = [];
          msgs.forEach(([m, fragCuts], i) => {
            const data = typeof m === 'string' ? new Uint8Array(Buffer.from(m, 'utf8')) : m;
            const pieces = splitAt(data, fragCuts);
            pieces.forEach((p, k) => {
              frames.push(
                frame({
                  opcode: k === 0 ? (typeof m === 'string' ? OP_TEXT : OP_BINARY) : OP_CONTINUATION,
                  payload: p,
                  fin: k === pieces.length - 1,
                }),
              );
              if (k < pieces.length - 1) {
                frames.push(frame({ opcode: OP_PING, payload: `${i}.${k}` }));
                expected.push(['ping', `${i}.${k}`]);
              }
            });
            expected.push(['message', m]);
          });
          expect(parse(splitAt(cat(frames), cuts))).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw, end in at most one close or error, and read the same at any split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (bytes, cuts, expectMasked) => {
          const whole = parse([bytes], { expectMasked, maxMessageBytes: 200 });
          expect(parse(splitAt(bytes, cuts), { expectMasked, maxMessageBytes: 200 })).toEqual(whole);
          const endings = whole.filter((e) => e[0] === 'close' || e[0] === 'error');
          expect(endings.length).toBeLessThanOrEqual(1);
          if (endings.length === 1) expect(whole[whole.length - 1]).toBe(endings[0]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('pauses between events and resumes where it stopped', () => {
    const events: Event[] = [];
    const parser = new FrameParser(
      {
        onMessage: (d: string | Uint8Array) => {
          events.push(['message', d]);
          parser.pause();
        },
        onPing: () => undefined,
        onPong: () => undefined,
        onClose: (c: number, r: string) => events.push(['close', c, r]),
        onError: () => undefined,
      },
      { expectMasked: true },
    );
    parser.feed(
      cat([
        frame({ opcode: OP_TEXT, payload: 'a' }),
        frame({ opcode: OP_TEXT, payload: 'b' }),
        frame({ opcode: OP_CLOSE }),
      ]),
    );
    expect(events).toEqual([['message', 'a']]);
    expect(parser.bufferedBytes).toBeGreaterThan(0);
    parser.resume();
    expect(events).toEqual([
      ['message', 'a'],
      ['message', 'b'],
    ]);
    parser.resume();
    expect(events).toEqual([
      ['message', 'a'],
      ['message', 'b'],
      ['close', 1005, ''],
    ]);
  });
});

describe('close frames (§5.5.1, §7.4)', () => {
  const close = (payload: Uint8Array) => parse([frame({ opcode: OP_CLOSE, payload })]);

  it('an empty close frame reports 1005 (no status)', () => {
    expect(close(new Uint8Array(0))).toEqual([['close', 1005, '']]);
  });

  it('a 1-byte close body is a protocol error (1002)', () => {
    expect(close(new Uint8Array([3]))[0]!.slice(0, 2)).toEqual(['error', 1002]);
  });

  it('accepts every code an endpoint may send, with its reason', () => {
    for (const code of [
      1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
    ]) {
      expect(close(closeBody(code, 'why'))).toEqual([['close', code, 'why']]);
    }
  });

  it('refuses codes reserved or unassigned on the wire with 1002', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
      expect(isValidCloseCode(code)).toBe(false);
      const ev = close(closeBody(code));
      expect(ev).toHaveLength(1);
      expect(ev[0]!.slice(0, 2)).toEqual(['error', 1002]);
      expect(ev[0]![2]).toContain(`close code ${code}`);
    }
  });

  it('a reason that is not UTF-8 fails with 1007', () => {
    expect(close(closeBody(1000, new Uint8Array([0x61, 0xff])))[0]!.slice(0, 2)).toEqual(['error', 1007]);
  });

  it('a close reason of 123 bytes is the most a 125-byte control frame holds; longer is 1002', () => {
    expect(close(closeBody(1000, 'r'.repeat(123)))).toEqual([['close', 1000, 'r'.repeat(123)]]);
    expect(close(closeBody(1000, 'r'.repeat(124)))[0]!.slice(0, 2)).toEqual(['error', 1002]);
  });

  it('nothing is reported after the close frame', () => {
    expect(
      parse([
        cat([frame({ opcode: OP_CLOSE, payload: closeBody(1001) }), frame({ opcode: OP_TEXT, payload: 'late' })]),
      ]),
    ).toEqual([['close', 1001, '']]);
  });
});

describe('UTF-8 (§8.1)', () => {
  const text = (payload: Uint8Array | string, fin = true) => frame({ opcode: OP_TEXT, payload, fin });

  it('invalid UTF-8 in a text message fails with 1007', () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      expect(parse([text(new Uint8Array(bad))])[0]!.slice(0, 2)).toEqual(['error', 1007]);
    }
  });

  it('a code point split across fragments is fine; one left unfinished at the end is 1007', () => {
    const euro = Buffer.from('€');
    expect(
      parse([cat([text(euro.subarray(0, 1), false), frame({ opcode: OP_CONTINUATION, payload: euro.subarray(1) })])]),
    ).toEqual([['message', '€']]);
    expect(
      parse([
        cat([text(euro.subarray(0, 1), false), frame({ opcode: OP_CONTINUATION, payload: euro.subarray(1, 2) })]),
      ])[0]!.slice(0, 2),
    ).toEqual(['error', 1007]);
  });

  it('fails at the first bad fragment, before the message ends', () => {
    const ev = parse([
      cat([text('ok', false), frame({ opcode: OP_CONTINUATION, payload: new Uint8Array([0xff]), fin: false })]),
    ]);
    expect(ev.map((e) => e.slice(0, 2))).toEqual([['error', 1007]]);
  });

  it('keeps a leading byte-order mark (it is data)', () => {
    expect(parse([text('\ufeffx')])).toEqual([['message', '\ufeffx']]);
  });
});

describe('protocol errors (1002) and limits (1009)', () => {
  const err = (pieces: Uint8Array[], options?: Parameters<typeof parse>[1]) => {
    const ev = parse(pieces, options);
    expect(ev).toHaveLength(1);
    return ev[0]!.slice(0, 2);
  };

  it('an unmasked client frame is refused on a server with 1002', () => {
    expect(err([frame({ opcode: OP_TEXT, payload: 'x', mask: null })])).toEqual(['error', 1002]);
  });

  it('a masked server frame is refused on a client with 1002, an unmasked one read', () => {
    expect(err([frame({ opcode: OP_TEXT, payload: 'x' })], { expectMasked: false })).toEqual(['error', 1002]);
    expect(parse([frame({ opcode: OP_TEXT, payload: 'x', mask: null })], { expectMasked: false })).toEqual([
      ['message', 'x'],
    ]);
  });

  it('RSV bits, reserved opcodes, fragmented or long control frames are 1002', () => {
    for (const rsv of [1, 2, 4]) expect(err([frame({ opcode: OP_TEXT, rsv, payload: 'x' })])).toEqual(['error', 1002]);
    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf])
      expect(err([frame({ opcode })])).toEqual(['error', 1002]);
    expect(err([frame({ opcode: OP_PING, fin: false })])).toEqual(['error', 1002]);
    expect(err([frame({ opcode: OP_PING, payload: bytes(126) })])).toEqual(['error', 1002]);
  });

  it('a continuation with nothing to continue, or a new message mid-fragments, is 1002', () => {
    expect(err([frame({ opcode: OP_CONTINUATION, payload: 'x' })])).toEqual(['error', 1002]);
    expect(
      err([cat([frame({ opcode: OP_TEXT, payload: 'a', fin: false }), frame({ opcode: OP_BINARY, payload: 'b' })])]),
    ).toEqual(['error', 1002]);
  });

  it('a 64-bit length with its top bit set is 1002', () => {
    const f = frame({ opcode: OP_BINARY, payload: 'x', lengthForm: 64 });
    f[2] = 0x80;
    expect(err([f])).toEqual(['error', 1002]);
  });

  it('a frame or a message over its limit is 1009, told from the header before the payload is read', () => {
    expect(
      err([frame({ opcode: OP_BINARY, payload: bytes(11) }).subarray(0, 6)], { expectMasked: true, maxFrameBytes: 10 }),
    ).toEqual(['error', 1009]);
    const parts = [
      frame({ opcode: OP_BINARY, payload: bytes(6), fin: false }),
      frame({ opcode: OP_CONTINUATION, payload: bytes(6) }),
    ];
    expect(err([cat(parts)], { expectMasked: true, maxMessageBytes: 10 })).toEqual(['error', 1009]);
    expect(parse([cat(parts)], { expectMasked: true, maxMessageBytes: 12 })).toEqual([
      ['message', cat([bytes(6), bytes(6)])],
    ]);
  });

  it('a header alone does not make the parser allocate the length it claims', () => {
    const head = frame({ opcode: OP_BINARY, payload: new Uint8Array(8 * 1024 * 1024) }).subarray(0, 14);
    const before = process.memoryUsage().arrayBuffers;
    const held = Array.from({ length: 100 }, () => {
      const r = recorder({ expectMasked: true });
      r.parser.feed(cat([head, new Uint8Array(100)]));
      return r;
    });
    // Upfront allocation would be 800 MiB; what came is 100 x 114 bytes.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    expect(held.every((r) => r.events.length === 0)).toBe(true);
  });

  it('a large frame arriving in pieces is joined whole, unmasked across piece boundaries', () => {
    const big = Uint8Array.from({ length: 300 * 1024 + 3 }, (_v, i) => (i * 7) & 0xff);
    const f = frame({ opcode: OP_BINARY, payload: big });
    const pieces = splitAt(f, [5, 14, 1000, 70001, 70002, 200_003]);
    const ev = parse(pieces);
    expect(ev).toHaveLength(1);
    expect(Buffer.from(ev[0]![1] as Uint8Array).equals(Buffer.from(big))).toBe(true);
  });

  it('stops after the first error: later frames are not reported', () => {
    expect(parse([cat([frame({ opcode: 3 }), frame({ opcode: OP_TEXT, payload: 'x' })])])).toHaveLength(1);
  });
});

describe('the serializer', () => {
  it('writes frames the independent writer writes, masked and not, in every length form', () => {
    for (const n of [0, 1, 125, 126, 65535, 65536, 70000]) {
      const p = bytes(n, n);
      expect(Buffer.from(cat(encodeFrame(OP_BINARY, p, MASK))).equals(frame({ opcode: OP_BINARY, payload: p }))).toBe(
        true,
      );
      expect(
        Buffer.from(cat(encodeFrame(OP_BINARY, p, null))).equals(frame({ opcode: OP_BINARY, payload: p, mask: null })),
      ).toBe(true);
    }
    expect(cat(encodeFrame(OP_TEXT, Buffer.from('a'), null, false))).toEqual(
      frame({ opcode: OP_TEXT, payload: 'a', fin: false, mask: null }),
    );
  });

  it('what it writes, the parser reads back', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 20000, size: 'max' }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (p, mask) => {
          expect(parse(encodeFrame(OP_BINARY, p, mask))).toEqual([['message', p]]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('applyMask agrees with a byte-by-byte XOR at any offset, length and phase', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(7), fc.nat(3), (data, off, phase) => {
        const buf = new Uint8Array(data.length + off);
        buf.set(data, off);
        applyMask(buf, off, data.length, MASK, phase);
        expect(buf.subarray(off)).toEqual(Uint8Array.from(data, (b, i) => b ^ MASK[(phase + i) & 3]!));
      }),
      { numRuns: 300 },
    );
  });
});
