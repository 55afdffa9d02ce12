/**
 * The two builds of the wasm kernels bit for bit: the relaxed-SIMD build's GEMM is a chain of fused
 * multiply-adds in k order (one rounding per step), the plain build's a multiply then an add (two), each
 * against an exact JavaScript emulation; the element-wise kernels are the same code in both; and how the
 * build is chosen (option, environment variable, a missing relaxed build).
 *
 * Assumes a CPU with fused multiply-add (x86-64 since 2013, every arm64): relaxed SIMD lets an engine
 * without it leave relaxed_madd unfused, and the first test would then say so.
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError } from '../../src/errors.js';
import type { PointwiseActivation } from '../../src/tensor/kernels.js';
import { createWasmBackend } from '../../src/tensor/wasm/index.js';
import { loadRelaxedWasmModule } from '../../src/tensor/wasm/module.js';
import { type GemmCase, run, sameBits, SPLIT, wasm } from './wasm.support.js';

const fma1 = await wasm(1, {}, true);
const fma2 = await wasm(2, SPLIT, true);
const plain1 = await wasm(1, {}, false);
const plain2 = await wasm(2, SPLIT, false);

/**
 * C = alpha op(A) op(B) + beta C with each element accumulated in float32 in k order: fused (the exact
 * acc + a b rounded once) or not (a b rounded, then the sum), then alpha and beta as the kernels' epilogue.
 * Exact for the inputs of `exactCase`: there a b has at most 26 significant bits and every acc is a multiple
 * of 2^-24 below 2^9, so acc + a b is exact in float64 and Math.fround rounds it once.
 */
const emulate = ({ transA, transB, m, n, k, alpha, beta, a, b, c }: GemmCase, fused: boolean): Float32Array => {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const prod = a[transA ? p * m + i : i * k + p]! * b[transB ? j * k + p : p * n + j]!;
        acc = Math.fround(acc + (fused ? prod : Math.fround(prod)));
      }
      const scaled = beta === 0 && alpha === 1 ? acc : Math.fround(alpha * acc);
      out[i * n + j] = beta === 0 ? scaled : Math.fround(scaled + Math.fround(beta * c[i * n + j]!));
    }
  }
  return out;
};

// +-(1 + j 2^-12): 13 significant bits, so products need up to 26 and fusing them changes the rounding.
const operand = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 4095 })).map(([neg, j]) => (neg ? -1 : 1) * (1 + j / 4096));
const vec = (len: number) => fc.array(operand, { minLength: len, maxLength: len }).map((xs) => Float32Array.from(xs));
// Ragged edges in m and n, k past the 4-wide packing; alpha and beta as the backend's three modes see them.
const exactCase: fc.Arbitrary<GemmCase> = fc
  .tuple(
    fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 40 }),
    fc.constantFrom(1, 0.5, -1.5, Math.fround(0.3)), fc.constantFrom(0, 1, -0.75, Math.fround(0.1)),
  )
  .chain(([transA, transB, m, n, k, alpha, beta]) =>
    fc.tuple(vec(m * k), vec(k * n), vec(m * n)).map(([a, b, c]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
  );

describe('wasm GEMM builds, bit for bit', () => {
  it('fuses in the relaxed-SIMD build: (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 there and 0 in the plain one', () => {
    const g: GemmCase = {
      transA: false, transB: false, m: 1, n: 1, k: 2, alpha: 1, beta: 0,
      a: Float32Array.of(1, 1 + 2 ** -12), b: Float32Array.of(-(1 + 2 ** -11), 1 + 2 ** -12), c: new Float32Array(1),
    };
    // acc = -(1 + 2^-11), then acc + (1 + 2^-12)^2 = acc + 1 + 2^-11 + 2^-24: that product rounded to float32
    // alone loses the 2^-24 (a tie, to even).
    expect([run(fma1, g)[0], run(fma2, g)[0]]).toEqual([2 ** -24, 2 ** -24]);
    expect([run(plain1, g)[0], run(plain2, g)[0]]).toEqual([0, 0]);
  });

  test.prop([exactCase], { numRuns: 200 })(
    'the relaxed-SIMD build is a chain of fused multiply-adds in k order, on 1 and 2 threads',
    (g) => {
      const want = emulate(g, true);
      expect(sameBits(run(fma1, g), want) && sameBits(run(fma2, g), want)).toBe(true);
    },
  );

  test.prop([exactCase], { numRuns: 200 })('the plain build multiplies then adds, in k order, on 1 and 2 threads', (g) => {
    const want = emulate(g, false);
    expect(sameBits(run(plain1, g), want) && sameBits(run(plain2, g), want)).toBe(true);
  });

  const ACTS: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];
  const elem = fc.float({ min: -30, max: 30, noNaN: true });
  const arbAct = fc
    .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom(...ACTS))
    .chain(([rows, cols, act]) =>
      fc.tuple(fc.array(elem, { minLength: rows * cols, maxLength: rows * cols }), fc.array(elem, { minLength: cols, maxLength: cols }))
        .map(([z, bias]) => ({ rows, cols, act, zs: Float32Array.from(z), bias: Float32Array.from(bias) })),
    );
  test.prop([arbAct], { numRuns: 100 })('the element-wise kernels give the same bits in both builds (only the GEMM differs)', ({ rows, cols, act, zs, bias }) => {
    const [f, p] = [new Float32Array(rows * cols), new Float32Array(rows * cols)];
    fma1.biasActivation(zs, bias, rows, cols, act, f);
    plain1.biasActivation(zs, bias, rows, cols, act, p);
    expect(sameBits(f, p)).toBe(true);
    const [df, dp] = [new Float32Array(rows * cols), new Float32Array(rows * cols)];
    fma1.activationBackward(zs, f, act, df);
    plain1.activationBackward(zs, p, act, dp);
    expect(sameBits(df, dp)).toBe(true);
  });
});

describe('choosing the build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradpipe-wasm-fma-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the plain build when GRADPIPE_WASM_FMA is 0 and no option says otherwise', async () => {
    const saved = process.env['GRADPIPE_WASM_FMA'];
    process.env['GRADPIPE_WASM_FMA'] = '0';
    try {
      const [byEnv, byOption] = [await createWasmBackend({ threads: 1 }), await createWasmBackend({ threads: 1, fma: true })];
      if (E.isLeft(byEnv) || E.isLeft(byOption)) throw new Error('wasm backend unavailable');
      expect([byEnv.right.description.includes('FMA'), byOption.right.description.includes('FMA')]).toEqual([false, true]);
      byEnv.right.dispose();
      byOption.right.dispose();
    } finally {
      if (saved === undefined) delete process.env['GRADPIPE_WASM_FMA'];
      else process.env['GRADPIPE_WASM_FMA'] = saved;
    }
  });

  it('is a Left saying how to build it when the relaxed-SIMD build is missing', async () => {
    const r = await loadRelaxedWasmModule([join(dir, 'gradpipe-relaxed.wasm')]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/relaxed-SIMD wasm kernels have not been built.*npm run build/);
  });
});
