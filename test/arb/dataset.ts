/** Small random datasets made from a seed (never MNIST bytes). */
import fc from 'fast-check';
import type { Dataset } from '../../src/data/dataset.js';
import { rng } from '../../src/nn/random.js';

export const randomDataset = (seed: number, count: number, rows = 3, cols = 3, classes = 4): Dataset => {
  const r = rng(seed, 'dataset');
  const images = new Uint8Array(count * rows * cols);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(r() * 256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = Math.floor(r() * classes);
  return { count, rows, cols, classes, images, labels };
};

export const arbDataset = (opts: { minCount?: number; maxCount?: number } = {}): fc.Arbitrary<Dataset> =>
  fc
    .record({
      seed: fc.nat(),
      count: fc.integer({ min: opts.minCount ?? 0, max: opts.maxCount ?? 40 }),
      rows: fc.integer({ min: 1, max: 4 }),
      cols: fc.integer({ min: 1, max: 4 }),
      classes: fc.integer({ min: 2, max: 5 }),
    })
    .map(({ seed, count, rows, cols, classes }) => randomDataset(seed, count, rows, cols, classes));
