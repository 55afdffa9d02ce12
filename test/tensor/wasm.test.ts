/**
 * The wasm backend's GEMM against the float64 TypeScript reference (gemmTs on Float64Array copies), and its
 * determinism law: the same bits for any thread count, whichever thread takes which block. Both builds: the
 * relaxed-SIMD one (fused multiply-add, the default where the engine accepts it) and the plain SIMD one.
 *
 * `split` offers every job, however small, to both threads, so the partitioning is exercised on edge shapes;
 * `sleepy` and `three` do so without polling first and with more threads than cores, so workers join jobs
 * late, or not at all, at random. These tests need `npm run build:wasm` (npm ci runs it); without it they
 * fail with the loader's message. Element-wise kernels: wasm.elementwise.test.ts; the pool and the
 * factory: wasm.pool.test.ts.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { arbGemm, edge, expectClose, type GemmCase, oracle, run, sameBits, seeded, small, SPLIT, wasm } from './wasm.support.js';

/** The backends each suite runs on, all on one build. */
const backends = async (fma: boolean) => ({
  one: await wasm(1, {}, fma),
  split: await wasm(2, SPLIT, fma),
  two: await wasm(2, {}, fma),
  // No polling before sleeping (every wait goes through Atomics.wait), and more threads than this machine's
  // cores: workers join jobs late or not at all, and the result must not change.
  sleepy: await wasm(2, { ...SPLIT, spin: 0 }, fma),
  three: await wasm(3, { ...SPLIT, spin: 0 }, fma),
  // Jobs on 1 thread and on 2 in turn, workers sleeping in between.
  mixed: await wasm(2, { parallelGemmFlops: 100_000, spin: 0 }, fma),
});

// Node 20 accepts relaxed SIMD once the backend has set V8's flag: the default must be the FMA build here.
const BUILDS = [
  ['relaxed-SIMD FMA build', /^wasm: WebAssembly SIMD with relaxed-SIMD FMA, 2 threads/, await backends(true)],
  ['plain SIMD build (fma: false)', /^wasm: WebAssembly SIMD, 2 threads/, await backends(false)],
] as const;

