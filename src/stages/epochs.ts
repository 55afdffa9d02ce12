/**
 * The pull-based training source: the batches of `epochs` passes over an in-memory dataset, each pass in
 * its own seeded order (`epochOrder(seed, epoch)`), composed from the read, shuffle and batch stages over
 * IxJS iterables. It pauses for the event loop every few milliseconds so that signals, timers and progress
 * output keep running during training, and it can start mid-epoch (resume, at `resumePoint`).
 */
import { backendChosen, getBackend, ready } from '../tensor/registry.js';
import { AsyncIterableX } from 'ix/asynciterable';
import type { Dataset } from '../data/dataset.js';
import type { DistortSpec, DistortTask } from '../data/distort.js';
import { augment } from './augment.js';
import { batch, toBatch, withTargets, type BorrowedBatch, type LabeledBatch } from './batch.js';
import { parallel, workerModule } from './parallel.js';
import { readDataset, type Example } from './read.js';
import { epochOrder } from './shuffle.js';
import { ixSync } from './stage.js';
import { breathe } from '#platform/breathe.js';
import { gatherInputs } from '../data/pixels.js';

/**
 * The module the batch workers import `batchInputs` (with the wasm warp) from: the built JavaScript
 * beside this file, or, when this file runs as TypeScript source (tests), the build's copy in dist/ (made by
 * `npm run build:ts`).
 */
const BATCH_MODULE = import.meta.url.endsWith('.ts') ? new URL('../../dist/src/data/warpKernel.js', import.meta.url) : new URL('../data/warpKernel.js', import.meta.url);

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
  /** Distort each example's image between shuffle and batch (see `augment`; default none). */
  readonly augment?: DistortSpec;
  /**
   * Worker threads that assemble the batches' inputs: gather the images, distort them (with `augment`) and
   * scale them to the network's inputs (default 0: on this thread, augmentation as a stage between shuffle
   * and batch). With N >= 1 they run on N background workers (the parallel stage), `readAhead` batches ahead
   * of training, in order: the same bits as on this thread, for any N.
   */
  readonly batchWorkers?: number;
  /**
   * Gather each batch's inputs into one of two buffers this stream owns, in turn (from the backend's
   * `alloc` where it has one, so its kernels read them in place), instead of a new array per batch: the
   * batches are then `BorrowedBatch`es, valid until the batch after next is pulled. A consumer that handles
   * each batch before pulling the next (as `trainStep` does behind `from`) loses nothing; one that keeps
   * batches must `snapshotBatch` them. Ignored with `augment` or `batchWorkers` (their batches are new).
   */
  readonly reuseInputs?: boolean;
  /** Batches assembled ahead of training with workers (default 2 per worker). */
  readonly readAhead?: number;
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

/**
 * The batches of `plan.epochs` passes over a dataset, each epoch in its own seeded order, as a pull-based
 * (IxJS) async iterable: nothing is read before it is asked for. Batches carry their epoch and position, so a
 * run can resume at any batch (`plan.start`).
 *
 * Laws:
 * - each epoch visits every example exactly once (with keepLast)
 * - same seed, same batches; starting at (epoch e, batch k) yields exactly the suffix of the full stream that begins there
 * - with reuseInputs, every batch equals the batch without it until the batch after next is pulled
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
export function epochBatches(plan: EpochPlan & { readonly reuseInputs: true }): AsyncIterableX<BorrowedBatch>;
export function epochBatches(plan: EpochPlan): AsyncIterableX<LabeledBatch>;
export function epochBatches(plan: EpochPlan): AsyncIterableX<LabeledBatch> {
  return AsyncIterableX.from({
    async *[Symbol.asyncIterator]() {
      if (!backendChosen()) await ready(); // the default backend, before the first batch is trained on
      const { dataset } = plan;
      const classes = plan.classes ?? dataset.classes;
      const total = batchesPerEpoch(dataset.count, plan.batchSize, plan.keepLast ?? true);
      const every = plan.yieldEveryMs ?? 20;
      const workers = plan.batchWorkers ?? 0;
      const backend = getBackend();
      // undistorted images are gathered from the dataset, by the backend's kernel where it has one (toBatch's bits)
      const kernel = backend.scaledGather;
      const size = dataset.rows * dataset.cols;
      // with reuseInputs, two buffers of this stream, in turn (a batch of another length, a short last one,
      // replaces its slot's buffer)
      const reuse = plan.reuseInputs === true && plan.augment === undefined && workers === 0;
      const ring: (Float32Array | undefined)[] = [undefined, undefined];
      let turn = 0;
      const buffer = (length: number): Float32Array | undefined => {
        if (!reuse) return undefined;
        turn ^= 1;
        const mine = ring[turn];
        return mine !== undefined && mine.length === length ? mine : (ring[turn] = backend.alloc ? backend.alloc(length) : new Float32Array(length));
      };
      const inputs = (g: Group) =>
        plan.augment !== undefined
          ? toBatch(g.examples, classes)
          : withTargets(gatherInputs(dataset.images, Uint32Array.from(g.examples, (e) => e.index * size), size, kernel, buffer(g.examples.length * size)), size, g.examples, classes);
      const labeled = (g: Group): LabeledBatch => ({
        ...inputs(g),
        epoch: g.epoch,
        batchInEpoch: g.b,
        lastInEpoch: g.b === total - 1,
        ...(reuse ? { buffers: 'borrowed' as const } : {}),
      });
      const batches = workers === 0 ? syncBatches(plan, labeled) : assembledOnWorkers(plan, plan.augment ?? {}, workers, classes, total);
      let last = Date.now();
      for await (const b of batches) {
        yield b;
        if (Date.now() - last >= every) {
          await breathe();
          last = Date.now();
        }
      }
    },
  });
}

/** A group of examples: batch `b` of epoch `epoch`, before `toBatch`. */
interface Group {
  readonly epoch: number;
  readonly b: number;
  readonly examples: readonly Example[];
}

