/**
 * The worker-side blocking wsgi.input (G11), on one thread: the ring is filled
 * and closed (or aborted) before reading, so nothing blocks.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteRing } from '../src/reactor/ring.js';
import { BlockingInput } from '../src/bridge/threadedinput.js';
import { ThreadedAppAborted } from '../src/bridge/errors.js';

const enc = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function inputOf(body: string, opts: { capacity?: number; end?: 'close' | 'abort'; requestAborted?: boolean } = {}) {
  const ring = ByteRing.create(opts.capacity ?? 1024);
  ring.tryWrite(enc.encode(body));
  if ((opts.end ?? 'close') === 'close') ring.close();
  else ring.abort();
  let asked = 0;
  const input = new BlockingInput(
    ring,
    () => opts.requestAborted ?? false,
    () => asked++,
  );
  return { input, asked: () => asked };
}

describe('BlockingInput (worker-side wsgi.input)', () => {
  it('read(n) returns at most n bytes, read() the rest, then empty at the end with atEOF', () => {
    const { input } = inputOf('hello world');
    expect(text(input.read(5))).toBe('hello');
    expect(input.atEOF).toBe(false);
    expect(text(input.read(0))).toBe('');
    expect(text(input.read())).toBe(' world');
    expect(input.read(10)).toHaveLength(0);
    expect(input.atEOF).toBe(true);
    expect(input.clientGone).toBe(false);
  });

  it('readline keeps what follows the line for later reads, and honours its size limit', () => {
    const { input } = inputOf('ab\ncdef\ng');
    expect(text(input.readline())).toBe('ab\n');
    expect(text(input.readline(2))).toBe('cd');
    expect(text(input.readline())).toBe('ef\n');
    expect(text(input.read(1))).toBe('g');
    expect(input.readline()).toHaveLength(0);
  });

  it('readlines and iteration give every line, the last one without its newline', () => {
    expect(inputOf('a\nb\nc').input.readlines().map(text)).toEqual(['a\n', 'b\n', 'c']);
    expect([...inputOf('x\ny\n').input].map(text)).toEqual(['x\n', 'y\n']);
    expect(inputOf('a\nb\nc\n').input.readlines(3).map(text)).toEqual(['a\n', 'b\n']);
  });

  it('reads any body back whole at any mix of read sizes (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.array(fc.integer({ min: -1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (body, sizes) => {
          const latin = Buffer.from(body, 'utf8').toString('latin1');
          const { input } = inputOf(latin, { capacity: 1024 });
          let got = '';
          for (let i = 0; i < 400 && !input.atEOF; i++) {
            const n = sizes[i % sizes.length]!;
            const chunk = n === 0 ? input.readline() : input.read(n);
            if (n > 0) expect(chunk.length).toBeLessThanOrEqual(n);
            got += text(chunk);
          }
          expect(got).toBe(latin);
        },
      ),
    );
  });

  it('a client that went away (ring aborted, request alive): reads return empty, clientGone, not atEOF', () => {
    const { input } = inputOf('never read', { end: 'abort' });
    expect(input.read(4)).toHaveLength(0);
    expect(input.clientGone).toBe(true);
    expect(input.atEOF).toBe(false);
  });

  it('an abandoned request (ring aborted, request aborted): read throws ThreadedAppAborted', () => {
    const { input } = inputOf('x', { end: 'abort', requestAborted: true });
    expect(() => input.read(1)).toThrow(ThreadedAppAborted);
  });

  it('does not ask the reactor side for more while data or the end is there', () => {
    const { input, asked } = inputOf('abc');
    input.read();
    input.read();
    expect(asked()).toBe(0);
  });
});
