/**
 * Reading: the sources of a pipeline. `readDataset` walks an in-memory dataset in a given order (images stay
 * uint8 views until batched); `readFiles` streams an MNIST-layout pair of IDX files with bounded memory.
 *
 * Its laws are stated on `readDataset` below; the IDX codec under `readFiles` has its own law, on `decodeIdx`
 * (data/idx.ts).
 */
import type { Dataset, Inputs } from '../data/dataset.js';
import { streamExamples, type Example } from '../data/streamExamples.js';

export type { Example } from '../data/streamExamples.js';

/** Example `i` of `ds` (the image is a view into the dataset's buffer, read-only by contract). */
export const exampleAt = <I extends Inputs>(ds: Dataset<I>, i: number): Example<I> => {
  const size = ds.rows * ds.cols;
  return { index: i, image: ds.images.subarray(i * size, (i + 1) * size) as I, label: ds.labels[i]! };
};

/**
 * The examples of `ds` in `order` (default: 0..count-1).
 *
 * Laws:
 * - readDataset(ds) yields example i as (images[i], labels[i]) for i = 0..count-1, in order
 * - readDataset(ds, order) = map(i => example i) over order
 */
export function* readDataset<I extends Inputs>(ds: Dataset<I>, order?: ArrayLike<number>): Generator<Example<I>> {
  const n = order ? order.length : ds.count;
  for (let k = 0; k < n; k++) yield exampleAt(ds, order ? order[k]! : k);
}

/** Streams the examples of an images/labels IDX pair (headers validated first; errors throw GradpipeException). */
export const readFiles = (imagesFile: string, labelsFile: string): AsyncIterable<Example<Uint8Array>> => streamExamples(imagesFile, labelsFile);

/** Examples `start` to `end - 1` of `ds` (clamped to its size) as a dataset of their own (views, no copy). */
export const takeDataset = <I extends Inputs>(ds: Dataset<I>, start: number, end: number): Dataset<I> => {
  const size = ds.rows * ds.cols;
  const s = Math.max(0, Math.min(start, ds.count));
  const e = Math.max(s, Math.min(end, ds.count));
  return { ...ds, count: e - s, images: ds.images.subarray(s * size, e * size) as I, labels: ds.labels.subarray(s, e) };
};
