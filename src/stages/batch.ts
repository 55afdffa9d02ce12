/**
 * Batching. `batch(n)` groups a stream into arrays of n items (the last, shorter one kept or dropped by
 * option); `toBatch` turns a group of examples into the input and one-hot target matrices a network trains
 * on (float32, pixels scaled to [0, 1]). Its laws are stated on `batch` below.
 */
import type { Batch } from '../nn/grad.js';
import { matrix } from '../tensor/matrix.js';
import { scaleBytes } from '../data/pixels.js';
import type { Example } from './read.js';
import { emit, type Stage } from './stage.js';

/** Options of `batch`. */
export interface BatchOptions {
  /** Keep the last, shorter batch (default true). */
  readonly keepLast?: boolean;
}

/**
 * Groups items into arrays of `n`; the last, shorter group is emitted at the end unless `keepLast` is false.
 *
 * Laws:
 * - flatten after batch is the identity (keeping the last batch)
 * - every batch has n rows except possibly the last
 * - batch(n)(xs ++ ys) = batch(n)(xs) ++ batch(n)(ys) when n divides |xs|
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { batch, runStage } from 'gradpipe';
 *
 * assert.deepEqual(runStage(batch(2), [1, 2, 3, 4, 5]), [[1, 2], [3, 4], [5]]);
 * assert.deepEqual(runStage(batch(2, { keepLast: false }), [1, 2, 3, 4, 5]), [[1, 2], [3, 4]]);
 * ```
 */
export const batch = <A>(n: number, opts: BatchOptions = {}): Stage<A, A[], { group: A[] }> => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`batch: size must be a whole number >= 1, got ${n}`);
  const keepLast = opts.keepLast ?? true;
  return {
    init: () => ({ group: [] }),
    step: (s, a) => {
      s.group.push(a);
      if (s.group.length < n) return emit(s);
      const full = s.group;
      s.group = [];
      return emit(s, [full]);
    },
    flush: (s) => (keepLast && s.group.length > 0 ? [s.group] : []),
  };
};

/** A batch of examples with their labels (for accuracy) and where it sits in training. */
export interface LabeledBatch extends Batch {
  readonly labels: Uint8Array;
  /** Dataset indices of the rows. */
  readonly indices: Uint32Array;
  readonly epoch: number;
  /** Position of this batch within its epoch, from 0. */
  readonly batchInEpoch: number;
  /** True for the last batch of its epoch. */
  readonly lastInEpoch: boolean;
}

/**
 * A batch whose inputs live in buffers its producer reuses (`epochBatches` with `reuseInputs`): valid until
 * the batch after next is pulled from the same stream; `snapshotBatch` turns it into a value to keep.
 */
export type BorrowedBatch = LabeledBatch & { readonly buffers: 'borrowed' };

/** A borrowed batch as a value: its inputs copied, the rest shared (none of it is ever written). */
export const snapshotBatch = (b: BorrowedBatch): LabeledBatch => {
  const { buffers: _, ...value } = b;
  return { ...value, inputs: { ...b.inputs, data: b.inputs.data.slice() } };
};

/**
 * Input and one-hot target matrices for `examples`: uint8 pixels are scaled by 1/255, float features (a
 * `floatDataset`'s, scaled when the dataset was made) are taken as they are.
 */
export const toBatch = (examples: readonly Example[], classes: number): Batch & { labels: Uint8Array; indices: Uint32Array } => {
  const rows = examples.length;
  const size = rows === 0 ? 0 : examples[0]!.image.length;
  const x = new Float32Array(rows * size);
  for (let i = 0; i < rows; i++) {
    const e = examples[i]!;
    if (e.image.length !== size) throw new RangeError(`toBatch: example ${e.index} has ${e.image.length} pixels, the batch ${size}`);
    x.set(e.image, i * size);
  }
  if (rows > 0 && examples[0]!.image instanceof Uint8Array) scaleBytes(x);
  return withTargets(x, size, examples, classes);
};

/**
 * The batch whose inputs are `x` (one row of `size` per example, as the network takes them) and whose
 * targets are the examples' labels, one-hot over `classes`.
 */
export const withTargets = (
  x: Float32Array,
  size: number,
  examples: readonly Pick<Example, 'label' | 'index'>[],
  classes: number,
): Batch & { labels: Uint8Array; indices: Uint32Array } => {
  const rows = examples.length;
  if (x.length !== rows * size) throw new RangeError(`toBatch: ${rows} rows of ${size} need ${rows * size} inputs, got ${x.length}`);
  const t = new Float32Array(rows * classes);
  const labels = new Uint8Array(rows);
  const indices = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    const e = examples[i]!;
    if (e.label >= classes) throw new RangeError(`toBatch: label ${e.label} of example ${e.index} is outside 0..${classes - 1}`);
    t[i * classes + e.label] = 1;
    labels[i] = e.label;
    indices[i] = e.index;
  }
  return { inputs: matrix(rows, size, x), targets: matrix(rows, classes, t), labels, indices };
};
