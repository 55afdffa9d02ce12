/**
 * The augmentation warp's fast forms against independent oracles: the fixed-point TypeScript warp of uint8
 * images against the float64 bilinear resampling (the same warp of the image as float32), and the wasm kernel
 * (dist/wasm/warp.wasm, made by `npm run build:wasm`, as npm ci does) against the TypeScript warp, bit for bit.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { distortMany, taskOffsets, warpImage, type DistortSpec, type DistortTask, type Warp } from '../../src/data/distort.js';
import { scaleBytes } from '../../src/data/pixels.js';
import { batchInputs, distortManyFast, warpKernel } from '../../src/data/warpKernel.js';

const arbShape = fc.record({ rows: fc.integer({ min: 1, max: 20 }), cols: fc.integer({ min: 1, max: 20 }) });
const arbWarp = (rows: number, cols: number): fc.Arbitrary<Warp> =>
  fc.record({
    matrix: fc.tuple(fc.double({ min: -1.5, max: 1.5, noNaN: true }), fc.double({ min: -1.5, max: 1.5, noNaN: true }), fc.double({ min: -1.5, max: 1.5, noNaN: true }), fc.double({ min: -1.5, max: 1.5, noNaN: true })),
    shift: fc.tuple(fc.double({ min: -6, max: 6, noNaN: true }), fc.double({ min: -6, max: 6, noNaN: true })),
    field: fc.option(
      fc.record({
        dx: fc.float64Array({ minLength: rows * cols, maxLength: rows * cols, min: -8, max: 8, noNaN: true }),
        dy: fc.float64Array({ minLength: rows * cols, maxLength: rows * cols, min: -8, max: 8, noNaN: true }),
      }),
      { nil: undefined },
    ),
  }) as fc.Arbitrary<Warp>;
const arbSpec: fc.Arbitrary<DistortSpec> = fc.record(
  {
    affine: fc.record({ shift: fc.double({ min: 0, max: 5, noNaN: true }), rotation: fc.double({ min: 0, max: 45, noNaN: true }), scale: fc.double({ min: 0, max: 0.3, noNaN: true }), shear: fc.double({ min: 0, max: 0.5, noNaN: true }) }, { requiredKeys: [] }),
    elastic: fc.record({ alpha: fc.double({ min: 0, max: 40, noNaN: true }), sigma: fc.double({ min: 0, max: 6, noNaN: true }) }),
    fill: fc.integer({ min: 0, max: 255 }),
  },
  { requiredKeys: [] },
);
/** A task over a pool of images, each task image picked from the pool (`at`) or the pool taken in order. */
const arbTask: fc.Arbitrary<DistortTask<Uint8Array>> = arbShape.chain(({ rows, cols }) =>
  fc.integer({ min: 1, max: 6 }).chain((pool) =>
    fc.record({
      images: fc.uint8Array({ minLength: pool * rows * cols, maxLength: pool * rows * cols }),
      indices: fc.array(fc.nat({ max: 100_000 }), { minLength: pool, maxLength: pool }),
      at: fc.option(fc.array(fc.nat({ max: pool - 1 }), { minLength: pool, maxLength: pool }), { nil: undefined }),
      rows: fc.constant(rows),
      cols: fc.constant(cols),
      spec: arbSpec,
      seed: fc.nat(),
      epoch: fc.nat({ max: 100 }),
    }),
  ),
) as fc.Arbitrary<DistortTask<Uint8Array>>;

describe('the fixed-point warp', () => {
  test.prop([arbShape.chain(({ rows, cols }) => fc.tuple(fc.constant(rows), fc.constant(cols), fc.uint8Array({ minLength: rows * cols, maxLength: rows * cols }), arbWarp(rows, cols), fc.integer({ min: 0, max: 255 })))], { numRuns: 300 })(
    'is within 2 levels of the float64 bilinear resampling (oracle: the float32 image warped in floating point)',
    ([rows, cols, image, warp, fill]) => {
      const exact = warpImage(Float32Array.from(image), rows, cols, warp, fill);
      const fixed = warpImage(image, rows, cols, warp, fill);
      fixed.forEach((v, i) => expect(Math.abs(v - exact[i]!)).toBeLessThanOrEqual(2));
    },
  );

  it('takes the float64 path when coordinates leave fixed point\'s range, and says which pixels a task lacks', () => {
    const image = Uint8Array.from({ length: 16 }, (_, i) => i * 10);
    const far: Warp = { matrix: [1, 0, 0, 1], shift: [1e6, 0] };
    expect([...warpImage(image, 4, 4, far, 7)]).toEqual(new Array(16).fill(7));
    const t: DistortTask = { images: image, indices: [0, 1], at: [0, 1], rows: 2, cols: 2, spec: {}, seed: 1, epoch: 0 };
    expect(() => taskOffsets({ ...t, at: [0, 4] })).toThrow(/image 4 lies outside the 16 pixels/);
    expect(() => taskOffsets({ images: image, indices: [0, 1], rows: 2, cols: 2, spec: {}, seed: 1, epoch: 0 })).toThrow(/2 images of 2x2 need 8 pixels, got 16/);
  });
});

describe('the wasm warp kernel', () => {
  it('is built and loads (npm run build:wasm)', async () => {
    expect(await warpKernel()).toBeDefined();
  });

  test.prop([arbTask], { numRuns: 200 })('gives the bits of the TypeScript warp, as images and as scaled network inputs', async (t) => {
    const ts = distortMany(t);
    expect(await distortManyFast(t)).toEqual(ts);
    const x = await batchInputs(t);
    expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(scaleBytes(new Float32Array(ts)).buffer))).toBe(true);
  });

  it('leaves float32 images to the TypeScript warp, unscaled', async () => {
    const images = Float32Array.from({ length: 2 * 9 }, (_, i) => i / 17);
    const t: DistortTask<Float32Array> = { images, indices: [3, 4], rows: 3, cols: 3, spec: { affine: { shift: 1, rotation: 20 } }, seed: 2, epoch: 1 };
    expect(await batchInputs(t)).toEqual(distortMany(t));
  });
});
