import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { distortImage, drawWarp, warpImage, type DistortSpec } from '../../src/data/distort.js';
import { augment } from '../../src/stages/augment.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { readDataset, type Example } from '../../src/stages/read.js';
import { runStage } from '../../src/stages/stage.js';
import { randomDataset } from '../arb/dataset.js';

const arbShape = fc.record({ rows: fc.integer({ min: 1, max: 12 }), cols: fc.integer({ min: 1, max: 12 }) });
const arbImage = arbShape.chain(({ rows, cols }) =>
  fc.record({ rows: fc.constant(rows), cols: fc.constant(cols), image: fc.uint8Array({ minLength: rows * cols, maxLength: rows * cols }) }),
);
const arbKey = fc.record({ seed: fc.nat(), epoch: fc.nat({ max: 1000 }), index: fc.nat({ max: 100_000 }) });
const arbSpec: fc.Arbitrary<DistortSpec> = fc.record(
  {
    affine: fc.record(
      {
        shift: fc.double({ min: 0, max: 5, noNaN: true }),
        rotation: fc.double({ min: 0, max: 45, noNaN: true }),
        scale: fc.double({ min: 0, max: 0.3, noNaN: true }),
        shear: fc.double({ min: 0, max: 0.5, noNaN: true }),
      },
      { requiredKeys: [] },
    ),
    elastic: fc.record({ alpha: fc.double({ min: 0, max: 40, noNaN: true }), sigma: fc.double({ min: 0, max: 6, noNaN: true }) }),
    fill: fc.integer({ min: 0, max: 255 }),
  },
  { requiredKeys: [] },
);
const zeroSpecs: DistortSpec[] = [
  {},
  { affine: {} },
  { affine: { shift: 0, rotation: 0, scale: 0, shear: 0 }, elastic: { alpha: 0, sigma: 4 } },
  { elastic: { alpha: 0, sigma: 0 }, fill: 200 },
];

/** Image pixels shifted by whole pixels, `fill` where the source is outside: the oracle for a pure shift. */
const shifted = (image: Uint8Array, rows: number, cols: number, tx: number, ty: number, fill: number) =>
  Uint8Array.from({ length: rows * cols }, (_, i) => {
    const x = (i % cols) + tx;
    const y = Math.floor(i / cols) + ty;
    return x >= 0 && x < cols && y >= 0 && y < rows ? image[y * cols + x]! : fill;
  });

describe('distortImage', () => {
  it('zero magnitude is the identity (fixed case)', () => {
    const image = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 31) % 256);
    for (const spec of zeroSpecs) expect(distortImage(image, 28, 28, spec, { seed: 1, epoch: 2, index: 3 })).toEqual(image);
  });

  test.prop([arbImage, arbKey, fc.constantFrom(...zeroSpecs)], { numRuns: 200 })('zero magnitude is the identity', ({ image, rows, cols }, key, spec) => {
    expect(distortImage(image, rows, cols, spec, key)).toEqual(image);
  });

  test.prop([arbImage, arbKey, arbSpec], { numRuns: 300 })('pixel range is preserved', ({ image, rows, cols }, key, spec) => {
    const fill = spec.fill ?? 0;
    const lo = Math.min(fill, ...image);
    const hi = Math.max(fill, ...image);
    for (const v of distortImage(image, rows, cols, spec, key)) {
      expect(v).toBeGreaterThanOrEqual(lo);
      expect(v).toBeLessThanOrEqual(hi);
    }
  });

  test.prop([arbImage, arbKey, arbSpec], { numRuns: 200 })('same seed gives the same images', ({ image, rows, cols }, key, spec) => {
    const copy = image.slice();
    const a = distortImage(image, rows, cols, spec, key);
    expect(distortImage(copy, rows, cols, spec, { ...key })).toEqual(a);
    expect(image).toEqual(copy); // the input is not written
  });

  it('different epochs and indices give different images', () => {
    const image = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 31) % 256);
    const spec: DistortSpec = { affine: { shift: 2, rotation: 10 }, elastic: { alpha: 34, sigma: 4 } };
    const a = distortImage(image, 28, 28, spec, { seed: 1, epoch: 0, index: 0 });
    expect(distortImage(image, 28, 28, spec, { seed: 1, epoch: 1, index: 0 })).not.toEqual(a);
    expect(distortImage(image, 28, 28, spec, { seed: 1, epoch: 0, index: 1 })).not.toEqual(a);
    expect(distortImage(image, 28, 28, spec, { seed: 2, epoch: 0, index: 0 })).not.toEqual(a);
  });

  test.prop([arbImage, fc.integer({ min: -4, max: 4 }), fc.integer({ min: -4, max: 4 }), fc.integer({ min: 0, max: 255 })], { numRuns: 200 })(
    'a whole-pixel shift moves the pixels (oracle: index arithmetic)',
    ({ image, rows, cols }, tx, ty, fill) => {
      expect(warpImage(image, rows, cols, { matrix: [1, 0, 0, 1], shift: [tx, ty] }, fill)).toEqual(shifted(image, rows, cols, tx, ty, fill));
    },
  );

  test.prop([fc.integer({ min: 1, max: 12 }).chain((s) => fc.tuple(fc.constant(s), fc.uint8Array({ minLength: s * s, maxLength: s * s })))], { numRuns: 100 })(
    'a quarter turn of a square image samples its transpose, mirrored (oracle: index arithmetic)',
    ([s, image]) => {
      // A = [[0, -1], [1, 0]]: output (x, y) reads input (c - (y - c), c + (x - c)) = (s-1-y, x)
      const expected = Uint8Array.from({ length: s * s }, (_, i) => image[(i % s) * s + (s - 1 - Math.floor(i / s))]!);
      expect(warpImage(image, s, s, { matrix: [0, -1, 1, 0], shift: [0, 0] })).toEqual(expected);
    },
  );

  it('a half-pixel shift averages neighbours (oracle: hand-computed bilinear)', () => {
    const image = Uint8Array.of(0, 100, 200, 50);
    // 1x4 image shifted by half a pixel: (0+100)/2, (100+200)/2, (200+50)/2, (50+fill 0)/2
    expect([...warpImage(image, 1, 4, { matrix: [1, 0, 0, 1], shift: [0.5, 0] })]).toEqual([50, 150, 125, 25]);
  });

  it('the elastic field has the documented scale: alpha times a smoothed unit-uniform field', () => {
    // smoothing by a normalised Gaussian shrinks the uniform draws' spread; alpha scales the result linearly
    const key = { seed: 3, epoch: 0, index: 9 };
    const w1 = drawWarp({ elastic: { alpha: 1, sigma: 4 } }, 28, 28, key).field!;
    const w34 = drawWarp({ elastic: { alpha: 34, sigma: 4 } }, 28, 28, key).field!;
    w1.dx.forEach((v, i) => expect(w34.dx[i]).toBeCloseTo(34 * v, 12));
    const rough = drawWarp({ elastic: { alpha: 1, sigma: 0 } }, 28, 28, key).field!;
    const rms = (f: Float64Array) => Math.sqrt(f.reduce((s, v) => s + v * v, 0) / f.length);
    expect(rms(rough.dx)).toBeGreaterThan(0.5); // uniform on [-1, 1]: rms 0.577
    expect(rms(w1.dx)).toBeLessThan(rms(rough.dx) / 4);
    expect(Math.max(...rough.dx.map(Math.abs))).toBeLessThanOrEqual(1);
  });
});

