/**
 * The native backend against independent oracles: GEMM against the float64 TypeScript reference (gemmTs on
 * Float64Array copies), the element-wise kernels against src/tensor/kernels.ts, the fused optimiser updates
 * against the TypeScript loops of src/optim/kernels.ts; and its laws: the same bits for any thread count
 * (GEMM, updates, whole training steps), threads joined by dispose(), a process that exits without it.
 *
 * These tests require the addon: CI installs libdnnl-dev and libopenblas-dev and `npm ci` builds it with both.
 * When it is missing they fail with the reason the loader gives, never pass silently. The GEMM laws are
 * checked for every library the build linked (oneDNN and OpenBLAS on CI).
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError } from '../../src/errors.js';
import { initNetwork } from '../../src/nn/init.js';
import { adamUpdate, CHECK_BLOCK, momentumUpdate, sgdUpdate } from '../../src/optim/kernels.js';
import { optimizer, OPTIMIZERS } from '../../src/optim/optimizer.js';
import { toBatch, type LabeledBatch } from '../../src/stages/batch.js';
import { initialTrainState, type TrainState } from '../../src/optim/trainState.js';
import { stepOnce } from '../../src/stages/trainStep.js';
import type { Backend, OptimizerUpdates } from '../../src/tensor/backend.js';
import { matrix } from '../../src/tensor/matrix.js';
import { activationBackward, biasActivation, columnSumsInto, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { absRange } from '../../src/tensor/reduce.js';
import { loadAddon, type NativeTuning } from '../../src/tensor/native/addon.js';
import { createNativeBackend, createTunedNativeBackend, DEFAULT_NATIVE_TUNING, nativeTuningFor, type GemmLibrary } from '../../src/tensor/native/index.js';
import { unwrap } from '../arb/network.js';
import { arbGemm, expectClose, oracle, run as runNative, sameBits, scalar, seeded, type GemmCase } from './gemm.support.js';
import { applyUpdate, type UpdateCase } from './updates.support.js';

/** The linked GEMM libraries, best first. */
const LIBRARIES: readonly GemmLibrary[] = orThrowAddon().addon.gemmLibraries();

const native = (threads: number, tuning: NativeTuning | typeof nativeTuningFor = nativeTuningFor, gemmLibrary?: GemmLibrary): Backend => {
  const b = createTunedNativeBackend(gemmLibrary === undefined ? { threads } : { threads, gemmLibrary }, tuning);
  if (E.isLeft(b)) throw new Error(`native backend unavailable: ${formatError(b.left)}`);
  return b.right;
};

/** Cuts every product into blocks of one row or column, and every update into chunks of 3 elements. */
const SPLIT_ALL: NativeTuning = { gemmBlockFlops: 0, maxBlocks: 4096, rowUnit: 1, colUnit: 1, smallBlockFlops: 0, smallMinK: 0, serialFlops: 0, updateChunk: 3, spinMicroseconds: 20, zeroSkipDensity: 0, zeroSkipLanes: 0 };

const ACTS: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];

const small = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }));
// 1xN, Nx1, k = 1 and 0-sized shapes.
const edge = fc.oneof(
  fc.integer({ min: 1, max: 17 }).map((n) => [1, n, 5] as const),
  fc.integer({ min: 1, max: 17 }).map((m) => [m, 1, 5] as const),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })).map(([m, n]) => [m, n, 1] as const),
  fc.constantFrom([0, 4, 3] as const, [4, 0, 3] as const, [4, 3, 0] as const, [0, 0, 0] as const, [1, 1, 1] as const),
);

/**
 * `expectClose` on `count` entries of C picked by a seeded generator, each computed in float64 as a plain
 * dot product: the same oracle at a fraction of the cost, for layer-sized products.
 */
const expectCloseSampled = (got: Float32Array, g: GemmCase, count = 300): void => {
  const { transA, transB, m, n, k, alpha, beta, a, b, c } = g;
  const rng = seedrandom(`sample ${m} ${n} ${k}`);
  for (let s = 0; s < count; s++) {
    const [i, j] = [Math.floor(rng() * m), Math.floor(rng() * n)];
    let [dot, mag] = [0, 0];
    for (let p = 0; p < k; p++) {
      const x = a[transA ? p * m + i : i * k + p]! * b[transB ? j * k + p : p * n + j]!;
      dot += x;
      mag += Math.abs(x);
    }
    const want = alpha * dot + (beta === 0 ? 0 : beta * c[i * n + j]!);
    const scale = Math.abs(alpha) * mag + (beta === 0 ? 0 : Math.abs(beta * c[i * n + j]!));
    const err = Math.abs(got[i * n + j]! - want);
    if (!(err <= 1e-5 * scale + 1e-35)) expect.fail(`C[${i}, ${j}]: native ${got[i * n + j]} vs float64 ${want} (error ${err}, scale ${scale})`);
  }
};


