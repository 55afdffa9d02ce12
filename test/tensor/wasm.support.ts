/**
 * Shared by the wasm backend's tests (wasm*.test.ts): backends that are disposed after the file, the GEMM
 * case arbitraries, the float64 oracle and the comparisons.
 */
import { fc } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import seedrandom from 'seedrandom';
import { afterAll, expect } from 'vitest';
import { formatError } from '../../src/errors.js';
import type { Backend } from '../../src/tensor/backend.js';
import { gemmTs } from '../../src/tensor/ts.js';
import { createTunedWasmBackend, DEFAULT_TUNING, type WasmTuning } from '../../src/tensor/wasm/index.js';

const made: Backend[] = [];
afterAll(() => made.forEach((b) => b.dispose()));

/**
 * A wasm backend with these tuning changes, disposed after the test file; throws if it cannot be made.
 * `fma`: false forces the plain SIMD build; by default the relaxed-SIMD build where the engine accepts it.
 */
export const wasm = async (threads: number, tuning: Partial<WasmTuning> = {}, fma?: boolean): Promise<Backend> => {
  const b = await createTunedWasmBackend({ threads, ...(fma === undefined ? {} : { fma }) }, { ...DEFAULT_TUNING, ...tuning });
  if (E.isLeft(b)) throw new Error(`wasm backend unavailable: ${formatError(b.left)}`);
  made.push(b.right);
  return b.right;
};

/** Every job offered to all threads, however small. */
export const SPLIT: Partial<WasmTuning> = { parallelGemmFlops: 0, parallelElements: 0 };

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

export const arbGemm = (dims: fc.Arbitrary<readonly [number, number, number]>): fc.Arbitrary<GemmCase> =>
  fc
    .tuple(fc.boolean(), fc.boolean(), dims, scalar, scalar)
    .chain(([transA, transB, [m, n, k], alpha, beta]) =>
      fc.tuple(f32(m * k), f32(k * n), f32(m * n)).map(([a, b, c]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
    );

// Up to 3 row panels (MR = 4) and 3 column panels (NR = 8) with ragged edges, k across the 4-wide packing.
export const small = fc.tuple(fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 11 }));
// 1xN, Nx1, k = 1 and 0-sized shapes.
export const edge = fc.oneof(
  fc.integer({ min: 1, max: 33 }).map((n) => [1, n, 5] as const),
  fc.integer({ min: 1, max: 17 }).map((m) => [m, 1, 5] as const),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 17 })).map(([m, n]) => [m, n, 1] as const),
  fc.constantFrom([0, 4, 3] as const, [4, 0, 3] as const, [4, 3, 0] as const, [0, 0, 0] as const, [1, 1, 1] as const),
);

/** The float64 oracle and, per element, the scale sum_k |alpha a b| + |beta c| its error is measured against. */
export const oracle = ({ transA, transB, m, n, k, alpha, beta, a, b, c }: GemmCase) => {
  const want = Float64Array.from(c);
  gemmTs(transA, transB, m, n, k, alpha, Float64Array.from(a), Float64Array.from(b), beta, want);
  const scale = Float64Array.from(c, (x) => (beta === 0 ? 0 : Math.abs(beta * x)));
  gemmTs(transA, transB, m, n, k, Math.abs(alpha), Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs), 1, scale);
  return { want, scale };
};

export const expectClose = (got: Float32Array, want: Float64Array, scale: Float64Array): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= 1e-5 * scale[i]! + 1e-35)) {
      expect.fail(`element ${i}: wasm ${got[i]} vs float64 ${want[i]} (error ${err}, scale ${scale[i]})`);
    }
  }
};

export const run = (backend: Backend, g: GemmCase): Float32Array => {
  const c = g.c.slice();
  backend.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, g.beta, c);
  return c;
};

export const sameBits = (x: Float32Array, y: Float32Array): boolean =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

export const seeded = (len: number, seed: number): Float32Array => {
  const rng = seedrandom(String(seed));
  return Float32Array.from({ length: len }, () => rng() * 2 - 1);
};
