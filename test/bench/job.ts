/**
 * The node-free pieces of the training benchmark, shared by its Node side (common.ts re-exports them) and
 * the browser bench's worker (test/bench/browser/): the job every system runs, its measurement, the
 * network as one flat float32 buffer (how weights travel to TensorFlow.js, jax-js and numpy and back), and
 * the batches of a job as gradpipe's pipeline makes them.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Dataset } from '../../src/data/layout.js';
import { initNetwork } from '../../src/nn/init.js';
import type { Network } from '../../src/nn/network.js';
import type { LabeledBatch } from '../../src/stages/batch.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { takeDataset } from '../../src/stages/read.js';
import { matrix } from '../../src/tensor/matrix.js';

/** The seed of the initial weights and of the batch order, for every system. */
export const SEED = 1;

export const LR = 0.1;

/** One timed training run: `warmup` samples untimed, then `samples` timed, at `batch`, hidden width `hidden`. */
export interface Job {
  readonly hidden: number;
  readonly batch: number;
  readonly warmup: number;
  readonly samples: number;
}

export interface Measurement {
  readonly seconds: number;
  /** Samples in the timed part. */
  readonly samples: number;
  /** Mean loss of the last ten batches: systems that did the same work agree on it. */
  readonly tailLoss: number;
  /** The trained parameters, flat (see `flatten`). */
  readonly weights: Float32Array;
  /** Seconds of the timed part spent updating the parameters, when the system reports it (numpy). */
  readonly updateSeconds?: number;
}

/** 784-hidden-10, ReLU, softmax, He init from the shared seed. */
export const initialNetwork = (hidden: number): Network => {
  const net = initNetwork({ sizes: [784, hidden, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, SEED);
  if (E.isLeft(net)) throw new Error(net.left.message);
  return net.right;
};

/** W1 (hidden x 784, row-major), b1, W2 (10 x hidden), b2 in one buffer. */
export const flatten = (net: Network): Float32Array => {
  const parts = net.layers.flatMap((l) => [l.weight.data, l.bias]);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** The [out, in] row-major matrix as [in, out]. */
export const transposed = (w: Float32Array, rows: number, cols: number): Float32Array => {
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j]!;
  return t;
};

/** The inverse of `flatten` for 784-hidden-10. */
export const unflatten = (flat: Float32Array, hidden: number): Network => {
  const cut = [hidden * 784, hidden, 10 * hidden, 10];
  const at = (i: number) => cut.slice(0, i).reduce((a, b) => a + b, 0);
  const part = (i: number) => flat.slice(at(i), at(i) + cut[i]!);
  return {
    layers: [
      { weight: matrix(hidden, 784, part(0)), bias: part(1), activation: 'relu' },
      { weight: matrix(10, hidden, part(2)), bias: part(3), activation: 'softmax' },
    ],
  };
};


/** The training examples a job reads: the first warmup + samples of the training set. */
export const jobData = (train: Dataset, job: Job): Dataset => takeDataset(train, 0, job.warmup + job.samples);

/** The job's batches as the pipeline makes them (one shuffled epoch of `jobData`, full batches only); with reuseInputs, borrowed (epochBatches). */
export const jobBatches = (train: Dataset, job: Job, reuseInputs = false): AsyncIterable<LabeledBatch> =>
  epochBatches({ dataset: jobData(train, job), seed: SEED, batchSize: job.batch, epochs: 1, keepLast: false, reuseInputs });

/** Every batch of the job, materialised (for TensorFlow.js, and the example order for numpy). */
export const collectBatches = async (train: Dataset, job: Job): Promise<LabeledBatch[]> => {
  const out: LabeledBatch[] = [];
  for await (const b of jobBatches(train, job)) out.push(b);
  return out;
};

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
