/**
 * The TypeScript reference GEMM (gemmTs), the oracle of the other backends' tests, against the definition:
 * a naive triple loop over op(A) and op(B) in float64.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createTsBackend, gemmTs } from '../../src/tensor/ts.js';

/** C = alpha * op(A) * op(B) + beta * C, straight from the definition (beta = 0 ignores C). */
const naive = (
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: ArrayLike<number>, b: ArrayLike<number>, beta: number, c: ArrayLike<number>,
): Float64Array => {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (transA ? a[p * m + i]! : a[i * k + p]!) * (transB ? b[j * k + p]! : b[p * n + j]!);
      out[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * n + j]!);
    }
  }
  return out;
};

/** Values with -0 read as 0: the sign of a zero sum depends on the order of operations, not on correctness. */
const values = (xs: ArrayLike<number>): number[] => Array.from(xs, (x) => x + 0);

// Small integers: every product and sum is exact in float64 (and float32), so the two must agree exactly.
const int = fc.integer({ min: -9, max: 9 });
const ints = (len: number) => fc.array(int, { minLength: len, maxLength: len });
const dims = fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 300 }));
const arbCase = fc
  .tuple(fc.boolean(), fc.boolean(), dims, fc.constantFrom(0, 1, -1, 2), fc.constantFrom(0, 1, -2, 3))
  .chain(([transA, transB, [m, n, k], alpha, beta]) =>
    fc.tuple(ints(m * k), ints(k * n), ints(m * n)).map(([a, b, c]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
  );

describe('gemmTs (the reference)', () => {
  // k up to 300 crosses the KC = 256 depth blocking.
  test.prop([arbCase], { numRuns: 200 })('equals the naive triple loop exactly on integers (all transposes, float64 and float32)', (g) => {
    const want = naive(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, g.beta, g.c);
    const c64 = Float64Array.from(g.c);
    gemmTs(g.transA, g.transB, g.m, g.n, g.k, g.alpha, Float64Array.from(g.a), Float64Array.from(g.b), g.beta, c64);
    expect(values(c64)).toEqual(values(want));
    const c32 = Float32Array.from(g.c);
    gemmTs(g.transA, g.transB, g.m, g.n, g.k, g.alpha, Float32Array.from(g.a), Float32Array.from(g.b), g.beta, c32);
    expect(values(c32)).toEqual(values(Float32Array.from(want)));
  });

  test.prop([arbCase], { numRuns: 100 })('with beta = 0 ignores what C held, even NaN', (g) => {
    const c = new Float64Array(g.m * g.n).fill(Number.NaN);
    gemmTs(g.transA, g.transB, g.m, g.n, g.k, g.alpha, Float64Array.from(g.a), Float64Array.from(g.b), 0, c);
    expect(values(c)).toEqual(values(naive(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, 0, g.c)));
  });

  it('rejects buffers too small for the shape', () => {
    expect(() => gemmTs(false, false, 2, 2, 3, 1, new Float64Array(5), new Float64Array(6), 0, new Float64Array(4))).toThrow(/too small/);
  });

  it('is the ts backend', () => {
    const b = createTsBackend();
    expect([b.name, b.threads, b.gemm]).toEqual(['ts', 1, gemmTs]);
  });
});