describe('the native backend picks its GEMM library', () => {
  it('the addon is built and loads (CI installs libdnnl-dev and libopenblas-dev and npm ci builds it)', () => {
    const b = createNativeBackend({ threads: 1 });
    expect(E.isLeft(b) ? formatError(b.left) : 'loaded').toBe('loaded');
    if (E.isRight(b)) {
      expect(b.right.name).toBe('native');
      expect(b.right.description).toMatch(/oneDNN|OpenBLAS/);
    }
  });

  it('uses oneDNN when the build linked it, else OpenBLAS, and names it in its description', () => {
    const { addon } = orThrowAddon();
    expect(LIBRARIES.length).toBeGreaterThan(0);
    expect(LIBRARIES[0]).toBe(LIBRARIES.includes('onednn') ? 'onednn' : 'openblas');
    const b = native(1);
    expect(b.description).toContain(addon.gemmInfo(LIBRARIES[0]!));
    expect(b.description).toMatch(LIBRARIES[0] === 'onednn' ? /^native: oneDNN \d+\.\d+\.\d+ dnnl_sgemm/ : /^native: OpenBLAS .* cblas_sgemm/);
    b.dispose();
  });

  it('is a Left naming the library when asked for one the build did not link', () => {
    const { addon } = orThrowAddon();
    expect(() => addon.createBackend(1, DEFAULT_NATIVE_TUNING, 'mkl' as GemmLibrary)).toThrow(/linked GEMM libraries/);
    const missing = (['onednn', 'openblas'] as const).find((l) => !LIBRARIES.includes(l));
    if (missing !== undefined) {
      const b = createNativeBackend({ threads: 1, gemmLibrary: missing });
      expect(E.isLeft(b) && b.left.message).toMatch(new RegExp(`without ${missing}`));
    }
  });

  it('starts no threads of its own library: a 1-thread backend computes a layer-sized product on the calling thread alone', () => {
    const before = threadsNow();
    for (const lib of LIBRARIES) {
      const be = native(1, nativeTuningFor, lib);
      const c = new Float32Array(128 * 1000);
      be.gemm(false, true, 128, 1000, 784, 1, seeded(128 * 784, 1), seeded(1000 * 784, 2), 0, c);
      be.gemm(true, false, 1000, 784, 128, 1, seeded(128 * 1000, 3), seeded(128 * 784, 4), 0, new Float32Array(1000 * 784));
      be.dispose();
    }
    if (before !== undefined) expect(threadsNow()).toBe(before);
  });
});

describe.each(LIBRARIES)('native backend on %s through Node-API', (library) => {
  const one = native(1, nativeTuningFor, library);

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

  test.prop([arbBias], { numRuns: 300 })(
    'biasActivationRange writes the bits of biasActivation and the absRange of what it wrote (NaN, infinities, zeros included)',
    ({ rows, cols, act, z, bias }) => {
      const out = new Float32Array(rows * cols);
      const range = new Float64Array([7, 7]);
      one.biasActivationRange!(z, bias, rows, cols, act, out, range);
      const plain = new Float32Array(rows * cols);
      one.biasActivation(z, bias, rows, cols, act, plain);
      expect(sameBits(out, plain)).toBe(true);
      const want = absRange(out, new Float64Array(2));
      expect([Object.is(range[0], want[0]) || range[0] === want[0], Object.is(range[1], want[1]) || range[1] === want[1]]).toEqual([true, true]);
      expect(() => one.biasActivationRange!(z, bias, rows, cols, act, out, new Float64Array(1))).toThrow(TypeError);
    },
  );

  test.prop(
    [fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 1100 })).chain(([rows, cols]) => fc.tuple(fc.constant(rows), fc.constant(cols), fc.float32Array({ minLength: rows * cols, maxLength: rows * cols })))],
    { numRuns: 150 },
  )('columnSums gives the bits of columnSumsInto (double accumulators, rows in order; NaN and infinities included)', ([rows, cols, x]) => {
    const want = new Float32Array(cols);
    columnSumsInto(x, rows, cols, want);
    const got = new Float32Array(cols).fill(7);
    one.columnSums!(x, rows, cols, got);
    expect(sameBits(got, want)).toBe(true);
  });

  test.prop(
    [fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 8 })).chain(([size, pool]) => fc.tuple(fc.constant(size), fc.uint8Array({ minLength: size * pool, maxLength: size * pool }), fc.array(fc.nat({ max: pool - 1 }), { maxLength: 9 })))],
    { numRuns: 150 },
  )('scaledGather gives the bits of toBatch\'s inputs, and refuses a row past the end of src', ([size, src, rows]) => {
    const examples = rows.map((r) => ({ index: r, label: 0, image: src.subarray(r * size, (r + 1) * size) }));
    const want = toBatch(examples, 1).inputs.data;
    const got = new Float32Array(rows.length * size).fill(7);
    one.scaledGather!(src, Uint32Array.from(rows, (r) => r * size), size, got);
    expect(sameBits(got, want)).toBe(true);
    expect(() => one.scaledGather!(src, Uint32Array.of(src.length - size + 1), size, new Float32Array(size))).toThrow(RangeError);
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

});

