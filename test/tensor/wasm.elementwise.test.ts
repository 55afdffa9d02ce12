/**
 * The wasm backend's element-wise kernels against the reference kernels of src/tensor/kernels.ts, in place
 * or not, and the same bits on 1 and 2 threads.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { activationBackward, biasActivation, columnSumsInto, type PointwiseActivation } from '../../src/tensor/kernels.js';
import { absRange } from '../../src/tensor/reduce.js';
import { toBatch } from '../../src/stages/batch.js';
import { sameBits, seeded, SPLIT, wasm } from './wasm.support.js';

const one = await wasm(1);
const split = await wasm(2, SPLIT);
const two = await wasm(2);

const ACTS: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];

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

  test.prop([arbBias], { numRuns: 300 })(
    'biasActivationRange writes the bits of biasActivation and the absRange of what it wrote (NaN, infinities, zeros included), in place or not, on 1 and 2 threads',
    ({ rows, cols, act, z, bias }) => {
      for (const b of [one, split, two]) {
        const plain = new Float32Array(rows * cols);
        b.biasActivation(z, bias, rows, cols, act, plain);
        const out = b.alloc!(rows * cols);
        const range = new Float64Array([7, 7]);
        b.biasActivationRange!(z, bias, rows, cols, act, out, range);
        expect(sameBits(out, plain)).toBe(true);
        const want = absRange(plain, new Float64Array(2));
        expect([Object.is(range[0], want[0]) || range[0] === want[0], Object.is(range[1], want[1]) || range[1] === want[1]]).toEqual([true, true]);
        const inPlace = z.slice();
        const r2 = new Float64Array(2);
        b.biasActivationRange!(inPlace, bias, rows, cols, act, inPlace, r2);
        expect(sameBits(inPlace, plain)).toBe(true);
        expect([...r2]).toEqual([...range]);
      }
    },
  );

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

  test.prop(
    [
      fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 40 })).chain(([rows, cols]) =>
        fc.tuple(fc.constant(rows), fc.constant(cols), fc.float32Array({ minLength: rows * cols, maxLength: rows * cols }), fc.boolean()),
      ),
    ],
    { numRuns: 300 },
  )('columnSums gives the bits of columnSumsInto (double accumulators, rows in order; NaN and infinities included), wherever x and out live', ([rows, cols, x, resident]) => {
    const want = new Float32Array(cols);
    columnSumsInto(x, rows, cols, want);
    const put = (a: Float32Array): Float32Array => {
      if (!resident) return a;
      const r = one.alloc!(a.length);
      r.set(a);
      return r;
    };
    const xs = put(x);
    const got = put(new Float32Array(cols).fill(7));
    one.columnSums!(xs, rows, cols, got);
    expect(sameBits(got, want)).toBe(true);
    expect(sameBits(xs, x)).toBe(true);
  });

  it('sums the columns of a 128 x 1000 batch gradient with the bits of columnSumsInto', () => {
    const x = seeded(128 * 1000, 5).map((v) => v * 1e3);
    const want = new Float32Array(1000);
    columnSumsInto(x, 128, 1000, want);
    const got = new Float32Array(1000);
    two.columnSums!(x, 128, 1000, got);
    expect(sameBits(got, want)).toBe(true);
  });

  test.prop(
    [
      fc
        .tuple(fc.integer({ min: 1, max: 41 }), fc.integer({ min: 1, max: 8 }))
        .chain(([size, rows]) => fc.tuple(fc.constant(size), fc.uint8Array({ minLength: size * rows, maxLength: size * rows }), fc.array(fc.nat({ max: rows - 1 }), { maxLength: 9 }), fc.boolean())),
    ],
    { numRuns: 300 },
  )("scaledGather gives the bits of toBatch's inputs, into a buffer of its memory or not, and refuses a row past the end of src", ([size, src, rows, resident]) => {
    const examples = rows.map((r) => ({ index: r, label: 0, image: src.subarray(r * size, (r + 1) * size) }));
    const want = toBatch(examples, 1).inputs.data;
    const got = resident ? one.alloc!(rows.length * size) : new Float32Array(rows.length * size);
    got.fill(7);
    one.scaledGather!(src, Uint32Array.from(rows, (r) => r * size), size, got);
    expect(sameBits(got, want)).toBe(true);
    expect(() => one.scaledGather!(src, Uint32Array.of(src.length - size + 1), size, new Float32Array(size))).toThrow(RangeError);
  });

  it('scaledGather gives scaleBytes\'s bits for every byte value, in and past whole steps of sixteen', () => {
    const src = Uint8Array.from({ length: 256 + 7 }, (_, i) => i % 256);
    const size = src.length;
    const want = toBatch([{ index: 0, label: 0, image: src }], 1).inputs.data;
    const got = new Float32Array(size);
    two.scaledGather!(src, Uint32Array.of(0), size, got);
    expect(sameBits(got, want)).toBe(true);
  });
});
