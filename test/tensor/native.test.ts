/**
 * The native backend against independent oracles: GEMM against the float64 TypeScript reference (gemmTs on
 * Float64Array copies), the element-wise kernels against src/tensor/kernels.ts.
 *
 * These tests require the addon: CI installs libopenblas-dev and `npm ci` builds it. When it is missing they
 * fail with the reason the loader gives, never pass silently.
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError } from '../../src/errors.js';
import type { Backend } from '../../src/tensor/backend.js';
import { activationBackward, biasActivation, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { loadAddon } from '../../src/tensor/native/addon.js';
import { createNativeBackend } from '../../src/tensor/native/index.js';
import { gemmTs } from '../../src/tensor/ts.js';

const native = (threads: number): Backend => {
  const b = createNativeBackend({ threads });
  if (E.isLeft(b)) throw new Error(`native backend unavailable: ${formatError(b.left)}`);
  return b.right;
};

const ACTS: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];

interface GemmCase {
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
const value = fc.float({ min: -8, max: 8, noNaN: true, noDefaultInfinity: true });
const scalar = fc.oneof(fc.constantFrom(0, 1, -1, 0.5), value.map(Math.fround));
const f32 = (len: number) => fc.array(value, { minLength: len, maxLength: len }).map((xs) => Float32Array.from(xs));

const arbGemm = (dims: fc.Arbitrary<readonly [number, number, number]>): fc.Arbitrary<GemmCase> =>
  fc
    .tuple(fc.boolean(), fc.boolean(), dims, scalar, scalar)
    .chain(([transA, transB, [m, n, k], alpha, beta]) =>
      fc.tuple(f32(m * k), f32(k * n), f32(m * n)).map(([a, b, c]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
    );

const small = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }));
// 1xN, Nx1, k = 1 and 0-sized shapes.
const edge = fc.oneof(
  fc.integer({ min: 1, max: 17 }).map((n) => [1, n, 5] as const),
  fc.integer({ min: 1, max: 17 }).map((m) => [m, 1, 5] as const),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })).map(([m, n]) => [m, n, 1] as const),
  fc.constantFrom([0, 4, 3] as const, [4, 0, 3] as const, [4, 3, 0] as const, [0, 0, 0] as const, [1, 1, 1] as const),
);

/** The float64 oracle and, per element, the scale sum_k |alpha a b| + |beta c| its error is measured against. */
const oracle = ({ transA, transB, m, n, k, alpha, beta, a, b, c }: GemmCase) => {
  const want = Float64Array.from(c);
  gemmTs(transA, transB, m, n, k, alpha, Float64Array.from(a), Float64Array.from(b), beta, want);
  const scale = Float64Array.from(c, (x) => (beta === 0 ? 0 : Math.abs(beta * x)));
  gemmTs(transA, transB, m, n, k, Math.abs(alpha), Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs), 1, scale);
  return { want, scale };
};

const expectClose = (got: Float32Array, want: Float64Array, scale: Float64Array): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= 1e-5 * scale[i]! + 1e-35)) {
      expect.fail(`element ${i}: native ${got[i]} vs float64 ${want[i]} (error ${err}, scale ${scale[i]})`);
    }
  }
};

const runNative = (backend: Backend, g: GemmCase): Float32Array => {
  const c = g.c.slice();
  backend.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, g.beta, c);
  return c;
};

const sameBits = (x: Float32Array, y: Float32Array): boolean =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

const seeded = (len: number, seed: number): Float32Array => {
  const rng = seedrandom(String(seed));
  return Float32Array.from({ length: len }, () => rng() * 2 - 1);
};