describe('native backend options', () => {
  it('createNativeBackend rejects a thread count that is not an integer from 1 to 64 (MAX_THREADS), naming the threads field', () => {
    for (const threads of [0, -1, 1.5, 65, 257, Number.NaN]) {
      const b = createNativeBackend({ threads });
      expect(E.isLeft(b) && b.left._tag === 'OptionError' && b.left.where === 'threads').toBe(true);
    }
    const two = createNativeBackend({ threads: 2 });
    expect(E.map((b: Backend) => b.threads)(two)).toEqual(E.right(2));
    expect(E.map((b: Backend) => b.description)(two)).toEqual(E.right(expect.stringMatching(/2 threads \(same bits for any thread count\)$/)));
    if (E.isRight(two)) two.right.dispose();
  });
});

describe.each(LIBRARIES)('native GEMM on %s: the same bits on any thread count', (library) => {
  const { addon } = orThrowAddon();
  const cut = [1, 2, 3].map((t) => native(t, SPLIT_ALL, library));
  const [one, two] = [native(1, nativeTuningFor, library), native(2, nativeTuningFor, library)];
  afterAll(() => [...cut, one, two].forEach((b) => b.dispose()));

  test.prop([arbGemm(fc.oneof(small, edge))], { numRuns: 300 })(
    'should respect the law: cut into blocks of one row or column, 1, 2 and 3 threads give the same bits, close to the float64 reference',
    (g) => {
      const [c1, c2, c3] = cut.map((be) => runNative(be, g));
      expect(sameBits(c1!, c2!) && sameBits(c1!, c3!)).toBe(true);
      const { want, scale } = oracle(g);
      expectClose(c1!, want, scale);
    },
  );

  // Shapes large enough to be cut at the default tuning (up to ~50 MFLOP each, hence fewer runs), filled
  // from a seed: fast-check would spend seconds building arrays this long.
  const medium = fc
    .tuple(fc.boolean(), fc.boolean(), fc.integer({ min: 40, max: 300 }), fc.integer({ min: 40, max: 300 }), fc.integer({ min: 100, max: 300 }), scalar, scalar, fc.nat())
    .map(([transA, transB, m, n, k, alpha, beta, seed]): GemmCase => ({
      transA, transB, m, n, k, alpha, beta, a: seeded(m * k, seed), b: seeded(k * n, seed + 1), c: seeded(m * n, seed + 2),
    }));
  test.prop([medium], { numRuns: 40 })(
    'should respect the law: at the default tuning, 1 and 2 threads give the same bits on products large enough to be cut',
    (g) => {
      const c1 = runNative(one, g);
      expect(sameBits(c1, runNative(two, g))).toBe(true);
      expectCloseSampled(c1, g);
    },
  );

  it('cuts the GEMMs of a 784-1000-10 network into blocks and gives the same bits on 1 and 2 threads', () => {
    const h = addon.createBackend(1, DEFAULT_NATIVE_TUNING, library);
    for (const [transA, transB, m, n, k, isCut] of [
      [false, true, 128, 1000, 784, true], // forward, batch 128
      [true, false, 1000, 784, 128, true], // weight gradient, batch 128
      [false, true, 32, 1000, 784, true],
      [true, false, 1000, 784, 32, true],
      [false, false, 32, 784, 1000, true], // delta through the first layer
      [false, true, 128, 10, 1000, true], // output layer: cut under OpenBLAS's small-matrix bound, on the calling thread
      [true, false, 10, 1000, 128, true], // its weight gradient, likewise
      [false, false, 128, 1000, 10, false], // delta through the output layer: k too short to cut
      [false, true, 32, 10, 1000, false], // small: one block
    ] as const) {
      expect(addon.gemmBlocks(h, m, n, k).blocks > 1).toBe(isCut);
      const g: GemmCase = { transA, transB, m, n, k, alpha: 1, beta: 0, a: seeded(m * k, m + k), b: seeded(k * n, n + k), c: new Float32Array(m * n) };
      const c1 = runNative(one, g);
      expect(sameBits(c1, runNative(two, g))).toBe(true);
      expectCloseSampled(c1, g);
    }
    addon.dispose(h);
  });

  // The six products of a 784-1000-10 training step (forward, weight gradient and delta of each layer) at
  // batch 32 and 128, each with all four transpose combinations.
  it('should respect the law: every GEMM shape of a training step, any transposes, gives the same bits on 1 and 2 threads, close to the float64 reference', () => {
    for (const batch of [32, 128]) {
      for (const [m, n, k] of [
        [batch, 1000, 784], [batch, 10, 1000], // forward
        [1000, 784, batch], [10, 1000, batch], // weight gradients
        [batch, 784, 1000], [batch, 1000, 10], // deltas
      ] as const) {
        for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
          const g: GemmCase = { transA, transB, m, n, k, alpha: 1, beta: 0, a: seeded(m * k, m + 3 * k), b: seeded(k * n, n + 5 * k), c: new Float32Array(m * n) };
          const c1 = runNative(one, g);
          expect(sameBits(c1, runNative(two, g)), `${library} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${m}x${n}x${k}`).toBe(true);
          expectCloseSampled(c1, g, 100);
        }
      }
    }
  });
});

