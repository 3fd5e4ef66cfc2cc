/**
 * The framing receivers, fed every way a stream can be split: whole, one byte
 * at a time, and at random split points chosen by fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringTransport } from '../src/reactor/stringtransport.js';
import { BadFrameError, FrameTooLongError } from '../src/protocols/errors.js';
import { Int32StringReceiver, LineReceiver, NetstringReceiver } from '../src/protocols/basic.js';
import { oneByOne, splitAt } from './split.js';

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

class Lines extends LineReceiver {
  lines: string[] = [];
  override lineReceived(line: string): void {
    this.lines.push(line);
  }
}
class Netstrings extends NetstringReceiver {
  strings: Uint8Array[] = [];
  override stringReceived(data: Uint8Array): void {
    this.strings.push(data);
  }
}
class Int32s extends Int32StringReceiver {
  strings: Uint8Array[] = [];
  override stringReceived(data: Uint8Array): void {
    this.strings.push(data);
  }
}

function feed<P extends { makeConnection(t: StringTransport): void; dataReceived(d: Uint8Array): void }>(
  p: P,
  chunks: Uint8Array[],
): StringTransport {
  const t = new StringTransport();
  p.makeConnection(t);
  for (const c of chunks) p.dataReceived(c);
  return t;
}

const lineArb = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\r') && !s.includes('\n'));
const bytesArb = fc.uint8Array({ maxLength: 60 });
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

describe('LineReceiver', () => {
  it('gets the same lines (UTF-8 strings) however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 10 }), cutsArb, (lines, cuts) => {
        const wire = enc(lines.map((l) => `${l}\r\n`).join(''));
        const a = new Lines();
        feed(a, splitAt(wire, cuts));
        expect(a.lines).toEqual(lines);
        const b = new Lines();
        feed(b, oneByOne(wire));
        expect(b.lines).toEqual(lines);
      }),
    );
  });

  it('honours a custom delimiter split across chunks', () => {
    const p = new Lines();
    p.delimiter = '\n';
    feed(p, oneByOne(enc('a\nbb\n\nccc')));
    expect(p.lines).toEqual(['a', 'bb', '']);
  });

  it('sendLine appends the delimiter, for strings and bytes', () => {
    const p = new Lines();
    const t = feed(p, []);
    p.sendLine('héllo');
    p.sendLine(enc('x'));
    expect(t.valueString()).toBe('héllo\r\nx\r\n');
  });

  it('a line of exactly MAX_LENGTH is fine; one byte more closes with FrameTooLongError, even one byte at a time', () => {
    const ok = new Lines();
    ok.MAX_LENGTH = 8;
    const t1 = feed(ok, oneByOne(enc('12345678\r\n')));
    expect(ok.lines).toEqual(['12345678']);
    expect(t1.disconnecting).toBe(false);

    const bad = new Lines();
    bad.MAX_LENGTH = 8;
    const t2 = feed(bad, oneByOne(enc('123456789\r\nlater\r\n')));
    expect(bad.lines).toEqual([]);
    expect(t2.disconnecting).toBe(true);
    expect(t2.closeReason).toBeInstanceOf(FrameTooLongError);
    expect((t2.closeReason as FrameTooLongError).code).toBe('ERR_FRAME_TOO_LONG');
    expect(t2.closeReason!.message).toMatch(/longer than MAX_LENGTH 8/);
  });

  it('an over-long line with no delimiter yet is cut off before it grows past MAX_LENGTH + delimiter', () => {
    const p = new Lines();
    p.MAX_LENGTH = 100;
    let exceeded: Uint8Array | null = null;
    p.lineLengthExceeded = (line) => {
      exceeded = line;
      p.transport.loseConnection();
    };
    const t = feed(p, []);
    for (let i = 0; i < 1000 && !t.disconnecting; i++) p.dataReceived(enc('x'));
    expect(exceeded!.byteLength).toBe(102);
  });

  it('setRawMode hands the rest to rawDataReceived; setLineMode(extra) goes back to lines', () => {
    class Mixed extends LineReceiver {
      events: string[] = [];
      override lineReceived(line: string): void {
        this.events.push(`line:${line}`);
        if (line === 'RAW') this.setRawMode();
      }
      override rawDataReceived(data: Uint8Array): void {
        const text = new TextDecoder().decode(data);
        const end = text.indexOf('|');
        if (end < 0) {
          this.events.push(`raw:${text}`);
          return;
        }
        this.events.push(`raw:${text.slice(0, end)}`);
        this.setLineMode(enc(text.slice(end + 1)));
      }
    }
    const whole = new Mixed();
    feed(whole, [enc('a\r\nRAW\r\nxyz|b\r\nc\r\n')]);
    expect(whole.events).toEqual(['line:a', 'line:RAW', 'raw:xyz', 'line:b', 'line:c']);
    const bytes = new Mixed();
    feed(bytes, oneByOne(enc('a\r\nRAW\r\nxyz|b\r\nc\r\n')));
    expect(bytes.events).toEqual(['line:a', 'line:RAW', 'raw:x', 'raw:y', 'raw:z', 'raw:', 'line:b', 'line:c']);
  });

  it('pauseProducing holds buffered lines back until resumeProducing, and pauses the transport', () => {
    class Pausing extends Lines {
      override lineReceived(line: string): void {
        super.lineReceived(line);
        if (line === 'stop') this.pauseProducing();
      }
    }
    const p = new Pausing();
    const t = feed(p, [enc('one\r\nstop\r\ntwo\r\nthree\r\n')]);
    expect(p.lines).toEqual(['one', 'stop']);
    expect(t.producerState).toBe('paused');
    p.dataReceived(enc('four\r\n'));
    expect(p.lines).toEqual(['one', 'stop']);
    p.resumeProducing();
    expect(t.producerState).toBe('producing');
    expect(p.lines).toEqual(['one', 'stop', 'two', 'three', 'four']);
  });

  it('stops delivering lines once the protocol called loseConnection', () => {
    class Quitter extends Lines {
      override lineReceived(line: string): void {
        super.lineReceived(line);
        if (line === 'quit') this.transport.loseConnection();
      }
    }
    const p = new Quitter();
    feed(p, [enc('a\r\nquit\r\nb\r\n')]);
    expect(p.lines).toEqual(['a', 'quit']);
  });
});

function netstring(data: Uint8Array): Uint8Array {
  return cat([enc(`${data.byteLength}:`), data, enc(',')]);
}

describe('NetstringReceiver', () => {
  it('gets the same strings however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(bytesArb, { maxLength: 8 }), cutsArb, (strings, cuts) => {
        const wire = cat(strings.map(netstring));
        const a = new Netstrings();
        feed(a, splitAt(wire, cuts));
        expect(a.strings).toEqual(strings);
        const b = new Netstrings();
        feed(b, oneByOne(wire));
        expect(b.strings).toEqual(strings);
      }),
    );
  });

  it('sendString writes len:data,', () => {
    const p = new Netstrings();
    const t = feed(p, []);
    p.sendString('hello');
    p.sendString(new Uint8Array(0));
    expect(t.valueString()).toBe('5:hello,0:,');
  });

  it.each([
    ['a missing comma', '3:abcX', /must end with ','/],
    ['a non-digit length', '3x:abc,', /ASCII digits/],
    ['an empty length', ':abc,', /empty/],
    ['a leading zero', '03:abc,', /leading zero/],
  ])('closes with BadFrameError on %s, at any split', (_what, wire, message) => {
    for (const chunks of [[enc(wire)], oneByOne(enc(wire))]) {
      const p = new Netstrings();
      const t = feed(p, chunks);
      expect(t.disconnecting).toBe(true);
      expect(t.closeReason).toBeInstanceOf(BadFrameError);
      expect((t.closeReason as BadFrameError).code).toBe('ERR_BAD_FRAME');
      expect(t.closeReason!.message).toMatch(message);
      expect(p.strings).toEqual([]);
    }
  });

  it('a length over MAX_LENGTH closes with FrameTooLongError before the payload is buffered', () => {
    const p = new Netstrings();
    p.MAX_LENGTH = 10;
    const t = feed(p, oneByOne(enc('11:')));
    expect(t.closeReason).toBeInstanceOf(FrameTooLongError);
    const q = new Netstrings();
    const t2 = feed(q, oneByOne(enc('99999999999')));
    expect(t2.closeReason).toBeInstanceOf(FrameTooLongError);
    q.dataReceived(enc(':abc,'));
    expect(q.strings).toEqual([]); // a broken peer is ignored from then on
  });
});

function int32(data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, data.byteLength);
  return cat([head, data]);
}

describe('Int32StringReceiver', () => {
  it('gets the same strings (including empty ones) however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(bytesArb, { maxLength: 8 }), cutsArb, (strings, cuts) => {
        const wire = cat(strings.map(int32));
        const a = new Int32s();
        feed(a, splitAt(wire, cuts));
        expect(a.strings).toEqual(strings);
        const b = new Int32s();
        feed(b, oneByOne(wire));
        expect(b.strings).toEqual(strings);
      }),
    );
  });

  it('sendString writes a big-endian 4-byte length prefix', () => {
    const p = new Int32s();
    const t = feed(p, []);
    p.sendString('hi');
    expect(Array.from(t.value())).toEqual([0, 0, 0, 2, 0x68, 0x69]);
  });

  it('a length over MAX_LENGTH closes with FrameTooLongError naming the limit', () => {
    const p = new Int32s();
    const t = feed(p, oneByOne(int32(new Uint8Array(100_000))));
    expect(t.closeReason).toBeInstanceOf(FrameTooLongError);
    expect((t.closeReason as FrameTooLongError).length).toBe(100_000);
    expect(t.closeReason!.message).toMatch(/100000 bytes is longer than MAX_LENGTH 99999/);
    expect(p.strings).toEqual([]);
  });

  it('pauseProducing holds complete frames back until resumeProducing', () => {
    const p = new Int32s();
    const t = feed(p, []);
    p.pauseProducing();
    p.dataReceived(cat([int32(enc('a')), int32(enc('b'))]));
    expect(p.strings).toEqual([]);
    expect(t.producerState).toBe('paused');
    p.resumeProducing();
    expect(p.strings).toEqual([enc('a'), enc('b')]);
  });
});
