import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { readDataset } from '../../src/stages/read.js';
import { arbDataset } from '../arb/dataset.js';

/** Example i computed here from the dataset's layout (row-major images, one label each), as plain arrays. */
const oracle = (ds: Dataset, i: number): { index: number; image: number[]; label: number } => {
  const image: number[] = [];
  for (let p = 0; p < ds.rows * ds.cols; p++) image.push(ds.images[i * ds.rows * ds.cols + p]!);
  return { index: i, image, label: ds.labels[i]! };
};

const plain = (e: { index: number; image: ArrayLike<number>; label: number }) => ({ index: e.index, image: Array.from(e.image), label: e.label });

/** A dataset and an order over it: any indices, repeats allowed. */
const withOrder = arbDataset({ minCount: 1 }).chain((ds) => fc.tuple(fc.constant(ds), fc.array(fc.nat(ds.count - 1), { maxLength: 60 })));

describe('readDataset', () => {
  test.prop([arbDataset()], { numRuns: 200 })('readDataset(ds) yields example i as (images[i], labels[i]) for i = 0..count-1, in order', (ds) => {
    const expected = Array.from({ length: ds.count }, (_, i) => oracle(ds, i));
    expect([...readDataset(ds)].map(plain)).toEqual(expected);
  });

  test.prop([withOrder], { numRuns: 200 })('readDataset(ds, order) = map(i => example i) over order', ([ds, order]) => {
    expect([...readDataset(ds, order)].map(plain)).toEqual(order.map((i) => oracle(ds, i)));
    expect([...readDataset(ds, Uint32Array.from(order))].map(plain)).toEqual(order.map((i) => oracle(ds, i)));
  });
});
