/**
 * The optimiser updates' check (src/optim/kernels.ts): sumSquares against independent oracles (a compensated
 * float64 sum, and exact sums of small integers), and the check's NaN exactly when a new parameter is not finite.
 */
import { fc, test } from '@fast-check/vitest';
import seedrandom from 'seedrandom';
import { describe, expect } from 'vitest';
import { CHECK_BLOCK, sgdUpdate, sumSquares } from '../../src/optim/kernels.js';

/** sum(x^2) by Neumaier's compensated summation: within a few ulps of the exact sum whatever the order. */
const compensated = (g: Float32Array): number => {
  let sum = 0;
  let c = 0;
  for (const x of g) {
    const sq = x * x;
    const t = sum + sq;
    c += Math.abs(sum) >= sq ? sum - t + sq : sq - t + sum;
    sum = t;
  }
  return sum + c;
};

const seededValues = (length: number, seed: number, f: (rng: () => number) => number): Float32Array => {
  const rng = seedrandom(`sumSquares ${seed}`);
  return Float32Array.from({ length }, () => f(rng));
};

describe('sumSquares, the check of every optimiser update', () => {
  test.prop([fc.integer({ min: 0, max: 3 * CHECK_BLOCK }), fc.nat(), fc.integer({ min: -30, max: 30 })], { numRuns: 60 })(
    'is within 1e-12 of the compensated sum of the squares, at any length across blocks',
    (length, seed, exponent) => {
      const g = seededValues(length, seed, (rng) => (rng() - 0.5) * 2 ** exponent * Math.exp(4 * rng()));
      const want = compensated(g);
      expect(Math.abs(sumSquares(g) - want)).toBeLessThanOrEqual(1e-12 * want);
    },
  );

  test.prop([fc.integer({ min: 0, max: 3 * CHECK_BLOCK }), fc.nat()], { numRuns: 60 })(
    'is the exact sum when every partial sum is exact (small integers)',
    (length, seed) => {
      const g = seededValues(length, seed, (rng) => Math.floor(rng() * 2001) - 1000);
      let exact = 0n;
      for (const x of g) exact += BigInt(x * x);
      expect(sumSquares(g)).toBe(Number(exact));
    },
  );

  test.prop([fc.array(fc.float({ noDefaultInfinity: false }), { maxLength: 40 }), fc.double({ min: 0, max: 1e30, noNaN: true })], { numRuns: 300 })(
    'the check is NaN exactly when a new parameter is not finite in float32, else sumSquares(g)',
    (values, lr) => {
      const g = Float32Array.from(values);
      const w = Float32Array.from(values, (_, i) => i / 7);
      const w2 = new Float32Array(g.length);
      const check = sgdUpdate(w, g, 1, 0, lr, w2);
      const bad = [...w2].some((x) => !Number.isFinite(x));
      if (bad) expect(check).toBeNaN();
      else expect(Object.is(check, sumSquares(g))).toBe(true);
    },
  );
});