/** The groups of the plan, from its start on (read -> shuffle -> [augment on this thread] -> batch). */
function* groupsOf(plan: EpochPlan, augmentHere: boolean): Generator<Group> {
  const { dataset, seed, batchSize, epochs } = plan;
  const start = plan.start ?? { epoch: 0, batch: 0 };
  for (let epoch = start.epoch; epoch < epochs; epoch++) {
    const skip = epoch === start.epoch ? start.batch : 0;
    const order = plan.shuffle === false ? Uint32Array.from({ length: dataset.count }, (_, i) => i) : epochOrder(seed, epoch, dataset.count);
    const read = readDataset(dataset, order.subarray(Math.min(order.length, skip * batchSize)));
    const examples = augmentHere && plan.augment ? ixSync(augment(plan.augment, { seed, epoch, rows: dataset.rows, cols: dataset.cols }))(read) : read;
    let b = skip;
    for (const examplesOfBatch of ixSync(batch<Example>(batchSize, { keepLast: plan.keepLast ?? true }))(examples)) yield { epoch, b: b++, examples: examplesOfBatch };
  }
}

const syncBatches = (plan: EpochPlan, labeled: (g: Group) => LabeledBatch): Iterable<LabeledBatch> => ({
  *[Symbol.iterator]() {
    for (const g of groupsOf(plan, true)) yield labeled(g);
  },
});

/**
 * The groups' batches, their inputs assembled by `batchInputs` (gathered, distorted by `spec` and scaled:
 * the same bits as `augment` then `toBatch`) on `workers` worker threads (the parallel stage: order kept, at
 * most `readAhead` groups in flight). The workers read the images from one copy of the dataset's in shared
 * memory, so a task is its indices; without SharedArrayBuffer (a page that is not cross-origin isolated)
 * each group's images are copied into a buffer of their own and sent.
 */
async function* assembledOnWorkers(plan: EpochPlan, spec: DistortSpec, workers: number, classes: number, total: number): AsyncGenerator<LabeledBatch> {
  const { rows, cols } = plan.dataset;
  const size = rows * cols;
  const shared = inSharedMemory(plan.dataset.images);
  const sent: Group[] = []; // the groups whose images are out, in order (the results come back in that order)
  const tasks = async function* (): AsyncGenerator<DistortTask> {
    for (const g of groupsOf(plan, false)) {
      const indices = Uint32Array.from(g.examples, (e) => e.index);
      sent.push(g);
      const task = { indices, rows, cols, spec, seed: plan.seed, epoch: g.epoch };
      if (shared !== undefined) yield { ...task, images: shared, at: indices };
      else {
        const images = g.examples[0]?.image instanceof Float32Array ? new Float32Array(g.examples.length * size) : new Uint8Array(g.examples.length * size);
        g.examples.forEach((e, j) => images.set(e.image, j * size));
        yield { ...task, images };
      }
    }
  };
  // the workers return the batch's inputs, ready: the training thread touches no pixel
  const stage = parallel(workerModule<DistortTask, Float32Array>(BATCH_MODULE, 'batchInputs'), { workers, readAhead: plan.readAhead ?? 2 * workers, background: true });
  for await (const x of stage.ix(tasks())) {
    const g = sent.shift()!;
    yield { ...withTargets(x, size, g.examples, classes), epoch: g.epoch, batchInEpoch: g.b, lastInEpoch: g.b === total - 1 };
  }
}

/** The images in shared memory (themselves when they already are, else a copy); undefined where there is no SharedArrayBuffer. */
const inSharedMemory = (images: Uint8Array | Float32Array): Uint8Array | Float32Array | undefined => {
  if (typeof SharedArrayBuffer === 'undefined') return undefined;
  if (images.buffer instanceof SharedArrayBuffer) return images;
  const copy = images instanceof Uint8Array ? new Uint8Array(new SharedArrayBuffer(images.byteLength)) : new Float32Array(new SharedArrayBuffer(images.byteLength));
  copy.set(images);
  return copy;
};
