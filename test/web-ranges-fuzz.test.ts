/**
 * parseRange against a small reference model, on random Range fields
 * (fast-check): whatever the field, the answer is one of ignore /
 * unsatisfiable / ranges; every range lies inside the file; the bytes the
 * ranges select are the bytes the model's ranges select (coalescing changes
 * the parts, never which bytes a client is sent); and OWS never changes it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRange } from '../src/protocols/index.js';

type Spec = { first?: number; last?: number; suffix?: number };

/** The model: RFC 9110 §14.1.2 read plainly, without coalescing. */
function model(specs: Spec[], size: number): 'ignore' | 'unsatisfiable' | Set<number> {
  const bytes = new Set<number>();
  let any = false;
  for (const s of specs) {
    if (s.suffix !== undefined) {
      if (s.suffix > 0 && size > 0) {
        any = true;
        for (let i = Math.max(0, size - s.suffix); i < size; i++) bytes.add(i);
      }
      continue;
    }
    if (s.last !== undefined && s.last < s.first!) return 'ignore';
    if (s.first! < size) {
      any = true;
      for (let i = s.first!; i <= Math.min(s.last ?? size - 1, size - 1); i++) bytes.add(i);
    }
  }
  return any ? bytes : 'unsatisfiable';
}

const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ first: fc.nat(70) }),
  fc.record({ first: fc.nat(70), last: fc.nat(70) }),
  fc.record({ suffix: fc.nat(70) }),
);
const text = (s: Spec) => (s.suffix !== undefined ? `-${s.suffix}` : `${s.first}-${s.last ?? ''}`);

describe('parseRange (fuzzed against a model)', () => {
  it('selects exactly the bytes the model selects, inside the file, whatever the OWS', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 6 }),
        fc.nat(60),
        fc.constantFrom(',', ', ', ' ,\t', ',,'),
        (specs, size, sep) => {
          const header = 'bytes=' + specs.map(text).join(sep);
          const got = parseRange(header, size);
          const want = model(specs, size);
          if (want === 'ignore' || want === 'unsatisfiable') {
            expect(got.kind).toBe(want);
            return;
          }
          expect(got.kind).toBe('ranges');
          if (got.kind !== 'ranges') return;
          const bytes = new Set<number>();
          for (const r of got.ranges) {
            expect(r.start).toBeGreaterThanOrEqual(0);
            expect(r.end).toBeLessThan(size);
            expect(r.start).toBeLessThanOrEqual(r.end);
            for (let i = r.start; i <= r.end; i++) bytes.add(i);
          }
          expect([...bytes].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
          // Coalesced output never overlaps.
          const sorted = [...got.ranges].sort((a, b) => a.start - b.start);
          for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThan(sorted[i - 1]!.end);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('any string at all gives one of the three answers and never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.nat(100), (s, size) => {
        expect(['ignore', 'unsatisfiable', 'ranges']).toContain(parseRange(s, size).kind);
        expect(['ignore', 'unsatisfiable', 'ranges']).toContain(parseRange(`bytes=${s}`, size).kind);
      }),
      { numRuns: 2000 },
    );
  });
});