describe.each(LIBRARIES)('native GEMM on %s: small products cut under the small-matrix bound, run on the calling thread', (library) => {
  const { addon } = orThrowAddon();
  // Every product up to 4 x 60 flops is cut into blocks of at most 60 flops (when k >= 2); up to 120 flops
  // they run on the calling thread, above on the pool: both paths, and the edge between them, get hit.
  const SMALL: NativeTuning = { ...DEFAULT_NATIVE_TUNING, gemmBlockFlops: 1e12, rowUnit: 1, colUnit: 1, smallBlockFlops: 60, smallMinK: 2, serialFlops: 120 };
  const backends = [1, 2, 3].map((t) => native(t, SMALL, library));
  const whole = native(1, { ...SMALL, smallBlockFlops: 0 }, library);
  afterAll(() => [...backends, whole].forEach((b) => b.dispose()));

  test.prop([arbGemm(fc.oneof(small, edge))], { numRuns: 300 })(
    'should respect the law: 1, 2 and 3 threads give the same bits, close to the float64 reference',
    (g) => {
      const [c1, c2, c3] = backends.map((be) => runNative(be, g));
      expect(sameBits(c1!, c2!) && sameBits(c1!, c3!)).toBe(true);
      const { want, scale } = oracle(g);
      expectClose(c1!, want, scale);
    },
  );

  test.prop([fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 })], { numRuns: 200 })(
    'should respect the law: ceil(flops / smallBlockFlops) blocks (at most maxBlocks and the extent), serial up to serialFlops',
    (m, n, k) => {
      const h = addon.createBackend(2, SMALL, library);
      const flops = 2 * m * n * k;
      const { blocks, serial } = addon.gemmBlocks(h, m, n, k);
      addon.dispose(h);
      const extent = Math.max(m, n);
      const want = k < 2 || flops > 4 * 60 ? 1 : Math.min(Math.ceil(flops / 60), 4, extent);
      expect([blocks, serial]).toEqual([Math.max(1, want), flops <= 120]);
    },
  );

  it('cuts the skinny products of a 784-1000-10 network at batch 128 and 256 and keeps their bits on 1 and 2 threads', () => {
    const [one, two] = [1, 2].map((t) => native(t, DEFAULT_NATIVE_TUNING, library));
    for (const [transA, transB, m, n, k] of [
      [false, true, 128, 10, 1000],
      [true, false, 10, 1000, 128],
      [false, true, 256, 10, 1000],
      [true, false, 10, 1000, 256],
    ] as const) {
      const g: GemmCase = { transA, transB, m, n, k, alpha: 1, beta: 0, a: seeded(m * k, m + k), b: seeded(k * n, n + k), c: new Float32Array(m * n) };
      const c1 = runNative(one!, g);
      expect(sameBits(c1, runNative(two!, g))).toBe(true);
      expectCloseSampled(c1, g);
    }
    [one, two].forEach((b) => b!.dispose());
  });
});

/** The addon itself (the backend wraps it); throws with the loader's reason when it is missing. */
function orThrowAddon() {
  const r = loadAddon();
  if (E.isLeft(r)) throw new Error(`native addon unavailable: ${formatError(r.left)}`);
  return r.right;
}

type Rule = 'sgd' | 'momentum' | 'nesterov' | 'adam';

// Values of training-like size, or (special) anything at all: NaN, infinities, signed zeros, subnormals.
const tensorOf = (length: number, special: boolean) =>
  fc.array(special ? fc.float() : fc.float({ min: -4, max: 4, noNaN: true }), { minLength: length, maxLength: length }).map((xs) => Float32Array.from(xs));
const rate = (max: number) => fc.double({ min: 0, max, noNaN: true });

const arbUpdate = (maxLength: number): fc.Arbitrary<UpdateCase> =>
  fc
    .record({
      rule: fc.constantFrom<Rule>('sgd', 'momentum', 'nesterov', 'adam'),
      length: fc.integer({ min: 0, max: maxLength }),
      special: fc.boolean(),
      clip: fc.oneof(fc.constant(1), fc.double({ min: 1e-3, max: 1, noNaN: true })),
      decay: fc.oneof(fc.constant(0), rate(0.1)),
      lr: fc.oneof(fc.constant(0), rate(1)),
      mu: rate(0.999),
      b1: rate(0.999),
      b2: rate(0.9999),
      t: fc.integer({ min: 1, max: 1000 }),
      eps: fc.double({ min: 1e-10, max: 1e-3, noNaN: true }),
    })
    .chain(({ length, special, ...p }) =>
      fc
        .tuple(tensorOf(length, special), tensorOf(length, special), tensorOf(length, special), tensorOf(length, special))
        // a second moment is never negative unless anything goes
        .map(([w, g, v, s]) => ({ ...p, w, g, v, s: special ? s : s.map(Math.abs) })),
    );


const TS_UPDATES: OptimizerUpdates = { sgd: sgdUpdate, momentum: momentumUpdate, adam: adamUpdate };

/** Object.is on the check and on every element: every bit, except that one NaN equals another. */
const expectSameUpdate = (got: ReturnType<typeof applyUpdate>, want: ReturnType<typeof applyUpdate>, label: string): void => {
  if (!Object.is(got.check, want.check)) expect.fail(`${label}: check ${got.check} vs TypeScript ${want.check}`);
  for (const key of ['w2', 'v2', 's2'] as const) {
    const [x, y] = [got[key], want[key]];
    for (let i = 0; i < y.length; i++) {
      if (!Object.is(x[i], y[i])) expect.fail(`${label}: ${key}[${i}] is ${x[i]}, the TypeScript loop gives ${y[i]}`);
    }
  }
};

