/**
 * Losses computed from the output layer's logits z (never from the log of an exponential), each with its
 * gradient dL/dz beside it. The batch loss is the mean over examples; the returned delta already carries
 * the 1/batch factor.
 *
 * - cross-entropy + softmax: L = logsumexp(z) * sum(t) - z.t, delta = softmax(z) * sum(t) - t (the fused
 *   gradient; `softmax - onehot` for one-hot targets). Finite for any finite logits.
 * - cross-entropy + sigmoid (binary, per output): L = sum max(z,0) - z t + log1p(exp(-|z|)), delta = sigmoid(z) - t.
 * - mse (any output activation a = act(z)): L = 1/2 sum (a - t)^2, delta = J_act(z)^T (a - t), with the full
 *   softmax Jacobian for a softmax output (a_j (g_j - a.g)), never a derivative replaced by 1.
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, shapeError, type GradpipeError } from '../errors.js';
import { type Float, type Matrix, matrix } from '../tensor/matrix.js';
import { freshWorkspace, type Workspace } from '../tensor/workspace.js';
import { sigmoid, type Activation } from './activation.js';

/** A loss by name; every loss is computed from the output layer's logits. */
export type LossName = 'cross-entropy' | 'mse';
/** Every loss name. */
export const LOSSES: readonly LossName[] = ['cross-entropy', 'mse'];

/** Parses a loss name; `where` names the option or file it came from. */
export const parseLoss = (name: string, where = '--loss'): E.Either<GradpipeError, LossName> =>
  (LOSSES as readonly string[]).includes(name)
    ? E.right(name as LossName)
    : E.left(optionError(where, `unknown loss '${name}'`, `use one of ${LOSSES.join(', ')}`));

/** Checks that the loss can be paired with the output activation. */
export const checkLossPairing = (loss: LossName, output: Activation): E.Either<GradpipeError, LossName> =>
  loss === 'cross-entropy' && output !== 'softmax' && output !== 'sigmoid'
    ? E.left(shapeError('--loss', `cross-entropy needs a softmax or sigmoid output, the output layer uses '${output}'`, 'use --output softmax (classes) or sigmoid (independent labels), or --loss mse'))
    : E.right(loss);

const FLOAT64 = new Float64Array(0);

/** What `lossFromLogits` computes for a batch. */
export interface LossResult<F extends Float> {
  /** Mean loss over the batch (double precision). */
  readonly loss: number;
  /** Per-example losses (double precision), in batch order. */
  readonly perExample: Float64Array;
  /** dL/dz, including the 1/batch factor. */
  readonly delta: Matrix<F>;
  /** The output layer's activations act(z). */
  readonly output: Matrix<F>;
}

/**
 * Loss, per-example losses, gradient w.r.t. the logits and the output activations, in new buffers or in
 * `ws`'s (every entry is written).
 */
export const lossFromLogits = <F extends Float>(
  loss: LossName,
  output: Activation,
  logits: Matrix<F>,
  targets: Matrix<Float>,
  ws: Workspace = freshWorkspace,
): LossResult<F> => {
  const { rows, cols } = logits;
  if (targets.rows !== rows || targets.cols !== cols) {
    throw new RangeError(
      targets.cols !== cols
        ? `loss: the targets have ${targets.cols} classes but the network has ${cols} outputs; build the network with ${targets.cols} outputs (the last of its sizes), or give the dataset classes: ${cols}`
        : `loss: targets are ${targets.rows}x${targets.cols}, logits are ${rows}x${cols}`,
    );
  }
  const z = logits.data;
  const t = targets.data;
  const delta = ws.get('loss.delta', z, rows * cols);
  const out = ws.get('loss.output', z, rows * cols);
  const perExample = ws.get('loss.perExample', FLOAT64, rows);
  const inv = rows === 0 ? 0 : 1 / rows;
  const act = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let li = 0;
    if (output === 'softmax') {
      let max = -Infinity;
      for (let j = 0; j < cols; j++) if (z[o + j]! > max) max = z[o + j]!;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(z[o + j]! - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < cols; j++) act[j] = Math.exp(z[o + j]! - lse);
      if (loss === 'cross-entropy') {
        let tsum = 0;
        for (let j = 0; j < cols; j++) {
          const tj = t[o + j]!;
          tsum += tj;
          if (tj !== 0) li += tj * (lse - z[o + j]!);
        }
        for (let j = 0; j < cols; j++) delta[o + j] = (act[j]! * tsum - t[o + j]!) * inv;
      } else {
        let ag = 0;
        for (let j = 0; j < cols; j++) {
          const g = act[j]! - t[o + j]!;
          li += 0.5 * g * g;
          ag += act[j]! * g;
        }
        for (let j = 0; j < cols; j++) delta[o + j] = act[j]! * (act[j]! - t[o + j]! - ag) * inv;
      }
    } else if (output === 'sigmoid') {
      for (let j = 0; j < cols; j++) {
        const zj = z[o + j]!;
        const tj = t[o + j]!;
        const s = sigmoid(zj);
        act[j] = s;
        if (loss === 'cross-entropy') {
          li += Math.max(zj, 0) - zj * tj + Math.log1p(Math.exp(-Math.abs(zj)));
          delta[o + j] = (s - tj) * inv;
        } else {
          const g = s - tj;
          li += 0.5 * g * g;
          delta[o + j] = g * s * (1 - s) * inv;
        }
      }
    } else if (output === 'identity' && loss === 'mse') {
      for (let j = 0; j < cols; j++) {
        act[j] = z[o + j]!;
        const g = z[o + j]! - t[o + j]!;
        li += 0.5 * g * g;
        delta[o + j] = g * inv;
      }
    } else {
      throw new RangeError(`loss: ${loss} cannot be paired with a '${output}' output (checkLossPairing first)`);
    }
    for (let j = 0; j < cols; j++) out[o + j] = act[j]!;
    perExample[i] = li;
  }
  let total = 0;
  for (let i = 0; i < rows; i++) total += perExample[i]!;
  return { loss: total * inv, perExample, delta: matrix(rows, cols, delta), output: matrix(rows, cols, out) };
};