describe('augment', () => {
  const at = (seed: number, epoch: number, rows: number, cols: number) => ({ seed, epoch, rows, cols });

  test.prop([fc.nat(), fc.integer({ min: 0, max: 30 }), fc.nat({ max: 100 }), fc.constantFrom(...zeroSpecs)], { numRuns: 100 })(
    'zero magnitude is the identity',
    (seed, count, epoch, spec) => {
      const ds = randomDataset(seed, count, 5, 6);
      const xs = [...readDataset(ds)];
      expect(runStage(augment(spec, at(seed, epoch, 5, 6)), xs)).toEqual(xs.map((e) => ({ ...e, image: e.image.slice() })));
    },
  );

  test.prop([fc.nat(), fc.integer({ min: 0, max: 30 }), arbSpec], { numRuns: 100 })('pixel range is preserved', (seed, count, spec) => {
    const ds = randomDataset(seed, count, 6, 5);
    for (const e of runStage(augment(spec, at(seed, 0, 6, 5)), readDataset(ds))) {
      const source = ds.images.subarray(e.index * 30, (e.index + 1) * 30);
      const fill = spec.fill ?? 0;
      for (const v of e.image) {
        expect(v).toBeGreaterThanOrEqual(Math.min(fill, ...source));
        expect(v).toBeLessThanOrEqual(Math.max(fill, ...source));
      }
    }
  });

  test.prop([fc.nat(), fc.integer({ min: 1, max: 30 }), fc.nat({ max: 50 }), arbSpec, fc.nat()], { numRuns: 100 })(
    'same seed gives the same images, whatever the order of the examples',
    (seed, count, epoch, spec, orderSeed) => {
      const ds = randomDataset(seed, count, 4, 4);
      const inOrder = runStage(augment(spec, at(seed, epoch, 4, 4)), readDataset(ds));
      const order = [...Array(count).keys()].sort((a, b) => ((a * 7919 + orderSeed) % 101) - ((b * 7919 + orderSeed) % 101));
      const permuted = runStage(augment(spec, at(seed, epoch, 4, 4)), readDataset(ds, order));
      permuted.forEach((e, k) => expect(e).toEqual(inOrder[order[k]!]));
    },
  );

  test.prop([fc.nat(), fc.integer({ min: 0, max: 30 }), arbSpec], { numRuns: 100 })('the labels of the output equal the labels of the input', (seed, count, spec) => {
    const ds = randomDataset(seed, count, 3, 3);
    const xs: Example[] = [...readDataset(ds)];
    const out = runStage(augment(spec, at(seed, 1, 3, 3)), xs);
    expect(out.map((e) => [e.index, e.label])).toEqual(xs.map((e) => [e.index, e.label]));
  });

  test.prop([fc.nat(), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })], { numRuns: 30 })(
    'in epochBatches the images of an example do not depend on the batch size',
    async (seed, count, b1, b2) => {
      const dataset = randomDataset(seed, count, 5, 5);
      const spec: DistortSpec = { affine: { shift: 2, rotation: 20 }, elastic: { alpha: 8, sigma: 2 } };
      const byIndex = async (batchSize: number) => {
        const rows = new Map<string, number[]>();
        for await (const b of epochBatches({ dataset, seed, batchSize, epochs: 2, augment: spec })) {
          b.indices.forEach((ix, r) => rows.set(`${b.epoch}/${ix}`, [...b.inputs.data.subarray(r * 25, (r + 1) * 25)]));
        }
        return rows;
      };
      const one = await byIndex(b1);
      expect(await byIndex(b2)).toEqual(one);
      expect(one.get(`0/0`)).not.toEqual(one.get(`1/0`)); // each epoch draws afresh
    },
  );
});