describe.each(BUILDS)('wasm backend: gemm, %s', (_, described, { one, split, two, sleepy, three, mixed }) => {
  it('is built and loads, and describes itself', () => {
    expect(one.name).toBe('wasm');
    expect([one.threads, two.threads]).toEqual([1, 2]);
    expect(two.description).toMatch(described);
  });

  test.prop([arbGemm(small)], { numRuns: 300 })(
    'agrees with the float64 reference within 1e-5 of sum_k |alpha a b| + |beta c| (all transposes, 1 thread)',
    (g) => {
      const { want, scale } = oracle(g);
      expectClose(run(one, g), want, scale);
    },
  );

  test.prop([arbGemm(small)], { numRuns: 300 })(
    'agrees with the float64 reference with every job split over 2 threads',
    (g) => {
      const { want, scale } = oracle(g);
      expectClose(run(split, g), want, scale);
    },
  );

  test.prop([arbGemm(edge)], { numRuns: 150 })('agrees with the reference on 1xN, Nx1, k = 1 and 0-sized shapes', (g) => {
    const { want, scale } = oracle(g);
    expectClose(run(one, g), want, scale);
    expectClose(run(split, g), want, scale);
  });

  test.prop([fc.oneof(arbGemm(small), arbGemm(edge))], { numRuns: 300 })(
    'gives the same bits on 1, 2 and 3 threads, whoever joins (the output is split, never k)',
    (g) => {
      const c1 = run(one, g);
      expect(sameBits(c1, run(split, g)) && sameBits(c1, run(sleepy, g)) && sameBits(c1, run(three, g))).toBe(true);
    },
  );

  const mid = fc.tuple(fc.integer({ min: 1, max: 48 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 48 }));
  test.prop([fc.array(arbGemm(mid), { minLength: 2, maxLength: 8 })], { numRuns: 150 })(
    'gives the same bits when jobs for 1 and for 2 threads follow each other quickly',
    (gs) => {
      const got = gs.map((g) => run(mixed, g));
      gs.forEach((g, i) => expect(sameBits(got[i]!, run(one, g))).toBe(true));
    },
  );

  test.prop([arbGemm(small)], { numRuns: 100 })('with beta = 0 ignores what C held, even NaN', (g) => {
    const { want, scale } = oracle({ ...g, beta: 0, c: new Float32Array(g.m * g.n) });
    for (const backend of [one, split]) {
      const c = new Float32Array(g.m * g.n).fill(Number.NaN);
      backend.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, 0, c);
      expectClose(c, want, scale);
    }
  });

  // Divergence is detected downstream by a NaN in the activations: the kernels must never drop one.
  const nonEmpty = fc.tuple(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 11 }));
  test.prop([arbGemm(nonEmpty), fc.nat(), fc.nat()], { numRuns: 100 })(
    'a NaN in A turns exactly its row of C to NaN (alpha != 0), on 1 and 2 threads',
    (g0, pick, pickK) => {
      const g = { ...g0, alpha: g0.alpha === 0 ? 1 : g0.alpha, beta: 0 };
      const [i, p] = [pick % g.m, pickK % g.k];
      const a = g.a.slice();
      a[g.transA ? p * g.m + i : i * g.k + p] = Number.NaN;
      for (const backend of [one, split]) {
        const c = run(backend, { ...g, a });
        for (let r = 0; r < g.m; r++) {
          for (let j = 0; j < g.n; j++) expect(Number.isNaN(c[r * g.n + j]!)).toBe(r === i);
        }
      }
    },
  );

  test.prop([arbGemm(small), fc.nat({ max: 7 }), fc.nat({ max: 7 }), fc.nat({ max: 7 })], { numRuns: 100 })(
    'reads views at any offset and writes nothing outside C',
    (g, offA, offB, offC) => {
      const view = (xs: Float32Array, off: number, fill: number) => {
        const buf = new Float32Array(off + xs.length + 3).fill(fill);
        buf.set(xs, off);
        return { buf, v: buf.subarray(off, off + xs.length) };
      };
      const a = view(g.a, offA, 7), b = view(g.b, offB, 7), c = view(g.c, offC, 42);
      split.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a.v, b.v, g.beta, c.v);
      const { want, scale } = oracle(g);
      expectClose(c.v, want, scale);
      expect(Array.from(c.buf.subarray(0, offC))).toEqual(new Array(offC).fill(42));
      expect(Array.from(c.buf.subarray(offC + g.c.length))).toEqual([42, 42, 42]);
    },
  );

  // 20 runs, not 100: each case is up to ~10 MFLOP, and the float64 oracle does it at ~0.3 GFLOP/s.
  const medium = fc.tuple(fc.integer({ min: 60, max: 300 }), fc.integer({ min: 30, max: 130 }), fc.integer({ min: 100, max: 300 }));
  test.prop([arbGemm(medium)], { numRuns: 20 })(
    'agrees with the reference, and across thread counts, on shapes of several blocks per thread',
    (g) => {
      const { want, scale } = oracle(g);
      const c1 = run(one, g);
      expectClose(c1, want, scale);
      expect(sameBits(run(split, g), c1)).toBe(true);
    },
  );

  it('agrees with the reference on the shapes of a 784-1000-10 network at batch 32, on 1 and 2 threads by default', () => {
    for (const [transA, transB, m, n, k] of [
      [false, true, 32, 1000, 784],
      [true, false, 1000, 784, 32],
      [false, true, 32, 10, 1000],
      [false, false, 32, 1000, 10],
    ] as const) {
      const g: GemmCase = { transA, transB, m, n, k, alpha: 0.5, beta: 1, a: seeded(m * k, m + k), b: seeded(k * n, n + k), c: seeded(m * n, m * n) };
      const { want, scale } = oracle(g);
      const c1 = run(one, g);
      expectClose(c1, want, scale);
      expect(sameBits(run(two, g), c1)).toBe(true);
    }
  });

  it('rejects wrong buffers and shapes as programmer errors', () => {
    const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(4);
    expect(() => one.gemm(false, false, 2, 2, 4, 1, a, b, 0, c)).toThrow(/a has 6 values, needs 8/);
    expect(() => one.gemm(false, false, 2, 3, 3, 1, a, b, 0, c)).toThrow(/b has 6 values, needs 9/);
    expect(() => one.gemm(false, false, -1, 2, 3, 1, a, b, 0, c)).toThrow(RangeError);
    expect(() => one.gemm(false, false, 2, 2, 1.5, 1, a, b, 0, c)).toThrow(RangeError);
  });
});