describe('native backend (OpenBLAS through Node-API)', () => {
  it('the addon is built and loads (CI installs libopenblas-dev and npm ci builds it)', () => {
    const b = createNativeBackend({ threads: 1 });
    expect(E.isLeft(b) ? formatError(b.left) : 'loaded').toBe('loaded');
    if (E.isRight(b)) {
      expect(b.right.name).toBe('native');
      expect(b.right.description).toMatch(/OpenBLAS/);
    }
  });

  const one = native(1);

  test.prop([arbGemm(small)], { numRuns: 300 })(
    'gemm agrees with the float64 reference within 1e-5 of sum_k |alpha a b| + |beta c| (all transposes)',
    (g) => {
      const { want, scale } = oracle(g);
      expectClose(runNative(one, g), want, scale);
    },
  );

  test.prop([arbGemm(edge)], { numRuns: 150 })('gemm agrees with the reference on 1xN, Nx1, k = 1 and 0-sized shapes', (g) => {
    const { want, scale } = oracle(g);
    expectClose(runNative(one, g), want, scale);
  });

  test.prop([arbGemm(small)], { numRuns: 100 })('gemm with beta = 0 ignores what C held, even NaN', (g) => {
    const c = new Float32Array(g.m * g.n).fill(Number.NaN);
    one.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.b, 0, c);
    const { want, scale } = oracle({ ...g, beta: 0, c: new Float32Array(g.m * g.n) });
    expectClose(c, want, scale);
  });

  test.prop([arbGemm(small), fc.nat({ max: 7 }), fc.nat({ max: 7 }), fc.nat({ max: 7 })], { numRuns: 100 })(
    'gemm works in place on views at any offset (zero copy) and writes nothing outside C',
    (g, offA, offB, offC) => {
      const view = (xs: Float32Array, off: number, fill: number) => {
        const buf = new Float32Array(off + xs.length + 3).fill(fill);
        buf.set(xs, off);
        return { buf, v: buf.subarray(off, off + xs.length) };
      };
      const a = view(g.a, offA, 7), b = view(g.b, offB, 7), c = view(g.c, offC, 42);
      one.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a.v, b.v, g.beta, c.v);
      const { want, scale } = oracle(g);
      expectClose(c.v, want, scale);
      expect(Array.from(c.buf.subarray(0, offC))).toEqual(new Array(offC).fill(42));
      expect(Array.from(c.buf.subarray(offC + g.c.length))).toEqual([42, 42, 42]);
    },
  );

  it('gemm agrees with the reference on the shapes of a 784-1000-10 network (BLAS kernels, both threads)', () => {
    const two = native(2);
    for (const [transA, transB, m, n, k] of [
      [false, true, 32, 1000, 784],
      [true, false, 1000, 784, 32],
      [false, false, 32, 10, 1000],
      [false, true, 32, 1000, 10],
    ] as const) {
      const g: GemmCase = { transA, transB, m, n, k, alpha: 0.5, beta: 1, a: seeded(m * k, m + k), b: seeded(k * n, n + k), c: seeded(m * n, m * n) };
      const { want, scale } = oracle(g);
      expectClose(runNative(one, g), want, scale);
      expectClose(runNative(two, g), want, scale);
    }
  });

  // Measured (test/bench/native-gemm.ts): OpenBLAS 0.3.21 is not bit-identical across thread counts once a
  // product is large enough to be threaded, so the law asserted is per thread count.
  it('gemm gives identical bits on repeated calls with a fixed thread count, even after another count ran', () => {
    const [m, n, k] = [128, 200, 784];
    const a = seeded(m * k, 1), b = seeded(n * k, 2);
    const backends = [native(1), native(2)];
    const first = backends.map((be) => runNative(be, { transA: false, transB: true, m, n, k, alpha: 1, beta: 0, a, b, c: new Float32Array(m * n) }));
    for (let round = 0; round < 3; round++) {
      backends.forEach((be, i) => {
        const again = runNative(be, { transA: false, transB: true, m, n, k, alpha: 1, beta: 0, a, b, c: new Float32Array(m * n) });
        expect(sameBits(again, first[i]!)).toBe(true);
      });
    }
  });

  it('gemm rejects wrong buffers as programmer errors', () => {
    const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(4);
    expect(() => one.gemm(false, false, 2, 2, 3, 1, new Float64Array(6) as unknown as Float32Array, b, 0, c)).toThrow(TypeError);
    expect(() => one.gemm(false, false, 2, 2, 4, 1, a, b, 0, c)).toThrow(/too small/);
    expect(() => one.gemm(false, false, 2, 2, 3, 1, a, b, 0, a.subarray(2))).toThrow(/share memory/);
    expect(() => one.gemm(false, false, -1, 2, 3, 1, a, b, 0, c)).toThrow(RangeError);
  });

  // Special values included: NaN, infinities, signed zeros, subnormals.
  const anyF32 = (len: number) => fc.float32Array({ minLength: len, maxLength: len });
  const arbBias = fc
    .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom(...ACTS))
    .chain(([rows, cols, act]) => fc.tuple(anyF32(rows * cols), anyF32(cols)).map(([z, bias]) => ({ rows, cols, act, z, bias })));

  /** Exact for the piecewise-linear activations; sigmoid/tanh within one float32 ulp (libm vs V8's Math). */
  const expectKernelEqual = (act: PointwiseActivation, got: Float32Array, want: Float32Array): void => {
    for (let i = 0; i < got.length; i++) {
      const [g, w] = [got[i]!, want[i]!];
      const ok = Object.is(g, w) || ((act === 'sigmoid' || act === 'tanh') && Math.abs(g - w) <= 2 ** -23 * Math.abs(w));
      if (!ok) expect.fail(`${act} element ${i}: native ${g} vs reference ${w}`);
    }
  };

  test.prop([arbBias], { numRuns: 300 })('biasActivation equals the reference kernel, in place or not', ({ rows, cols, act, z, bias }) => {
    const want = new Float32Array(rows * cols);
    biasActivation(z, bias, rows, cols, act, want);
    const out = new Float32Array(rows * cols);
    one.biasActivation(z, bias, rows, cols, act, out);
    expectKernelEqual(act, out, want);
    const inPlace = z.slice();
    one.biasActivation(inPlace, bias, rows, cols, act, inPlace);
    expectKernelEqual(act, inPlace, want);
  });

  const arbBackward = fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(...ACTS))
    .chain(([len, act]) => fc.tuple(anyF32(len), anyF32(len)).map(([delta, a]) => ({ act, delta, a })));

  test.prop([arbBackward], { numRuns: 300 })('activationBackward equals the reference kernel, in place or not', ({ act, delta, a }) => {
    const want = new Float32Array(delta.length);
    activationBackward(delta, a, act, want);
    const out = new Float32Array(delta.length);
    one.activationBackward(delta, a, act, out);
    expectKernelEqual(act, out, want);
    const inPlace = delta.slice();
    one.activationBackward(inPlace, a, act, inPlace);
    expectKernelEqual(act, inPlace, want);
  });

  it('createNativeBackend rejects a thread count that is not a positive integer, naming --threads', () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) {
      const b = createNativeBackend({ threads });
      expect(E.isLeft(b) && b.left._tag === 'OptionError' && b.left.where === '--threads').toBe(true);
    }
    expect(E.map((b: Backend) => b.threads)(createNativeBackend({ threads: 2 }))).toEqual(E.right(2));
  });
});

describe('loading the addon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradpipe-native-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is a Left saying the addon has not been built, and how to build it, when no file exists', () => {
    const r = loadAddon([join(dir, 'none', 'gradpipe_native.node')]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/has not been built.*npm run build:native/);
  });

  it("is a Left carrying the build step's reason when it recorded one", () => {
    writeFileSync(join(dir, 'status.txt'), 'not built: no C compiler (cc) found\n');
    const r = loadAddon([join(dir, 'gradpipe_native.node')]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/no C compiler \(cc\) found/);
  });

  it('is a Left saying the file does not load when it is not an addon', () => {
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file');
    const r = loadAddon([bogus]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/does not load/);
  });
});
