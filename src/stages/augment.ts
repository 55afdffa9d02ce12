/**
 * Augmentation: each example of an epoch replaced by a randomly distorted copy of its image (affine and/or
 * elastic, see data/distort), its label and index untouched. It sits between shuffle and batch; the
 * distortion of an example depends only on (seed, epoch, example index), so neither the order, the batch
 * size nor the thread that runs `distortImage` changes a bit of it (`epochBatches` can run it on worker
 * threads, `batchWorkers`, with the same bits).
 */
import { distortImage, type DistortSpec } from '../data/distort.js';
import type { Example } from './read.js';
import { map, type Stage } from './stage.js';

export type { AffineBounds, DistortSpec, ElasticParams } from '../data/distort.js';

/** Where an augmentation stage runs: the run seed, the epoch, and the images' shape. */
export interface AugmentAt {
  readonly seed: number;
  readonly epoch: number;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Distorts every example of epoch `at.epoch` of a run seeded `at.seed` by `spec`: one output per input, in
 * order, with the same label and index.
 *
 * Laws:
 * - zero magnitude is the identity
 * - pixel range is preserved
 * - same seed gives the same images, whatever the order of the examples
 * - the labels of the output equal the labels of the input
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { augment, readDataset, runStage, type Dataset } from 'gradpipe';
 *
 * const dataset: Dataset = { count: 3, rows: 4, cols: 4, classes: 2, images: Uint8Array.from({ length: 48 }, (_, i) => i * 5), labels: Uint8Array.of(1, 0, 1) };
 * const spec = { affine: { shift: 1, rotation: 15 } };
 * const at = { seed: 7, epoch: 0, rows: 4, cols: 4 };
 * const out = runStage(augment(spec, at), readDataset(dataset));
 * assert.deepEqual(out.map((e) => e.label), [1, 0, 1]); // labels untouched
 * const reversed = runStage(augment(spec, at), readDataset(dataset, [2, 1, 0]));
 * assert.deepEqual(reversed[0]!.image, out[2]!.image); // example 2 gets the same distortion in any position
 * ```
 */
export const augment = (spec: DistortSpec, at: AugmentAt): Stage<Example, Example, { i: number }> =>
  map((e: Example) => ({ index: e.index, label: e.label, image: distortImage(e.image, at.rows, at.cols, spec, { seed: at.seed, epoch: at.epoch, index: e.index }) }));
