/**
 * The wasm GEMM's zero skipping (assembly/gemm.ts): a tile runs only the steps where one of its panels is
 * nonzero, when the other panel is all finite. The law: the same bits as running every step (tuning
 * skipZeros: false), for any shapes, transposes, alpha and beta, on 1 and 2 threads, both builds, with
 * operands that are mostly zeros (whole panels, single steps, -0), and with NaN and infinities among them
 * (where a skipped step would have given NaN, nothing is skipped). One exception, stated in gemm.ts: when
 * products underflow float32 (operands below about 2^-75), a zero result may differ in sign; so the exact
 * law is checked on operands that are zero or at least 2^-60 in magnitude, and with any floats the results
 * are equal as numbers.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { run, sameBits, SPLIT, wasm, type GemmCase } from './wasm.support.js';

/** A float32 of [-8, 8] that is zero or at least 2^-60 in magnitude (no product of two underflows), or any. */
const entry = (tiny: boolean) =>
  fc.float({ min: -8, max: 8, noNaN: true, noDefaultInfinity: true }).map((x) => (tiny || Math.abs(x) >= 2 ** -60 ? x : 0));

/** Mostly zeros (a whole row of the stored matrix zero half the time), some -0, some specials, some tiny values. */
const sparse = (rows: number, cols: number, specials: boolean, tiny = specials) =>
  fc
    .tuple(
      fc.array(fc.boolean(), { minLength: rows, maxLength: rows }),
      fc.array(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.constant(-0) },
          { weight: 4, arbitrary: entry(tiny) },
          { weight: specials ? 1 : 0, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity) },
        ),
        { minLength: rows * cols, maxLength: rows * cols },
      ),
    )
    .map(([zeroRows, xs]) => Float32Array.from(xs, (x, i) => (zeroRows[Math.floor(i / Math.max(1, cols))] ? 0 : x)));

const arbSparse = (specials: boolean): fc.Arbitrary<GemmCase> =>
  fc
    .tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 26 }), fc.integer({ min: 1, max: 40 }))
    .chain(([transA, transB, m, n, k]) =>
      fc
        .tuple(
          sparse(transA ? k : m, transA ? m : k, specials),
          sparse(transB ? n : k, transB ? k : n, specials),
          fc.float32Array({ minLength: m * n, maxLength: m * n, noDefaultInfinity: true, noNaN: true }),
          fc.constantFrom(1, -1, 0.5, 3),
          fc.constantFrom(0, 1, -0.5),
        )
        .map(([a, b, c, alpha, beta]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
    );

const builds = [true, false] as const;
const cases = await Promise.all(
  builds.map(async (fma) => ({
    fma,
    dense: await wasm(1, { skipZeros: false }, fma),
    one: await wasm(1, {}, fma),
    two: await wasm(2, SPLIT, fma),
  })),
);

describe.each(cases)('wasm GEMM zero skipping (fma build: $fma)', ({ dense, one, two }) => {
  test.prop([arbSparse(false)], { numRuns: 300 })('gives the bits of every step run, on 1 and 2 threads', (g) => {
    const want = run(dense, g);
    expect(sameBits(run(one, g), want)).toBe(true);
    expect(sameBits(run(two, g), want)).toBe(true);
  });

  test.prop([arbSparse(true)], { numRuns: 300 })('gives the values of every step run with NaN, infinities and tiny values among the zeros', (g) => {
    const want = run(dense, g);
    for (const got of [run(one, g), run(two, g)]) {
      for (let i = 0; i < want.length; i++) {
        if (!(got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) expect.fail(`element ${i}: ${got[i]} vs ${want[i]} every step run`);
      }
    }
  });

  test.prop([fc.integer({ min: 0, max: 1000 })], { numRuns: 5 })(
    'gives the bits of every step run on a first layer of MNIST-like inputs (784 pixels, 80% zeros), forward and weight gradient',
    (seed) => {
      let s = seed + 1;
      const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const x = Float32Array.from({ length: 32 * 784 }, (_, i) => (i % 784 < 100 || rnd() < 0.8 ? 0 : rnd()));
      const w = Float32Array.from({ length: 64 * 784 }, () => rnd() - 0.5);
      const d = Float32Array.from({ length: 32 * 64 }, () => (rnd() < 0.5 ? 0 : rnd() - 0.5));
      const forward: GemmCase = { transA: false, transB: true, m: 32, n: 64, k: 784, alpha: 1, beta: 0, a: x, b: w, c: new Float32Array(32 * 64) };
      const weights: GemmCase = { transA: true, transB: false, m: 64, n: 784, k: 32, alpha: 1 / 32, beta: 0, a: d, b: x, c: new Float32Array(64 * 784) };
      for (const g of [forward, weights]) {
        const want = run(dense, g);
        expect(sameBits(run(one, g), want)).toBe(true);
        expect(sameBits(run(two, g), want)).toBe(true);
      }
    },
  );
});
