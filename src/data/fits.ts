/**
 * Whether a network can take a dataset: its first layer's inputs against the examples' size, its last
 * layer's outputs against the class count. The error names both sizes and what to change.
 */
import * as E from 'fp-ts/lib/Either.js';
import { shapeError, type GradpipeError } from '../errors.js';
import { inputSize, outputSize, type Network } from '../nn/network.js';
import type { Float } from '../tensor/matrix.js';
import type { Dataset } from './dataset.js';

/** `Left` naming `what` (e.g. `dataset`) when `ds` does not fit `net`; `Right(ds)` otherwise. */
export const checkFits = <D extends Pick<Dataset, 'rows' | 'cols' | 'classes'>>(net: Network<Float>, ds: D, what = 'dataset'): E.Either<GradpipeError, D> => {
  const size = ds.rows * ds.cols;
  const sizes = net.layers.map((l) => l.weight.cols).concat(outputSize(net)).join('-');
  if (inputSize(net) !== size) {
    return E.left(
      shapeError(what, `examples have ${size} values but the network (${sizes}) takes ${inputSize(net)} inputs`, `build the network with ${size} inputs (sizes: [${size}, ...]), or give data of ${inputSize(net)} values per example`),
    );
  }
  if (outputSize(net) < ds.classes) {
    return E.left(
      shapeError(what, `has ${ds.classes} classes but the network (${sizes}) has ${outputSize(net)} outputs`, `build the network with ${ds.classes} outputs (the last of sizes)`),
    );
  }
  return E.right(ds);
};