describe('native optimiser updates: the bits of the TypeScript loops on any thread count', () => {
  const backends = [native(1), native(2), native(2, SPLIT_ALL), native(3, SPLIT_ALL)];
  const labels = ['1 thread', '2 threads', '2 threads, chunks of one check block', '3 threads, chunks of one check block'];
  afterAll(() => backends.forEach((b) => b.dispose()));

  test.prop([arbUpdate(120)], { numRuns: 300 })(
    'should respect the law: parameters, moments and check equal src/optim/kernels.ts, whatever the threads and chunks',
    (c) => {
      const want = applyUpdate(TS_UPDATES, c);
      backends.forEach((be, i) => expectSameUpdate(applyUpdate(be.optimizerUpdates!, c), want, `${c.rule}, ${labels[i]}`));
    },
  );

  test.prop([arbUpdate(40)], { numRuns: 200 })(
    'should respect the law: a non-finite parameter or gradient makes the check NaN',
    (c) => {
      const nonFinite = [...c.w, ...c.g].some((x) => !Number.isFinite(x));
      for (const be of backends) expect(Number.isNaN(applyUpdate(be.optimizerUpdates!, c).check) || !nonFinite).toBe(true);
    },
  );

  it('updates a tensor longer than a chunk on 2 threads with the bits of the TypeScript loops, check included', () => {
    const n = 3 * DEFAULT_NATIVE_TUNING.updateChunk + 17;
    const base = { w: seeded(n, 11), g: seeded(n, 12), v: seeded(n, 13), s: seeded(n, 14).map(Math.abs) };
    const hyper = { clip: 0.75, decay: 1e-4, lr: 0.01, mu: 0.9, b1: 0.9, b2: 0.999, t: 7, eps: 1e-8 };
    for (const rule of ['sgd', 'momentum', 'nesterov', 'adam'] as const) {
      const c: UpdateCase = { rule, ...base, ...hyper };
      expectSameUpdate(applyUpdate(backends[1]!.optimizerUpdates!, c), applyUpdate(TS_UPDATES, c), `${rule}, ${n} values`);
      const g = base.g.slice();
      g[n - 5] = Number.POSITIVE_INFINITY; // in the last chunk, far from the check's start
      const bad = applyUpdate(backends[1]!.optimizerUpdates!, { ...c, g });
      expect(Number.isNaN(bad.check)).toBe(true);
      expectSameUpdate(bad, applyUpdate(TS_UPDATES, { ...c, g }), `${rule} with an infinite gradient`);
    }
  });

  // The check's sum of squares is summed per block of CHECK_BLOCK, each block by eight lanes (update.c, the
  // order of kernels.ts sumSquares): gradients with full mantissas, few significant bits, sudden jumps across
  // binades or exponents far apart, some turning non-finite, at lengths that end anywhere in a block of eight
  // and in the first, second or third block of the check.
  const gradientOf = (kind: number, length: number, seed: number): Float32Array => {
    const rng = seedrandom(`check ${seed}`);
    const bits = 1 + Math.floor(rng() * 24);
    const scale = 2 ** (Math.floor(rng() * 40) - 20);
    const g = Float32Array.from({ length }, () => {
      const u = rng() - 0.5;
      if (kind === 0) return u * scale; // full mantissas
      if (kind === 1) return (Math.round(u * 2 ** bits) / 2 ** bits) * scale; // few significant bits
      if (kind === 2) return rng() < 0.01 ? u * 1e6 * scale : u * scale; // sudden jumps across binades
      return u * Math.exp(u * 60); // exponents far apart
    });
    if (kind === 3 && rng() < 0.3) g[Math.floor(rng() * length)] = rng() < 0.5 ? Number.NaN : Number.POSITIVE_INFINITY;
    return g;
  };
  test.prop([fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 * CHECK_BLOCK }), fc.nat()], { numRuns: 120 })(
    'should respect the law: the check is sumSquares(g) of src/optim/kernels.ts, bit for bit, across blocks',
    (kind, length, seed) => {
      const g = gradientOf(kind, length, seed);
      const w = new Float32Array(length);
      const want = sgdUpdate(w, g, 1, 0, 0, new Float32Array(length));
      for (const be of backends.slice(0, 2)) expect(Object.is(be.optimizerUpdates!.sgd(w, g, 1, 0, 0, new Float32Array(length)), want)).toBe(true);
    },
  );

  it('gives the check and the parameters of src/optim/kernels.ts past 256 blocks of the check (update.c keeps their sums on the heap there)', () => {
    const length = 257 * CHECK_BLOCK + 5;
    const g = gradientOf(0, length, 7);
    const w = gradientOf(1, length, 8);
    const want = new Float32Array(length);
    const check = sgdUpdate(w, g, 1, 0.01, 0.1, want);
    for (const be of backends.slice(0, 2)) {
      const got = new Float32Array(length);
      expect(Object.is(be.optimizerUpdates!.sgd(w, g, 1, 0.01, 0.1, got), check)).toBe(true);
      expect(sameBits(got, want)).toBe(true);
    }
  });

  it('rejects short or overlapping buffers as programmer errors', () => {
    const u = backends[0]!.optimizerUpdates!;
    const w = new Float32Array(8);
    expect(() => u.sgd(w, new Float32Array(7), 1, 0, 0.1, new Float32Array(8))).toThrow(/g has 7 values, needs 8/);
    expect(() => u.sgd(w, new Float32Array(8), 1, 0, 0.1, w)).toThrow(/must not share memory/);
    const buf = new Float32Array(16);
    expect(() => u.momentum(w, new Float32Array(8), new Float32Array(8), 1, 0, 0.1, 0.9, false, buf.subarray(0, 8), buf.subarray(4, 12))).toThrow(/must not share memory/);
  });
});

