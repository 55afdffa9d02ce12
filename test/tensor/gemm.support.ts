/**
 * Shared by the backends' GEMM tests (wasm*.test.ts, native.test.ts): the case arbitraries, the float64
 * oracle and the comparisons.
 */
import { fc } from '@fast-check/vitest';
import seedrandom from 'seedrandom';
import { expect } from 'vitest';
import type { Backend } from '../../src/tensor/backend.js';
import { gemmTs } from '../../src/tensor/ts.js';

/** One GEMM call: C = alpha op(A) op(B) + beta C. */
export interface GemmCase {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly alpha: number;
  readonly beta: number;
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly c: Float32Array;
}

// Finite float32 values over a wide range (subnormals included); products that underflow float32 but not
// float64 are covered by the absolute floor in `expectClose`.
export const value = fc.float({ min: -8, max: 8, noNaN: true, noDefaultInfinity: true });
export const scalar = fc.oneof(fc.constantFrom(0, 1, -1, 0.5, 2), value.map(Math.fround));
export const f32 = (len: number) => fc.array(value, { minLength: len, maxLength: len }).map((xs) => Float32Array.from(xs));

/** Random cases over the shapes `dims` gives, every transpose combination, alpha and beta. */
export const arbGemm = (dims: fc.Arbitrary<readonly [number, number, number]>): fc.Arbitrary<GemmCase> =>
  fc
    .tuple(fc.boolean(), fc.boolean(), dims, scalar, scalar)
    .chain(([transA, transB, [m, n, k], alpha, beta]) =>
      fc.tuple(f32(m * k), f32(k * n), f32(m * n)).map(([a, b, c]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
    );

/** The float64 oracle and, per element, the scale sum_k |alpha a b| + |beta c| its error is measured against. */
export const oracle = ({ transA, transB, m, n, k, alpha, beta, a, b, c }: GemmCase) => {
  const want = Float64Array.from(c);
  gemmTs(transA, transB, m, n, k, alpha, Float64Array.from(a), Float64Array.from(b), beta, want);
  const scale = Float64Array.from(c, (x) => (beta === 0 ? 0 : Math.abs(beta * x)));
  gemmTs(transA, transB, m, n, k, Math.abs(alpha), Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs), 1, scale);
  return { want, scale };
};

/** Fails at the first element of `got` off the float64 oracle by more than 1e-5 of its scale; `who` names the backend. */
export const expectClose = (got: Float32Array, want: Float64Array, scale: Float64Array, who = 'backend'): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= 1e-5 * scale[i]! + 1e-35)) {
      expect.fail(`element ${i}: ${who} ${got[i]} vs float64 ${want[i]} (error ${err}, scale ${scale[i]})`);
    }
  }
};

/** C after `backend.gemm` of the case, on a copy of its C. */
export const run = (backend: Backend, g: GemmCase): Float32Array => {
  const c = g.c.slice();
  backend.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, g.beta, c);
  return c;
};

/** True when both hold the same bits. */
export const sameBits = (x: Float32Array, y: Float32Array): boolean =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

/** `len` values in [-1, 1) from a seeded generator. */
export const seeded = (len: number, seed: number): Float32Array => {
  const rng = seedrandom(String(seed));
  return Float32Array.from({ length: len }, () => rng() * 2 - 1);
};
