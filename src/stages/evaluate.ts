/**
 * Evaluation: loss, accuracy and the confusion matrix of a network on labelled batches, streamed. Losses are
 * summed per example in double precision and divided once, so the result does not depend on how the data
 * was cut into batches. Its law is stated on `evaluate` below.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Dataset } from '../data/dataset.js';
import { checkFits } from '../data/fits.js';
import { GradpipeException } from '../errors.js';
import type { Backend } from '../tensor/backend.js';
import { argmaxRows } from '../tensor/matrix.js';
import { forward } from '../nn/forward.js';
import type { Batch } from '../nn/grad.js';
import { lossFromLogits, type LossName } from '../nn/loss.js';
import { outputSize, type Network } from '../nn/network.js';
import { batch, toBatch } from './batch.js';
import { readDataset, type Example } from './read.js';
import { emit, map, pipeline, runStage, type Stage } from './stage.js';

/** The result of an evaluation. */
export interface Evaluation {
  readonly count: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly correct: number;
  /** confusion[actual][predicted] counts. */
  readonly confusion: readonly (readonly number[])[];
}

/** Options of `evaluate` and `evaluation`. */
export interface EvaluateOptions {
  readonly loss: LossName;
  /** Examples per forward pass (default 1000). */
  readonly batchSize?: number;
  readonly backend?: Backend;
}

interface Acc {
  count: number;
  lossSum: number;
  correct: number;
  confusion: number[][];
}

/**
 * Accumulates labelled batches; emits one `Evaluation` when its input ends. `evaluate` runs it, and the
 * batch-size law stated there is this stage's.
 */
export const evaluation = (net: Network, opts: EvaluateOptions): Stage<Batch & { labels: Uint8Array }, Evaluation, Acc> => {
  const classes = outputSize(net);
  const out = net.layers[net.layers.length - 1]!.activation;
  return {
    init: () => ({ count: 0, lossSum: 0, correct: 0, confusion: Array.from({ length: classes }, () => new Array<number>(classes).fill(0)) }),
    step: (s, b) => {
      const fw = forward(net, b.inputs, opts.backend);
      const lr = lossFromLogits(opts.loss, out, fw.logits, b.targets);
      for (const l of lr.perExample) s.lossSum += l;
      const predicted = argmaxRows(lr.output);
      for (let i = 0; i < predicted.length; i++) {
        const actual = b.labels[i]!;
        const p = predicted[i]!;
        if (p === actual) s.correct++;
        s.confusion[actual]![p]!++;
      }
      s.count += b.inputs.rows;
      return emit(s);
    },
    flush: (s) => [
      {
        count: s.count,
        loss: s.count === 0 ? NaN : s.lossSum / s.count,
        accuracy: s.count === 0 ? NaN : s.correct / s.count,
        correct: s.correct,
        confusion: s.confusion,
      },
    ],
  };
};

/**
 * Evaluates `net` on a whole dataset, in dataset order, `batchSize` examples per forward pass. Throws a
 * `GradpipeException` naming both sizes when the network does not fit the data (see `checkFits`).
 *
 * Law: invariant to evaluation batch size: evaluate(net, ds, b1) = evaluate(net, ds, b2) (loss up to float
 * tolerance, accuracy and confusion exactly).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { createNetwork, evaluate, matrix, orThrow, type Dataset } from 'gradpipe';
 *
 * // one layer that says "class 1" when the single pixel is brighter than half
 * const net = orThrow(createNetwork([{ weight: matrix(2, 1, Float32Array.of(-10, 10)), bias: Float32Array.of(5, -5), activation: 'softmax' }]));
 * const ds: Dataset = { count: 4, rows: 1, cols: 1, classes: 2, images: Uint8Array.of(0, 255, 200, 30), labels: Uint8Array.of(0, 1, 0, 0) };
 * const e = evaluate(net, ds, { loss: 'cross-entropy' });
 * assert.equal(e.accuracy, 0.75);
 * assert.deepEqual(e.confusion, [[2, 1], [0, 1]]); // confusion[actual][predicted]
 * const oneByOne = evaluate(net, ds, { loss: 'cross-entropy', batchSize: 1 });
 * assert.deepEqual(oneByOne.confusion, e.confusion);
 * assert.ok(Math.abs(oneByOne.loss - e.loss) < 1e-9);
 * ```
 */
export const evaluate = (net: Network, ds: Dataset, opts: EvaluateOptions): Evaluation => {
  const fits = checkFits(net, ds);
  if (E.isLeft(fits)) throw new GradpipeException(fits.left);
  const classes = outputSize(net);
  const stages = pipeline(batch<Example>(opts.batchSize ?? 1000), map((xs: Example[]) => toBatch(xs, classes)), evaluation(net, opts));
  return runStage(stages, readDataset(ds))[0]!;
};
