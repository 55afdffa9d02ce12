/**
 * The pull-based training source: the batches of `epochs` passes over an in-memory dataset, each pass in
 * its own seeded order (`epochOrder(seed, epoch)`), composed from the read, shuffle and batch stages over
 * IxJS iterables. It pauses for the event loop every few milliseconds so that signals, timers and progress
 * output keep running during training, and it can start mid-epoch (resume, at `resumePoint`).
 */
import { backendChosen, ready } from '../tensor/registry.js';
import { AsyncIterableX } from 'ix/asynciterable';
import type { Dataset } from '../data/dataset.js';
import { batch, toBatch, type LabeledBatch } from './batch.js';
import { readDataset, type Example } from './read.js';
import { epochOrder } from './shuffle.js';
import { ixSync } from './stage.js';

/** What `epochBatches` reads, in what order and in what groups. */
export interface EpochPlan {
  readonly dataset: Dataset;
  readonly seed: number;
  readonly batchSize: number;
  /** Epochs to run, counting from 0 (a resumed run still counts all of them). */
  readonly epochs: number;
  /** Classes of the one-hot targets (default: the dataset's). */
  readonly classes?: number;
  readonly keepLast?: boolean;
  /** Shuffle each epoch (default true); false reads in dataset order. */
  readonly shuffle?: boolean;
  /** Where to start: epoch, and batches of it already done (default 0, 0). */
  readonly start?: { readonly epoch: number; readonly batch: number };
  /** Yield to the event loop at least this often, in milliseconds (default 20). */
  readonly yieldEveryMs?: number;
}

/** Batches per epoch for `count` examples. */
export const batchesPerEpoch = (count: number, batchSize: number, keepLast = true): number =>
  keepLast ? Math.ceil(count / batchSize) : Math.floor(count / batchSize);

/**
 * Where a run resumes after the state `s` (its epoch and the batches of it done): the next batch of that
 * epoch, or the first batch of the next epoch when that one is complete.
 *
 * Law: resuming after a state continues with the batch that follows it in the full stream
 */
export const resumePoint = (s: { readonly epoch: number; readonly batchInEpoch: number }, perEpoch: number): { readonly epoch: number; readonly batch: number } =>
  s.batchInEpoch >= perEpoch ? { epoch: s.epoch + 1, batch: 0 } : { epoch: s.epoch, batch: s.batchInEpoch };

const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The batches of `plan.epochs` passes over a dataset, each epoch in its own seeded order, as a pull-based
 * (IxJS) async iterable: nothing is read before it is asked for. Batches carry their epoch and position, so a
 * run can resume at any batch (`plan.start`).
 *
 * Laws:
 * - each epoch visits every example exactly once (with keepLast)
 * - same seed, same batches; starting at (epoch e, batch k) yields exactly the suffix of the full stream that begins there
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { epochBatches, type Dataset, type LabeledBatch } from 'gradpipe';
 *
 * // five one-pixel images in two classes
 * const dataset: Dataset = { count: 5, rows: 1, cols: 1, classes: 2, images: Uint8Array.of(0, 60, 120, 180, 240), labels: Uint8Array.of(0, 0, 1, 1, 1) };
 * const batches: LabeledBatch[] = [];
 * for await (const b of epochBatches({ dataset, seed: 1, batchSize: 2, epochs: 2 })) batches.push(b);
 * assert.deepEqual(batches.map((b) => [b.epoch, b.inputs.rows, b.lastInEpoch]), [[0, 2, false], [0, 2, false], [0, 1, true], [1, 2, false], [1, 2, false], [1, 1, true]]);
 * for (const epoch of [0, 1]) {
 *   const seen = batches.filter((b) => b.epoch === epoch).flatMap((b) => [...b.indices]);
 *   assert.deepEqual(seen.sort(), [0, 1, 2, 3, 4]); // every example exactly once per epoch
 * }
 * ```
 */
export const epochBatches = (plan: EpochPlan): AsyncIterableX<LabeledBatch> =>
  AsyncIterableX.from({
    async *[Symbol.asyncIterator]() {
      if (!backendChosen()) await ready(); // the default backend, before the first batch is trained on
      const { dataset, seed, batchSize, epochs } = plan;
      const keepLast = plan.keepLast ?? true;
      const classes = plan.classes ?? dataset.classes;
      const total = batchesPerEpoch(dataset.count, batchSize, keepLast);
      const every = plan.yieldEveryMs ?? 20;
      const start = plan.start ?? { epoch: 0, batch: 0 };
      let last = Date.now();
      for (let epoch = start.epoch; epoch < epochs; epoch++) {
        const skip = epoch === start.epoch ? start.batch : 0;
        const order = plan.shuffle === false ? Uint32Array.from({ length: dataset.count }, (_, i) => i) : epochOrder(seed, epoch, dataset.count);
        const groups = ixSync(batch<Example>(batchSize, { keepLast }))(
          readDataset(dataset, order.subarray(Math.min(order.length, skip * batchSize))),
        );
        let b = skip;
        for (const group of groups) {
          yield { ...toBatch(group, classes), epoch, batchInEpoch: b, lastInEpoch: b === total - 1 };
          b++;
          if (Date.now() - last >= every) {
            await breathe();
            last = Date.now();
          }
        }
      }
    },
  });
