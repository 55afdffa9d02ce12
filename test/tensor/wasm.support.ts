/**
 * Shared by the wasm backend's tests (wasm*.test.ts): backends that are disposed after the file, and the
 * GEMM shapes that cross the micro-kernel's panels; the cases, oracle and comparisons are gemm.support.ts's.
 */
import { fc } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll } from 'vitest';
import { formatError } from '../../src/errors.js';
import type { Backend } from '../../src/tensor/backend.js';
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

export { arbGemm, expectClose, f32, oracle, run, sameBits, scalar, seeded, value, type GemmCase } from './gemm.support.js';

// Up to 3 row panels (MR = 4) and 3 column panels (NR = 8) with ragged edges, k across the 4-wide packing.
export const small = fc.tuple(fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 11 }));
// 1xN, Nx1, k = 1 and 0-sized shapes.
export const edge = fc.oneof(
  fc.integer({ min: 1, max: 33 }).map((n) => [1, n, 5] as const),
  fc.integer({ min: 1, max: 17 }).map((m) => [m, 1, 5] as const),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 17 })).map(([m, n]) => [m, n, 1] as const),
  fc.constantFrom([0, 4, 3] as const, [4, 0, 3] as const, [4, 3, 0] as const, [0, 0, 0] as const, [1, 1, 1] as const),
);

