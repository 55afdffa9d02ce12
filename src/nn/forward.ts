/**
 * The forward pass, batched: Z_l = A_{l-1} W_l^T + b_l, A_l = act_l(Z_l). Keeps what backprop and the
 * diagnostics need: every layer's output, and the output layer's logits (losses are computed from logits).
 */
import type { Backend } from '../tensor/backend.js';
import { allocLike, matrix, type Float, type Matrix } from '../tensor/matrix.js';
import { absRange } from '../tensor/reduce.js';
import { freshWorkspace, type Workspace } from '../tensor/workspace.js';
import { softmaxRows } from './activation.js';
import type { DropoutMasks } from './dropout.js';
import type { Network } from './network.js';
import { opsFor } from './ops.js';

/** What a forward pass keeps: the input, every layer's output and the output layer's logits. */
export interface Forward<F extends Float> {
  /** The input batch (rows = examples). */
  readonly input: Matrix<F>;
  /** outputs[l] = A_l, the activations of layer l (the last one is the network's output). */
  readonly outputs: readonly Matrix<F>[];
  /**
   * With dropout, dropped[l] = A_l scaled by its mask: what layer l + 1 read (undefined where layer l had
   * no mask, and then layer l + 1 read outputs[l]).
   */
  readonly dropped: readonly (Matrix<F> | undefined)[];
  /** Z_L, the output layer's pre-activations. */
  readonly logits: Matrix<F>;
  /**
   * With `measure`: ranges[l] = absRange(outputs[l]) (src/tensor/reduce.ts), the largest magnitude and the
   * smallest nonzero one, measured in the kernel's epilogue where the backend can (`biasActivationRange`).
   */
  readonly ranges?: readonly Float64Array[];
}

/**
 * Runs the network on a batch of inputs (rows = examples, cols = the network's input size); with `masks`
 * (see nn/dropout), hidden layer l's outputs are multiplied by masks[l] before the next layer reads them.
 * With `measure`, the result also carries each layer's activation range (`ranges`).
 */
export const forward = <F extends Float>(
  net: Network<F>,
  input: Matrix<F>,
  backend?: Backend,
  ws: Workspace = freshWorkspace,
  masks: DropoutMasks<F> = [],
  measure = false,
): Forward<F> => {
  const first = net.layers[0]!;
  if (input.cols !== first.weight.cols) {
    throw new RangeError(
      `forward: the examples have ${input.cols} values but the network's first layer takes ${first.weight.cols} inputs; build the network with ${input.cols} inputs, or give it data of ${first.weight.cols} values per example`,
    );
  }
  const ops = opsFor(input.data, backend);
  const m = input.rows;
  const outputs: Matrix<F>[] = [];
  const dropped: (Matrix<F> | undefined)[] = [];
  const ranges: Float64Array[] = [];
  let a = input;
  let logits = input;
  net.layers.forEach((layer, l) => {
    const n = layer.weight.rows;
    const k = layer.weight.cols;
    const z = ws.get(`z${l}`, input.data, m * n);
    ops.gemm(false, true, m, n, k, 1, a.data, layer.weight.data, 0, z);
    const last = l === net.layers.length - 1;
    if (last) {
      const zb = ws.get('logits', input.data, m * n);
      ops.biasActivation(z, layer.bias, m, n, 'identity', zb);
      logits = matrix(m, n, zb);
      if (layer.activation === 'softmax') softmaxRows(zb, m, n, z);
      else ops.biasActivation(zb, allocLike(input.data, n), m, n, layer.activation, z);
      if (measure) ranges.push(absRange(z, new Float64Array(2)));
    } else {
      if (layer.activation === 'softmax') throw new RangeError('forward: softmax is only allowed on the output layer');
      const range = measure ? new Float64Array(2) : undefined;
      if (range && ops.biasActivationRange) ops.biasActivationRange(z, layer.bias, m, n, layer.activation, z, range);
      else ops.biasActivation(z, layer.bias, m, n, layer.activation, z);
      if (range && !ops.biasActivationRange) absRange(z, range);
      if (range) ranges.push(range);
    }
    a = matrix(m, n, z);
    outputs.push(a);
    const mask = last ? undefined : masks[l];
    if (mask) {
      if (mask.length !== m * n) throw new RangeError(`forward: the dropout mask of layer ${l} has ${mask.length} factors, the batch ${m}x${n} outputs`);
      const d = ws.get(`dropped${l}`, input.data, m * n);
      for (let i = 0; i < d.length; i++) d[i] = z[i]! * mask[i]!;
      a = matrix(m, n, d);
    }
    dropped.push(mask ? a : undefined);
  });
  return measure ? { input, outputs, dropped, logits, ranges } : { input, outputs, dropped, logits };
};

/** The network's outputs for a batch of inputs. */
export const predict = <F extends Float>(net: Network<F>, input: Matrix<F>, backend?: Backend): Matrix<F> =>
  forward(net, input, backend).outputs[net.layers.length - 1]!;
