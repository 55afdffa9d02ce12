/**
 * The wasm backend against independent oracles: GEMM against the float64 TypeScript reference (gemmTs on
 * Float64Array copies), the element-wise kernels against src/tensor/kernels.ts; and its determinism law,
 * the same bits for 1 and 2 threads.
 *
 * `split` offers every job, however small, to both threads, so the partitioning is exercised on edge shapes;
 * `sleepy` and `three` do so without polling first and with more threads than cores, so workers join jobs
 * late, or not at all, at random. These tests need `npm run build:wasm` (npm ci runs it); without
 * it they fail with the loader's message.
 */
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import seedrandom from 'seedrandom';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError } from '../../src/errors.js';
import type { Backend } from '../../src/tensor/backend.js';
import { activationBackward, biasActivation, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { gemmTs } from '../../src/tensor/ts.js';
import { createTunedWasmBackend, createWasmBackend, DEFAULT_TUNING } from '../../src/tensor/wasm/index.js';
import { loadWasmModule } from '../../src/tensor/wasm/module.js';
import { startPool } from '../../src/tensor/wasm/pool.js';

const made: Backend[] = [];
const wasm = async (threads: number, forceSplit = false, spin = DEFAULT_TUNING.spin): Promise<Backend> => {
  const tuning = forceSplit ? { ...DEFAULT_TUNING, parallelGemmFlops: 0, parallelElements: 0, spin } : DEFAULT_TUNING;
  const b = await createTunedWasmBackend({ threads }, tuning);
  if (E.isLeft(b)) throw new Error(`wasm backend unavailable: ${formatError(b.left)}`);
  made.push(b.right);
  return b.right;
};
afterAll(() => made.forEach((b) => b.dispose()));

const one = await wasm(1);
const split = await wasm(2, true);
const two = await wasm(2);
// No polling before sleeping (every wait goes through Atomics.wait), and more threads than this machine's
// cores: workers join jobs late or not at all, and the result must not change.
const sleepy = await wasm(2, true, 0);
const three = await wasm(3, true, 0);
// Jobs on 1 thread and on 2 in turn, workers sleeping in between: a worker woken by one job may come in
// while the next, a calling-thread-only one, runs; it must not take part in it.
const mixedTuning = { ...DEFAULT_TUNING, parallelGemmFlops: 100_000, spin: 0 };
const mixedBackend = await createTunedWasmBackend({ threads: 2 }, mixedTuning);
if (E.isLeft(mixedBackend)) throw new Error(formatError(mixedBackend.left));
const mixed = mixedBackend.right;
made.push(mixed);

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
const scalar = fc.oneof(fc.constantFrom(0, 1, -1, 0.5, 2), value.map(Math.fround));
const f32 = (len: number) => fc.array(value, { minLength: len, maxLength: len }).map((xs) => Float32Array.from(xs));

const arbGemm = (dims: fc.Arbitrary<readonly [number, number, number]>): fc.Arbitrary<GemmCase> =>
  fc
    .tuple(fc.boolean(), fc.boolean(), dims, scalar, scalar)
    .chain(([transA, transB, [m, n, k], alpha, beta]) =>
      fc.tuple(f32(m * k), f32(k * n), f32(m * n)).map(([a, b, c]) => ({ transA, transB, m, n, k, alpha, beta, a, b, c })),
    );

// Up to 3 row panels (MR = 4) and 3 column panels (NR = 8) with ragged edges, k across the 4-wide packing.
const small = fc.tuple(fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 11 }));
// 1xN, Nx1, k = 1 and 0-sized shapes.
const edge = fc.oneof(
  fc.integer({ min: 1, max: 33 }).map((n) => [1, n, 5] as const),
  fc.integer({ min: 1, max: 17 }).map((m) => [m, 1, 5] as const),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 17 })).map(([m, n]) => [m, n, 1] as const),
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
      expect.fail(`element ${i}: wasm ${got[i]} vs float64 ${want[i]} (error ${err}, scale ${scale[i]})`);
    }
  }
};

