/**
 * Buffers from the wasm backend's `alloc` live in its shared memory and are used in place: every kernel must
 * give the same bits whichever of its operands live there, never write an input, and an allocated buffer
 * must stay valid when the memory grows.
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/tensor/backend.js';
import type { PointwiseActivation } from '../../src/tensor/kernels.js';
import { loadWasmModule } from '../../src/tensor/wasm/module.js';
import { startPool } from '../../src/tensor/wasm/pool.js';
import { applyUpdate, type UpdateCase } from './updates.support.js';
import { arbGemm, small, SPLIT, wasm } from './wasm.support.js';

const one = await wasm(1);
const split = await wasm(2, SPLIT);
const BACKENDS = [['1 thread', one], ['2 threads', split]] as const;

/** `x` in the shared memory (a copy made with alloc) or in the JS heap (a plain copy). */
const put = (b: Backend, x: Float32Array, resident: boolean): Float32Array => {
  if (!resident) return x.slice();
  const r = b.alloc!(x.length);
  r.set(x);
  return r;
};
const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength)));
const places = fc.tuple(fc.boolean(), fc.boolean(), fc.boolean());
const ACTS: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];

describe.each(BACKENDS)('wasm backend buffers in its shared memory (%s)', (_label, backend) => {
  it('alloc gives zeroed, separate buffers that the JS side reads and writes like any Float32Array', () => {
    const a = backend.alloc!(37);
    const b = backend.alloc!(37);
    expect([...a]).toEqual(new Array(37).fill(0));
    a.fill(3);
    expect([...b]).toEqual(new Array(37).fill(0));
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.byteOffset % 64).toBe(0);
  });

  test.prop([arbGemm(small), places], { numRuns: 150 })('gemm gives the same bits wherever a, b and c live, and writes only c', (c, [ra, rb, rc]) => {
    const want = c.c.slice();
    backend.gemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.a, c.b, c.beta, want);
    const a = put(backend, c.a, ra);
    const b = put(backend, c.b, rb);
    const out = put(backend, c.c, rc);
    backend.gemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, b, c.beta, out);
    expect(bits(out)).toEqual(bits(want));
    expect(bits(a)).toEqual(bits(c.a));
    expect(bits(b)).toEqual(bits(c.b));
  });

  test.prop([fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 21 }), fc.constantFrom(...ACTS), places, fc.boolean(), fc.nat()], { numRuns: 150 })(
    'biasActivation and activationBackward give the same bits wherever their operands live, in place or not',
    (rows, cols, act, [rz, rbias, rout], inPlace, seed) => {
      const z = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed + i) * 4);
      const bias = Float32Array.from({ length: cols }, (_, i) => Math.cos(seed + i));
      const want = new Float32Array(rows * cols);
      backend.biasActivation(z, bias, rows, cols, act, want);
      const zr = put(backend, z, rz);
      const out = inPlace ? zr : put(backend, new Float32Array(rows * cols).fill(NaN), rout);
      backend.biasActivation(zr, put(backend, bias, rbias), rows, cols, act, out);
      expect(bits(out)).toEqual(bits(want));
      if (!inPlace) expect(bits(zr)).toEqual(bits(z));

      const delta = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 3 + i));
      const back = new Float32Array(rows * cols);
      backend.activationBackward(delta, want, act, back);
      const dr = put(backend, delta, rz);
      const bout = inPlace ? dr : put(backend, new Float32Array(rows * cols), rout);
      backend.activationBackward(dr, put(backend, want, rbias), act, bout);
      expect(bits(bout)).toEqual(bits(back));
      if (!inPlace) expect(bits(dr)).toEqual(bits(delta));
    },
  );

  const arbCase = fc
    .record({
      rule: fc.constantFrom('sgd', 'momentum', 'nesterov', 'adam'),
      length: fc.integer({ min: 1, max: 40 }),
      lr: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.nat(),
    })
    .map(({ rule, length, lr, seed }): UpdateCase => {
      const t = (k: number) => Float32Array.from({ length }, (_, i) => Math.sin(seed + k * 101 + i) * 2);
      return { rule, w: t(1), g: t(2), v: t(3), s: t(4).map(Math.abs), clip: 1, decay: 0.01, lr, mu: 0.9, b1: 0.9, b2: 0.999, t: 3, eps: 1e-8 };
    });

  test.prop([arbCase, places, fc.boolean()], { numRuns: 150 })(
    'optimiser updates give the same bits wherever parameters, gradient, moments and results live, and never write an input',
    (c, [rw, rg, rv], routs) => {
      const want = applyUpdate(backend.optimizerUpdates!, c);
      const moved: UpdateCase = { ...c, w: put(backend, c.w, rw), g: put(backend, c.g, rg), v: put(backend, c.v, rv), s: put(backend, c.s, rv) };
      const n = c.w.length;
      const outs = [0, 1, 2].map(() => put(backend, new Float32Array(n).fill(NaN), routs));
      const k = backend.optimizerUpdates!;
      const [w2, v2, s2] = outs as [Float32Array, Float32Array, Float32Array];
      const check =
        c.rule === 'sgd'
          ? k.sgd(moved.w, moved.g, c.clip, c.decay, c.lr, w2)
          : c.rule === 'adam'
            ? k.adam(moved.w, moved.g, moved.v, moved.s, c.clip, c.decay, c.lr, c.b1, c.b2, 1 - c.b1 ** c.t, 1 - c.b2 ** c.t, c.eps, w2, v2, s2)
            : k.momentum(moved.w, moved.g, moved.v, c.clip, c.decay, c.lr, c.mu, c.rule === 'nesterov', w2, v2);
      expect(check).toBe(want.check);
      expect(bits(w2)).toEqual(bits(want.w2));
      if (c.rule !== 'sgd') expect(bits(v2)).toEqual(bits(want.v2));
      if (c.rule === 'adam') expect(bits(s2)).toEqual(bits(want.s2));
      for (const key of ['w', 'g', 'v', 's'] as const) expect(bits(moved[key])).toEqual(bits(c[key]));
    },
  );

  it('buffers allocated before the memory grows keep their values and work in kernels after it', () => {
    const a = backend.alloc!(64);
    a.set(Float32Array.from({ length: 64 }, (_, i) => i));
    // a job far larger than anything before forces the shared memory to grow
    const big = 2048;
    backend.gemm(false, false, big, big, 1, 1, new Float32Array(big), new Float32Array(big), 0, new Float32Array(big * big));
    expect([...a]).toEqual(Array.from({ length: 64 }, (_, i) => i));
    const out = backend.alloc!(64);
    backend.biasActivation(a, new Float32Array(8), 8, 8, 'relu', out);
    expect([...out]).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });
});

describe('wasm pool regions', () => {
  it('a released region is reused for the same size, reserved regions never overlap, and jobs lay out above them', async () => {
    const loaded = await loadWasmModule();
    if (E.isLeft(loaded)) throw new Error(loaded.left.message);
    const started = await startPool(loaded.right.module, 1);
    if (E.isLeft(started)) throw new Error(started.left.message);
    const pool = started.right;
    try {
      const r1 = pool.reserve(1000);
      const r2 = pool.reserve(1000);
      const r3 = pool.reserve(10);
      expect(r2).toBeGreaterThanOrEqual(r1 + 1000);
      expect(r3).toBeGreaterThanOrEqual(r2 + 1000);
      const [scratch] = pool.layout([500]);
      expect(scratch!).toBeGreaterThanOrEqual(r3 + 10);
      pool.release(r2, 1000);
      expect(pool.reserve(1000)).toBe(r2);
      expect(pool.reserve(1000)).toBeGreaterThan(r3);
      expect(pool.owns(new Float32Array(pool.heap().buffer, r1, 4))).toBe(true);
      expect(pool.owns(new Float32Array(4))).toBe(false);
    } finally {
      pool.dispose();
    }
  });
});