/** Threads of this process, from /proc (Linux); undefined elsewhere. */
const threadsNow = (): number | undefined => {
  if (!existsSync('/proc/self/status')) return undefined;
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : undefined;
};

describe('native threads: started once, joined by dispose(), never in the way of exiting', () => {
  it('dispose() joins the threads; the backend then refuses work; a second dispose() is harmless', () => {
    const before = threadsNow();
    const be = native(4);
    const during = threadsNow();
    const c = new Float32Array(4);
    be.gemm(false, false, 2, 2, 2, 1, seeded(4, 1), seeded(4, 2), 0, c);
    be.dispose();
    const after = threadsNow();
    if (before !== undefined) expect([during! - before, after! - before]).toEqual([3, 0]);
    expect(() => be.gemm(false, false, 2, 2, 2, 1, seeded(4, 1), seeded(4, 2), 0, c)).toThrow(/used after dispose/);
    expect(() => be.optimizerUpdates!.sgd(c, c.slice(), 1, 0, 0.1, new Float32Array(4))).toThrow(/used after dispose/);
    expect(() => be.dispose()).not.toThrow();
  });

  // Each mode runs in a child process: `ends` lets the event loop run dry, `exits` calls process.exit,
  // `collects` drops handles for the garbage collector (their threads must go), `worker` uses the addon in a
  // worker thread that ends (Node tears its environment down). None calls dispose().
  const child = (mode: string): string => {
    const { path } = orThrowAddon();
    const script = `
      const addon = require(${JSON.stringify(path)});
      const tuning = ${JSON.stringify(DEFAULT_NATIVE_TUNING)};
      const library = addon.gemmLibraries()[0];
      const fs = require('node:fs');
      const threads = () => fs.existsSync('/proc/self/status') ? Number(/^Threads:\\s+(\\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) : 0;
      const work = (h) => {
        const [m, n, k] = [128, 1000, 784];
        const c = new Float32Array(m * n);
        addon.sgemm(h, false, true, m, n, k, 1, new Float32Array(m * k).fill(0.5), new Float32Array(k * n).fill(0.25), 0, c);
        if (c[m * n - 1] !== 98) throw new Error('wrong product ' + c[m * n - 1]);
        const w = new Float32Array(100000).fill(1);
        if (addon.sgdUpdate(h, w, w.slice(), 1, 0, 0.5, new Float32Array(w.length)) !== 100000) throw new Error('wrong check');
      };
      const mode = process.argv[1];
      if (mode === 'worker') {
        const { Worker } = require('node:worker_threads');
        const src = 'const addon = require(' + JSON.stringify(${JSON.stringify(path)}) + '); (' + work.toString() + ')(addon.createBackend(3, ' + JSON.stringify(tuning) + ', ' + JSON.stringify(library) + '));';
        const before = threads();
        new Worker(src, { eval: true }).on('exit', (code) => setTimeout(() => console.log('ok', code, threads() - before), 50));
      } else if (mode === 'collects') {
        const before = threads();
        let handles = Array.from({ length: 8 }, () => addon.createBackend(3, tuning, library));
        handles.forEach(work);
        const grown = threads() - before;
        handles = undefined;
        const settle = (left) => { global.gc(); if (left > 0 && threads() > before) setTimeout(() => settle(left - 1), 20); else console.log('ok', grown, threads() - before); };
        settle(50);
      } else {
        work(addon.createBackend(2, tuning, library));
        console.log('ok');
        if (mode === 'exits') process.exit(0);
      }`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script, mode], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    return r.stdout.trim();
  };

  it('a process exits when its event loop ends, or when it calls process.exit, without dispose()', () => {
    expect(child('ends')).toBe('ok');
    expect(child('exits')).toBe('ok');
  });

  it('collecting a backend joins its threads', () => {
    const [ok, grown, left] = child('collects').split(' ');
    expect(ok).toBe('ok');
    if (threadsNow() !== undefined) expect([Number(grown), Number(left)]).toEqual([16, 0]);
  });

  it('a worker thread that used the addon ends, its threads with it', () => {
    const [ok, code, left] = child('worker').split(' ');
    expect([ok, code]).toEqual(['ok', '0']);
    if (threadsNow() !== undefined) expect(Number(left)).toBe(0);
  });
});

