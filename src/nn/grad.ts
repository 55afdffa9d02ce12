/**
 * `grad`: the batch gradient by backpropagation with batched GEMMs, mirroring the Haskell design's
 * `grad :: a -> p -> m (Grad a)`. With delta_L = dL/dZ_L from the loss on logits:
 *   dW_l = delta_l^T A_{l-1},  db_l = column sums of delta_l,
 *   delta_{l-1} = (delta_l W_l) * act'_{l-1}  (the derivative written through A_{l-1}).
 * The result is averaged over the batch (the delta carries 1/batch).
 *
 * Its law is stated on `grad` below; that backprop matches central differences is the law of
 * `gradientCheck` (diagnostics/gradcheck.ts).
 */
import type { Backend } from '../tensor/backend.js';
import { columnSumsInto } from '../tensor/kernels.js';
import { matrix, type Float, type Matrix } from '../tensor/matrix.js';
import { freshWorkspace, type Workspace } from '../tensor/workspace.js';
import { dropoutMasks, type DropoutMasks, type DropoutStep } from './dropout.js';
import { forward, type Forward } from './forward.js';
import type { BatchGrad, ParamGrad } from './gradient.js';
import { lossFromLogits, type LossName, type LossResult } from './loss.js';
import type { Network } from './network.js';
import { opsFor } from './ops.js';

/** A minibatch: inputs (rows = examples) and targets (one-hot rows for classification). */
export interface Batch<F extends Float = Float32Array> {
  readonly inputs: Matrix<F>;
  readonly targets: Matrix<F>;
}

/** Everything one backprop pass computed (the diagnostics read the intermediates). */
export interface Backprop<F extends Float> extends BatchGrad<F> {
  readonly forward: Forward<F>;
  readonly lossResult: LossResult<F>;
}

/**
 * Forward, loss and backward in one pass, keeping the intermediates. With `dropout` (a step's rate, seed
 * and step number, or masks drawn already), hidden outputs are masked in the forward pass and their
 * deltas by the same masks in the backward pass (see nn/dropout). With `measure`, the forward pass also
 * measures each layer's activation range (`forward.ranges`).
 */
export const backprop = <F extends Float>(
  loss: LossName,
  net: Network<F>,
  batch: Batch<F>,
  backend?: Backend,
  ws: Workspace = freshWorkspace,
  dropout?: DropoutStep | { readonly masks: DropoutMasks<F> },
  measure = false,
): Backprop<F> => {
  const masks = dropout === undefined ? [] : 'masks' in dropout ? dropout.masks : dropoutMasks(batch.inputs.data, net, batch.inputs.rows, dropout, ws);
  const fw = forward(net, batch.inputs, backend, ws, masks, measure);
  const L = net.layers.length;
  const out = net.layers[L - 1]!;
  const lr = lossFromLogits(loss, out.activation, fw.logits, batch.targets, ws);
  const ops = opsFor(batch.inputs.data, backend);
  const m = batch.inputs.rows;
  const grads: ParamGrad<F>[] = new Array(L);
  let delta = lr.delta.data;
  for (let l = L - 1; l >= 0; l--) {
    const layer = net.layers[l]!;
    const nOut = layer.weight.rows;
    const nIn = layer.weight.cols;
    const prev = l === 0 ? fw.input : (fw.dropped[l - 1] ?? fw.outputs[l - 1]!);
    const dW = ws.get(`dW${l}`, delta, nOut * nIn);
    ops.gemm(true, false, nOut, nIn, m, 1, delta, prev.data, 0, dW);
    const db = ws.get(`db${l}`, delta, nOut);
    if (ops.columnSums) ops.columnSums(delta, m, nOut, db);
    else columnSumsInto(delta, m, nOut, db);
    grads[l] = { weight: matrix(nOut, nIn, dW), bias: db };
    if (l > 0) {
      const dA = ws.get(`dA${l}`, delta, m * nIn);
      ops.gemm(false, false, m, nIn, nOut, 1, delta, layer.weight.data, 0, dA);
      const below = net.layers[l - 1]!.activation;
      if (below === 'softmax') throw new RangeError('grad: softmax is only allowed on the output layer');
      // through the mask (d(A m)/dA = m), then the activation, whose derivative reads the unmasked A
      const mask = masks[l - 1];
      if (mask) for (let i = 0; i < dA.length; i++) dA[i] = dA[i]! * mask[i]!;
      ops.activationBackward(dA, fw.outputs[l - 1]!.data, below, dA);
      delta = dA;
    }
  }
  return { gradient: { layers: grads }, loss: lr.loss, count: m, forward: fw, lossResult: lr };
};

/**
 * `grad(loss)(network, batch)`: the mean gradient and mean loss of the batch, by backpropagation.
 *
 * Law: grad of (b1 ++ b2) = (|b1|*grad(b1) + |b2|*grad(b2)) / (|b1|+|b2|), which is batchGradMonoid(net).concat
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { batchGradMonoid, grad, initNetwork, matrix, orThrow } from 'gradpipe';
 *
 * const net = orThrow(initNetwork({ sizes: [3, 4, 2], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, 7));
 * const batchOf = (xs: number[][], classes: number[]) => ({
 *   inputs: matrix(xs.length, 3, Float32Array.from(xs.flat())),
 *   targets: matrix(xs.length, 2, Float32Array.from(classes.flatMap((c) => (c === 0 ? [1, 0] : [0, 1])))),
 * });
 * const g = grad('cross-entropy');
 * const b1 = g(net, batchOf([[0.1, 0.2, 0.3]], [0]));
 * const b2 = g(net, batchOf([[0.9, 0.1, 0.5], [0.4, 0.4, 0.8]], [1, 0]));
 * const both = g(net, batchOf([[0.1, 0.2, 0.3], [0.9, 0.1, 0.5], [0.4, 0.4, 0.8]], [0, 1, 0]));
 * const combined = batchGradMonoid(net).concat(b1, b2);
 * assert.equal(combined.count, 3);
 * assert.ok(Math.abs(combined.loss - both.loss) < 1e-6);
 * both.gradient.layers.forEach((l, i) =>
 *   l.weight.data.forEach((v, k) => assert.ok(Math.abs(v - combined.gradient.layers[i]!.weight.data[k]!) < 1e-6)),
 * );
 * ```
 */
export const grad =
  (loss: LossName, backend?: Backend) =>
  <F extends Float>(net: Network<F>, batch: Batch<F>): BatchGrad<F> => {
    const { gradient, loss: value, count } = backprop(loss, net, batch, backend);
    return { gradient, loss: value, count };
  };
