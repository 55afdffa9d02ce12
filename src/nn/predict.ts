/**
 * Predictions for raw inputs: scaled as the training data was (`InputScaling`, from `scalingOf(dataset)` or
 * a loaded model's `scaling`), run through the network, read as a class and its probabilities.
 */
import * as E from 'fp-ts/lib/Either.js';
import { scaleRow, type InputScaling } from '../data/scaling.js';
import { GradpipeException } from '../errors.js';
import { matrix, type Matrix } from '../tensor/matrix.js';
import { softmaxRows } from './activation.js';
import { forward } from './forward.js';
import { inputSize, type Network } from './network.js';

/** What the network says about one input. */
export interface Prediction {
  /** The most probable class (the first, on ties). */
  readonly class: number;
  /** One probability per class (the softmax of the logits), summing to 1. */
  readonly probabilities: Float32Array;
}

const isRow = (x: ArrayLike<number> | readonly ArrayLike<number>[]): x is ArrayLike<number> =>
  x.length === 0 || typeof (x as ArrayLike<unknown>)[0] === 'number';

/**
 * The class and probabilities `net` gives one input (a row of raw numbers: pixels 0..255 for an image
 * model, features as given to `floatDataset`), or each of many; `scaling` is the training data's
 * (`scalingOf(train)`, or `loadModel(...).scaling`). Throws a `GradpipeException` naming `inputs[i]` when
 * an input has the wrong length or a non-finite value.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { createNetwork, matrix, orThrow, predict } from 'gradpipe';
 *
 * // one layer that says "class 1" when the single pixel is brighter than half
 * const net = orThrow(createNetwork([{ weight: matrix(2, 1, Float32Array.of(-10, 10)), bias: Float32Array.of(5, -5), activation: 'softmax' }]));
 * assert.equal(predict(net, [200], { kind: 'pixels/255' }).class, 1);
 * assert.deepEqual(predict(net, [[0], [255]], { kind: 'pixels/255' }).map((p) => p.class), [0, 1]);
 * ```
 */
export function predict(net: Network, input: ArrayLike<number>, scaling: InputScaling): Prediction;
export function predict(net: Network, inputs: readonly ArrayLike<number>[], scaling: InputScaling): Prediction[];
export function predict(net: Network, inputs: ArrayLike<number> | readonly ArrayLike<number>[], scaling: InputScaling): Prediction | Prediction[] {
  const one = isRow(inputs);
  const rows: readonly ArrayLike<number>[] = one ? [inputs] : inputs;
  const width = inputSize(net);
  const x = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    const scaled = scaleRow(scaling, r, width, x, i * width, one ? 'input' : `inputs[${i}]`);
    if (E.isLeft(scaled)) throw new GradpipeException(scaled.left);
  });
  const { logits } = forward(net, matrix(rows.length, width, x));
  const out = predictionsOf(logits);
  return one ? out[0]! : out;
}

/** Softmax and argmax of each row of logits. */
const predictionsOf = (logits: Matrix<Float32Array>): Prediction[] => {
  const { rows, cols } = logits;
  const p = new Float32Array(rows * cols);
  softmaxRows(logits.data, rows, cols, p);
  return Array.from({ length: rows }, (_, i) => {
    const probabilities = p.slice(i * cols, (i + 1) * cols);
    let best = 0;
    for (let j = 1; j < cols; j++) if (probabilities[j]! > probabilities[best]!) best = j;
    return { class: best, probabilities };
  });
};