/*
 * A signal handled on the thread that is inside a GEMM (the CLI's SIGINT/SIGTERM, for one) must change nothing.
 * Debian's oneDNN 2.6.3 sgemm returned wrong values or corrupted the heap within a second of this (gemm.c), so
 * the addon blocks signals around its calls. The child computes the products of a step whose kernels were
 * hit, on the calling thread, while a worker thread signals the process (the main thread takes them) as
 * fast as it can; every result must have the bits of the first, computed before any signal.
 */
describe.each(LIBRARIES)('native GEMM on %s under a storm of signals', (library) => {
  it('gives the bits it gives without signals, and the process survives', () => {
    const { path } = orThrowAddon();
    const script = `
      const { Worker } = require('node:worker_threads');
      const addon = require(${JSON.stringify(path)});
      process.on('SIGUSR2', () => {});
      const h = addon.createBackend(1, ${JSON.stringify(nativeTuningFor(library))}, ${JSON.stringify(library)});
      const shapes = [[false, true, 16, 10, 1000], [true, false, 10, 1000, 128], [false, true, 128, 10, 1000], [true, false, 1000, 784, 128]];
      const cases = shapes.map(([ta, tb, m, n, k]) => {
        const a = new Float32Array(m * k).map((_, i) => ((i * 37) % 11) / 7 - 0.5);
        const b = new Float32Array(k * n).map((_, i) => ((i * 13) % 7) / 5 - 0.5);
        const c = new Float32Array(m * n);
        addon.sgemm(h, ta, tb, m, n, k, 1, a, b, 0, c);
        return { a, b, c, first: Buffer.from(c.slice().buffer) };
      });
      const storm = new Worker("const { parentPort } = require('node:worker_threads'); let on = true; parentPort.on('message', () => (on = false));" +
        "const burst = () => { for (let i = 0; i < 200; i++) process.kill(process.pid, 'SIGUSR2'); if (on) setImmediate(burst); }; burst();", { eval: true });
      storm.once('online', () => {
        const end = Date.now() + 2000;
        let calls = 0, differ = 0;
        while (Date.now() < end) shapes.forEach(([ta, tb, m, n, k], i) => {
          const x = cases[i];
          addon.sgemm(h, ta, tb, m, n, k, 1, x.a, x.b, 0, x.c);
          calls++;
          if (!Buffer.from(x.c.buffer).equals(x.first)) differ++;
        });
        storm.postMessage('stop');
        void storm.terminate().then(() => console.log(calls, differ));
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const [calls, differ] = r.stdout.trim().split(' ').map(Number);
    expect(calls).toBeGreaterThan(100);
    expect(differ).toBe(0);
  });
});

/** A batch of `rows` random 28x28 "images" with random labels of 10 classes. */
const randomBatch = (seed: number, rows: number, batchInEpoch: number): LabeledBatch => {
  const rng = seedrandom(`batch ${seed}`);
  const labels = Uint8Array.from({ length: rows }, () => Math.floor(rng() * 10));
  const targets = new Float32Array(rows * 10);
  labels.forEach((l, i) => (targets[i * 10 + l] = 1));
  return {
    inputs: matrix(rows, 784, Float32Array.from({ length: rows * 784 }, () => rng())),
    targets: matrix(rows, 10, targets),
    labels,
    indices: Uint32Array.from({ length: rows }, (_, i) => i),
    epoch: 0,
    batchInEpoch,
    lastInEpoch: false,
  };
};

const tensorsOf = (s: TrainState): Float32Array[] =>
  [s.network, s.optimizer.first, s.optimizer.second].flatMap((x) => (x === undefined ? [] : x.layers.flatMap((l) => [l.weight.data, l.bias])));

describe.each(LIBRARIES)('training on the native backend on %s', (library) => {
  // 784-512-10 at batch 64: every GEMM of the first layer is cut into blocks, every update into chunks.
  it('gives the same networks, optimiser states and gradient norms on 1 and 2 threads, and with the TypeScript update loops', () => {
    const [one, two] = [native(1, nativeTuningFor, library), native(2, nativeTuningFor, library)];
    const { optimizerUpdates, ...unfused } = one; // the same GEMMs, the TypeScript optimiser loops
    expect(optimizerUpdates).toBeDefined();
    const net = unwrap(initNetwork({ sizes: [784, 512, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 7));
    const batches = [0, 1, 2].map((i) => randomBatch(i, 64, i));
    for (const kind of OPTIMIZERS) {
      const opt = unwrap(optimizer({ kind, lr: kind === 'adam' ? 1e-3 : 0.05, weightDecay: 1e-4, clipNorm: 5 }));
      const [a, b, c] = [one, two, unfused].map((backend) =>
        batches.reduce(stepOnce({ loss: 'cross-entropy', optimizer: opt, backend }), initialTrainState(net, opt)),
      );
      expect([a!.step, a!.divergence]).toEqual([3, undefined]);
      for (const other of [b!, c!]) {
        const [x, y] = [tensorsOf(a!), tensorsOf(other)];
        expect(x.length).toBe(y.length);
        x.forEach((t, i) => expect(sameBits(t, y[i]!), `${kind}: tensor ${i}`).toBe(true));
        expect(other.recent.map((m) => m.gradientNorm)).toEqual(a!.recent.map((m) => m.gradientNorm));
      }
    }
    [one, two].forEach((be) => be.dispose());
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

  it('is a Left naming the failed trial run, without loading it here, when it is not an addon', () => {
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file');
    const r = loadAddon([bogus]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/bogus\.node failed its trial run in a child process: .*bogus\.node: file too short \(exit 1\)/);
  });
});

describe('native GEMM zero skipping (zgemm.c)', () => {
  const always = (lib: GemmLibrary) => ({ ...nativeTuningFor(lib), zeroSkipDensity: 1 });
  const skipping = [native(1, always), native(2, always), native(3, { ...always('onednn'), spinMicroseconds: 0 })];
  const narrow = native(2, (lib) => ({ ...always(lib), zeroSkipLanes: 8 }));
  const library = native(2, (lib) => ({ ...nativeTuningFor(lib), zeroSkipDensity: 0 }));
  const byDefault = native(2);
  afterAll(() => [...skipping, narrow, library, byDefault].forEach((b) => b.dispose()));

  /** A product of at least 4 MFLOP (smaller ones stay with the library) whose operands are mostly zeros. */
  const sparseCase = (seed: number, specials: boolean): GemmCase => {
    const rng = seedrandom(`zgemm ${seed}`);
    // the sparse operand is the smaller one, A (computed as it is) or B (computed as C^T, zgemm.c)
    // small / 6 row panels against large / 32 (or / 16) column panels: either side may have more, so the
    // tiles run by rows or by columns (zgemm.c packs the right panels inside the compute tasks then)
    const [small, k] = [20 + Math.floor(rng() * 80), 340 + Math.floor(rng() * 160)];
    const large = Math.max(120 + Math.floor(rng() * 360), Math.ceil(4.1e6 / (2 * small * k))); // 2 m n k >= 4.1e6
    const sparseA = rng() < 0.5;
    const [m, n] = sparseA ? [small, large] : [large, small];
    const [transA, transB] = [rng() < 0.5, rng() < 0.5];
    const zeros = rng();
    const entry = (): number => {
      const u = rng();
      if (specials && u < 0.002) return [Number.NaN, Infinity, -Infinity][Math.floor(rng() * 3)]!;
      return u < zeros ? (rng() < 0.2 ? -0 : 0) : (rng() - 0.5) * 8;
    };
    const other = (): number => (rng() < 0.3 ? 0 : rng() - 0.5);
    const a = Float32Array.from({ length: m * k }, sparseA ? entry : other);
    const b = Float32Array.from({ length: k * n }, sparseA ? other : entry);
    const dense = sparseA ? b : a;
    if (specials && rng() < 0.5) dense[Math.floor(rng() * dense.length)] = Infinity;
    const [alpha, beta] = [[1, 0.5, -3][Math.floor(rng() * 3)]!, [0, 1, -0.25][Math.floor(rng() * 3)]!];
    return { transA, transB, m, n, k, alpha, beta, a, b, c: seeded(m * n, seed) };
  };

  test.prop([fc.nat()], { numRuns: 25 })(
    'should respect the law: skipping zeros gives the same bits on 1, 2 and 3 threads, close to the float64 reference',
    (seed) => {
      const g = sparseCase(seed, false);
      const got = skipping.map((be) => runNative(be, g));
      expect(sameBits(got[1]!, got[0]!) && sameBits(got[2]!, got[0]!)).toBe(true);
      const { want, scale } = oracle(g);
      expectClose(got[0]!, want, scale, 'native, zeros skipped');
    },
  );

  test.prop([fc.nat()], { numRuns: 25 })(
    'should respect the law: AVX2 and AVX-512 tiles (where the CPU has it) give the same bits',
    (seed) => {
      const g = sparseCase(seed, false);
      expect(sameBits(runNative(narrow, g), runNative(skipping[1]!, g))).toBe(true);
    },
  );

  test.prop([fc.nat()], { numRuns: 25 })(
    'should respect the law: with NaN and infinities among the zeros, an element is NaN exactly where the library gives NaN',
    (seed) => {
      const g = sparseCase(seed, true);
      const got = runNative(skipping[1]!, g);
      const lib = runNative(library, g);
      for (let i = 0; i < got.length; i++) {
        if (Number.isNaN(got[i]) !== Number.isNaN(lib[i])) expect.fail(`element ${i}: ${got[i]} skipping zeros, ${lib[i]} from the library`);
      }
    },
  );

  it('leaves dense operands to the library (the same bits), and skips the zeros of MNIST-like inputs by default', () => {
    const dense: GemmCase = { transA: false, transB: true, m: 64, n: 200, k: 784, alpha: 1, beta: 0, a: seeded(64 * 784, 1), b: seeded(200 * 784, 2), c: new Float32Array(64 * 200) };
    expect(sameBits(runNative(byDefault, dense), runNative(library, dense))).toBe(true);
    const rng = seedrandom('pixels');
    const pixels = Float32Array.from({ length: 64 * 784 }, (_, i) => (i % 784 < 120 || rng() < 0.8 ? 0 : rng()));
    const sparse: GemmCase = { ...dense, a: pixels };
    expect(sameBits(runNative(byDefault, sparse), runNative(skipping[0]!, sparse))).toBe(true);
    expect(sameBits(runNative(byDefault, sparse), runNative(library, sparse))).toBe(false);
  });
});
