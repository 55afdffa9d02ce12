/**
 * NaN provenance: where the first non-finite value of a training step is. Tensors are searched in the order
 * the step computed them (parameters, then the forward pass layer by layer, the loss, then the backward
 * pass from the output layer down), so the one named is where the trouble began, not where it spread to.
 */
import type { Backprop } from '../nn/grad.js';
import type { Network } from '../nn/network.js';
import type { Float } from '../tensor/matrix.js';
import { divergenceHints } from './advice.js';

/** Where a non-finite value is: the layer (undefined for the loss), the tensor, how many entries, and one of them. */
export interface NonFiniteLocation {
  readonly layer: number | undefined;
  readonly tensor: 'weights' | 'bias' | 'activations' | 'logits' | 'loss' | 'weight gradient' | 'bias gradient';
  /** How many entries of that tensor are not finite. */
  readonly count: number;
  /** An example entry: its flat index and value (NaN, Infinity or -Infinity). */
  readonly index: number;
  readonly value: number;
}

const firstBad = (data: ArrayLike<number>): { count: number; index: number; value: number } | undefined => {
  let count = 0;
  let index = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (index < 0) index = i;
      count++;
    }
  }
  return count === 0 ? undefined : { count, index, value: data[index]! };
};

/** The first non-finite tensor of a network (and of a step computed on it), or undefined if all are finite. */
export const locateNonFinite = <F extends Float>(net: Network<F>, step?: Backprop<F>): NonFiniteLocation | undefined => {
  const L = net.layers.length;
  for (let l = 0; l < L; l++) {
    const w = firstBad(net.layers[l]!.weight.data);
    if (w) return { layer: l, tensor: 'weights', ...w };
    const b = firstBad(net.layers[l]!.bias);
    if (b) return { layer: l, tensor: 'bias', ...b };
  }
  if (!step) return undefined;
  for (let l = 0; l < L; l++) {
    if (l === L - 1) {
      const z = firstBad(step.forward.logits.data);
      if (z) return { layer: l, tensor: 'logits', ...z };
    }
    const a = firstBad(step.forward.outputs[l]!.data);
    if (a) return { layer: l, tensor: 'activations', ...a };
  }
  if (!Number.isFinite(step.loss)) return { layer: undefined, tensor: 'loss', count: 1, index: 0, value: step.loss };
  for (let l = L - 1; l >= 0; l--) {
    const g = step.gradient.layers[l]!;
    const w = firstBad(g.weight.data);
    if (w) return { layer: l, tensor: 'weight gradient', ...w };
    const b = firstBad(g.bias);
    if (b) return { layer: l, tensor: 'bias gradient', ...b };
  }
  return undefined;
};

/** One line for a location, e.g. `3 non-finite values (first: NaN at index 7) in the activations of layer 1`. */
export const describeLocation = (loc: NonFiniteLocation): string =>
  `${loc.count} non-finite value${loc.count === 1 ? '' : 's'} (first: ${loc.value} at index ${loc.index}) in the ${loc.tensor}${loc.layer === undefined ? '' : ` of layer ${loc.layer}`}`;

/** Concrete advice for a divergence, for any configuration (`divergenceHints(setup)` words it for one). */
export const DIVERGENCE_HINTS: readonly string[] = divergenceHints();