const run = (backend: Backend, g: GemmCase): Float32Array => {
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

describe('wasm backend: gemm', () => {
  it('is built and loads, and describes itself', () => {
    expect(one.name).toBe('wasm');
    expect([one.threads, two.threads]).toEqual([1, 2]);
    expect(two.description).toMatch(/^wasm: WebAssembly SIMD, 2 threads/);
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

describe('wasm backend: element-wise kernels', () => {
  // Moderate magnitudes (sums cannot overflow float32, where the float64 reference would not), the whole
  // range where sigmoid and tanh bend or saturate, and the special values.
  const elem = fc.oneof(
    { weight: 8, arbitrary: fc.float({ min: -100, max: 100, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 1e30, -1e30, 1e-40) },
  );
  const arr = (len: number) => fc.array(elem, { minLength: len, maxLength: len }).map((xs) => Float32Array.from(xs));
  const arbBias = fc
    .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 13 }), fc.constantFrom(...ACTS))
    .chain(([rows, cols, act]) => fc.tuple(arr(rows * cols), arr(cols)).map(([z, bias]) => ({ rows, cols, act, z, bias })));

  /**
   * Exact for identity and relu. Leaky-relu within 2 float32 ulps (the reference scales the float64 sum);
   * sigmoid and tanh within 1e-6 relative (their own exp polynomial) plus what rounding the pre-activation
   * v = z + bias to float32 moves them by (at most 2^-24 |v| relative); both with an absolute floor of 1e-37
   * for results below float32's normal range (flushed or subnormal).
   */
  const expectKernelClose = (act: PointwiseActivation, got: Float32Array, want: Float32Array, pre: (i: number) => number): void => {
    for (let i = 0; i < got.length; i++) {
      const [g, w] = [got[i]!, want[i]!];
      const smooth = (1e-6 + 2 ** -24 * Math.abs(pre(i))) * Math.abs(w) + 1e-37;
      const tol = act === 'identity' || act === 'relu' ? 0 : act === 'leaky-relu' ? 2 ** -22 * Math.abs(w) + 1e-37 : smooth;
      const ok = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || Math.abs(g - w) <= tol;
      if (!ok) expect.fail(`${act} element ${i}: wasm ${g} vs reference ${w} (pre-activation ${pre(i)})`);
    }
  };

  test.prop([arbBias], { numRuns: 300 })('biasActivation agrees with the reference kernel, in place or not, on 1 and 2 threads', ({ rows, cols, act, z, bias }) => {
    const want = new Float32Array(rows * cols);
    biasActivation(z, bias, rows, cols, act, want);
    const out1 = new Float32Array(rows * cols);
    one.biasActivation(z, bias, rows, cols, act, out1);
    expectKernelClose(act, out1, want, (i) => z[i]! + bias[i % cols]!);
    const inPlace = z.slice();
    split.biasActivation(inPlace, bias, rows, cols, act, inPlace);
    expect(sameBits(inPlace, out1)).toBe(true);
  });

  // a = act(z), as the kernel's contract says (for sigmoid and tanh an arbitrary a could make 1 - a * a
  // overflow float32 where the float64 reference does not).
  const arbBackward = fc
    .tuple(fc.integer({ min: 0, max: 41 }), fc.constantFrom(...ACTS))
    .chain(([len, act]) =>
      fc.tuple(arr(len), arr(len)).map(([delta, z]) => {
        const a = new Float32Array(len);
        biasActivation(z, new Float32Array(1), len, 1, act, a);
        return { act, delta, a };
      }),
    );

  test.prop([arbBackward], { numRuns: 300 })('activationBackward agrees with the reference kernel, in place or not, on 1 and 2 threads', ({ act, delta, a }) => {
    const want = new Float32Array(delta.length);
    activationBackward(delta, a, act, want);
    const out1 = new Float32Array(delta.length);
    one.activationBackward(delta, a, act, out1);
    // The derivative is a product of 2 or 3 float32 roundings against the reference's one.
    for (let i = 0; i < want.length; i++) {
      const [g, w] = [out1[i]!, want[i]!];
      const ok = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || Math.abs(g - w) <= 2 ** -21 * Math.abs(w) + 1e-37;
      if (!ok) expect.fail(`${act} element ${i}: wasm ${g} vs reference ${w} (delta ${delta[i]}, a ${a[i]})`);
    }
    const inPlace = delta.slice();
    split.activationBackward(inPlace, a, act, inPlace);
    expect(sameBits(inPlace, out1)).toBe(true);
  });

  it('gives a layer-sized activation the same bits on 1 and 2 threads (split or by default)', () => {
    const [rows, cols] = [128, 1000];
    const z = seeded(rows * cols, 3).map((x) => 8 * x), bias = seeded(cols, 4);
    for (const act of ACTS) {
      const [o1, o2, o3] = [new Float32Array(rows * cols), new Float32Array(rows * cols), new Float32Array(rows * cols)];
      one.biasActivation(z, bias, rows, cols, act, o1);
      two.biasActivation(z, bias, rows, cols, act, o2);
      split.biasActivation(z, bias, rows, cols, act, o3);
      expect(sameBits(o1, o2) && sameBits(o1, o3)).toBe(true);
      const want = new Float32Array(rows * cols);
      biasActivation(z, bias, rows, cols, act, want);
      expectKernelClose(act, o1, want, (i) => z[i]! + bias[i % cols]!);
    }
  });
});

describe('the wasm thread pool', () => {
  // White-box: the pool's kernels called directly, to see who took part in a job.
  it('never leaves a job open to workers once it returned, nor lets one into a job for the calling thread alone', async () => {
    const loaded = await loadWasmModule();
    if (E.isLeft(loaded)) throw new Error(formatError(loaded.left));
    const started = await startPool(loaded.right.module, 2);
    if (E.isLeft(started)) throw new Error(formatError(started.left));
    const pool = started.right;
    try {
      // The job on the calling thread alone lasts milliseconds, far longer than a worker takes to wake up.
      const [rows, cols, sigmoid] = [1024, 1000, 3];
      const [z, bias, small] = pool.layout([rows * cols * 4, cols * 4, 4096]) as [number, number, number];
      const input = Float32Array.from({ length: rows * cols }, (_, i) => (i % 7) - 3);
      const activate = (nt: number): Float32Array => {
        pool.heap().set(input, z / 4);
        pool.kernels.biasActivation(nt, 0, z, bias, rows, cols, sigmoid, z);
        return pool.heap().slice(z / 4, z / 4 + rows * cols);
      };
      const want = activate(1); // before any job woke the worker
      let intruded = 0, wrong = 0, leftOpen = 0, joinedBig = 0;
      for (let r = 0; r < 20; r++) {
        // A tiny job offered to the worker with no polling: often over before the worker is awake, which
        // then arrives while the next job, on the calling thread alone, runs.
        pool.kernels.gemm(2, 0, 0, 0, 4, 4, 4, 0, 1, 0, small, small + 256, small + 512, small + 1024, small + 2048);
        leftOpen += pool.kernels.jobOpen();
        const got = activate(1);
        leftOpen += pool.kernels.jobOpen();
        intruded += pool.kernels.lastJoined();
        if (!sameBits(got, want)) wrong++;
      }
      for (let r = 0; r < 10; r++) {
        pool.kernels.biasActivation(2, 1 << 18, z, bias, rows, cols, sigmoid, z);
        joinedBig += pool.kernels.lastJoined();
      }
      expect({ intruded, wrong, leftOpen }).toEqual({ intruded: 0, wrong: 0, leftOpen: 0 });
      expect(joinedBig).toBeGreaterThan(0);
    } finally {
      pool.dispose();
    }
  });
});

describe('creating the wasm backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradpipe-wasm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a thread count that is not an integer from 1 to 64, naming --threads', async () => {
    for (const threads of [0, -1, 1.5, 65, Number.NaN]) {
      const b = await createWasmBackend({ threads });
      expect(E.isLeft(b) && b.left._tag === 'OptionError' && b.left.where === '--threads').toBe(true);
    }
  });

  it('is a Left saying how to build the kernels when gradpipe.wasm is missing', async () => {
    const r = await loadWasmModule([join(dir, 'none', 'gradpipe.wasm')]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/have not been built.*npm run build/);
  });

  it('is a Left naming the file when it is not a module this engine can compile', async () => {
    const bogus = join(dir, 'bogus.wasm');
    writeFileSync(bogus, 'not wasm');
    const r = await loadWasmModule([bogus]);
    expect(E.isLeft(r) && formatError(r.left)).toMatch(/bogus\.wasm: this JavaScript engine cannot compile/);
  });

  it('throws on use after dispose()', async () => {
    const b = await wasm(2);
    b.dispose();
    b.dispose();
    expect(() => b.gemm(false, false, 1, 1, 1, 1, new Float32Array(1), new Float32Array(1), 0, new Float32Array(1))).toThrow(/after dispose/);
  });

  // From the compiled package (dist/, as `npm ci` builds it): the eval'd workers run there too, the result
  // matches this process's bit for bit, and the process ends without dispose() (the workers are unref()'d).
  it('runs from dist/ and lets the process exit without dispose()', () => {
    const entry = fileURLToPath(new URL('../../dist/src/tensor/wasm/index.js', import.meta.url));
    expect(existsSync(entry) ? 'built' : `${entry} is missing: run npm run build`).toBe('built');
    const [m, n, k] = [64, 100, 80];
    const fill = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(0.37 * i + seed));
    const script = `
      import { createTunedWasmBackend, DEFAULT_TUNING } from ${JSON.stringify(pathToFileURL(entry).href)};
      const b = await createTunedWasmBackend({ threads: 2 }, { ...DEFAULT_TUNING, parallelGemmFlops: 0 });
      if (b._tag === 'Left') throw new Error(JSON.stringify(b.left));
      const fill = ${fill.toString()};
      const c = new Float32Array(${m * n});
      b.right.gemm(false, true, ${m}, ${n}, ${k}, 1, fill(${m * k}, 5), fill(${n * k}, 6), 0, c);
      process.stdout.write(Buffer.from(c.buffer).toString('base64'));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const c = new Float32Array(m * n);
    one.gemm(false, true, m, n, k, 1, fill(m * k, 5), fill(n * k, 6), 0, c);
    expect(sameBits(new Float32Array(Uint8Array.from(Buffer.from(out, 'base64')).buffer), c)).toBe(true);
  });
});
