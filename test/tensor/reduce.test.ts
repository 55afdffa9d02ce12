import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { absRange, maxAbs, minAbsNonzero, sumSquares } from '../../src/tensor/reduce.js';
import { columnSumsInto } from '../../src/tensor/kernels.js';

/** The oracle: the definitions, on plain numbers. */
const oracle = (xs: readonly number[]): [number, number] => {
  const mags = xs.map(Math.abs);
  const max = mags.some(Number.isNaN) ? NaN : Math.max(0, ...mags);
  const nonzero = mags.filter((a) => a !== 0 && !Number.isNaN(a));
  return [max, nonzero.length === 0 ? Infinity : Math.min(...nonzero)];
};

// zeros (both signs), subnormals, infinities and NaNs, as ReLU outputs and diverging runs produce them
const values = fc.array(
  fc.oneof(fc.float(), fc.constantFrom(0, -0, 1e-45, -1e-45, 1e-40, Infinity, -Infinity, NaN)),
  { maxLength: 70 },
);

describe('reductions', () => {
  test.prop([values], { numRuns: 300 })('absRange gives the largest |x| (NaN if any is NaN) and the smallest nonzero |x| (float32, by bit patterns)', (xs) => {
    const x = Float32Array.from(xs);
    const out = absRange(x, new Float64Array(2));
    expect([out[0], out[1]]).toEqual(oracle([...x]));
    expect(out[0]).toEqual(maxAbs(x));
    expect(out[1]).toEqual(minAbsNonzero(x));
  });

  test.prop([values, fc.nat(5)], { numRuns: 100 })('absRange reads only its view of a shared buffer', (xs, offset) => {
    const whole = new Float32Array(xs.length + offset + 3).fill(NaN);
    whole.set(xs, offset);
    const view = whole.subarray(offset, offset + xs.length);
    expect([...absRange(view, new Float64Array(2))]).toEqual(oracle([...Float32Array.from(xs)]));
  });

  test.prop([fc.array(fc.double({ noNaN: false }), { maxLength: 50 })], { numRuns: 100 })('absRange on float64 agrees with the definitions', (xs) => {
    const out = absRange(Float64Array.from(xs), new Float64Array(2));
    expect([out[0], out[1]]).toEqual(oracle(xs));
  });

  test.prop([fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.nat()], { numRuns: 100 })(
    'columnSumsInto equals the per-column sums in double precision, rounded once',
    (rows, cols, seed) => {
      const x = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed + i * 1.7) * 10);
      const out = new Float32Array(cols);
      columnSumsInto(x, rows, cols, out);
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += x[i * cols + j]!;
        expect(Math.abs(out[j]! - s)).toBeLessThanOrEqual(Math.abs(s) * 1e-6 + 1e-6);
      }
    },
  );

  test.prop([values], { numRuns: 300 })('sumSquares is the sum of the squares, non-finite when an entry is', (xs) => {
    const x = Float32Array.from(xs);
    const got = sumSquares(x);
    if (![...x].every(Number.isFinite)) {
      expect(Number.isFinite(got)).toBe(false);
      return;
    }
    // the oracle adds the squares smallest first, a different order from the loop's
    const squares = [...x].map((v) => v * v).sort((a, b) => a - b);
    const expected = squares.reduce((acc, v) => acc + v, 0);
    expect(Math.abs(got - expected)).toBeLessThanOrEqual(expected * 1e-13);
  });
});
