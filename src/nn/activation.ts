/**
 * Activations, each with its derivative beside it. Point-wise activations come from the tensor kernels; the
 * derivative of each is written through its output a = act(z) (see `activationDerivative`), so backprop only
 * keeps outputs. Softmax couples a row and is allowed only on the output layer, where losses on logits handle
 * it (fused `softmax - target` with cross-entropy, the full Jacobian with MSE).
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';
import type { PointwiseActivation } from '../tensor/kernels.js';
export { activationDerivative, sigmoid } from '../tensor/kernels.js';
export type { PointwiseActivation } from '../tensor/kernels.js';

/** An activation by name: a point-wise one, or softmax (output layer only). */
export type Activation = PointwiseActivation | 'softmax';

/** The activations a hidden layer may use (softmax couples a row, so it is output-only). */
export const HIDDEN_ACTIVATIONS: readonly PointwiseActivation[] = ['identity', 'relu', 'leaky-relu', 'sigmoid', 'tanh'];
/** The activations an output layer may use. */
export const OUTPUT_ACTIVATIONS: readonly Activation[] = ['identity', 'sigmoid', 'softmax'];
/** Every activation name. */
export const ACTIVATIONS: readonly Activation[] = [...HIDDEN_ACTIVATIONS, 'softmax'];

/** True when `s` names an activation. */
export const isActivation = (s: string): s is Activation => (ACTIVATIONS as readonly string[]).includes(s);

/** Parses an activation name; `where` names the option or file it came from. */
export const parseActivation = (
  name: string,
  where: string,
  allowed: readonly Activation[] = ACTIVATIONS,
): E.Either<GradpipeError, Activation> =>
  isActivation(name) && allowed.includes(name)
    ? E.right(name)
    : E.left(optionError(where, `unknown activation '${name}'`, `use one of ${allowed.join(', ')}`));

/** Softmax of each row of a rows x cols buffer, written into out (may alias z); stable for any finite logits. */
export const softmaxRows = <F extends Float32Array | Float64Array>(z: F, rows: number, cols: number, out: F): void => {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (z[o + j]! > max) max = z[o + j]!;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(z[o + j]! - max);
    for (let j = 0; j < cols; j++) out[o + j] = Math.exp(z[o + j]! - max) / sum;
  }
};
