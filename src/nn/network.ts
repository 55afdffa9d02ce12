/**
 * Networks are immutable values: a list of fully connected layers, each with weights shaped [out, in] (the
 * safetensors convention), a bias of length out and an activation. Construction validates every shape and
 * returns an `Either` whose left names the layer and the two sizes that disagree.
 */
import * as E from 'fp-ts/lib/Either.js';
import { shapeError, type GradpipeError } from '../errors.js';
import { matrix, type Float, type Matrix } from '../tensor/matrix.js';
import { HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, type Activation } from './activation.js';

/** A fully connected layer: A = act(Z) with Z = X W^T + b. */
export interface Layer<F extends Float = Float32Array> {
  /** rows = outputs, cols = inputs. */
  readonly weight: Matrix<F>;
  readonly bias: F;
  readonly activation: Activation;
}

/** A network, input layer first; build one with `initNetwork` (seeded) or `createNetwork` (validated). */
export interface Network<F extends Float = Float32Array> {
  readonly layers: readonly Layer<F>[];
}

/** Validates shapes and activations: each layer's inputs equal the previous layer's outputs. */
export const createNetwork = <F extends Float>(layers: readonly Layer<F>[]): E.Either<GradpipeError, Network<F>> => {
  if (layers.length === 0) return E.left(shapeError('network', 'a network needs at least one layer', 'give at least two sizes, e.g. 784-10'));
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    const where = `layer ${i}`;
    if (l.weight.rows === 0 || l.weight.cols === 0) {
      return E.left(shapeError(where, `zero-sized layer (${l.weight.cols} inputs, ${l.weight.rows} outputs)`, 'every layer needs at least one input and one output'));
    }
    if (l.weight.data.length !== l.weight.rows * l.weight.cols) {
      return E.left(shapeError(where, `weight buffer holds ${l.weight.data.length} values for shape ${l.weight.rows}x${l.weight.cols}`, 'build weights with matrix(rows, cols, data)'));
    }
    if (l.bias.length !== l.weight.rows) {
      return E.left(shapeError(where, `bias has ${l.bias.length} values but the layer has ${l.weight.rows} outputs`, 'give one bias per output unit'));
    }
    if (i > 0 && l.weight.cols !== layers[i - 1]!.weight.rows) {
      return E.left(shapeError(where, `takes ${l.weight.cols} inputs but layer ${i - 1} gives ${layers[i - 1]!.weight.rows} outputs`, 'make each layer\'s input size equal the previous layer\'s output size'));
    }
    const last = i === layers.length - 1;
    const allowed: readonly Activation[] = last ? OUTPUT_ACTIVATIONS : HIDDEN_ACTIVATIONS;
    if (!allowed.includes(l.activation)) {
      return E.left(shapeError(where, `activation '${l.activation}' is not allowed on ${last ? 'the output' : 'a hidden'} layer`, `use one of ${allowed.join(', ')}`));
    }
  }
  return E.right({ layers });
};

/** Layer sizes, input first: [784, 1000, 10]. */
export const sizes = (net: Network<Float>): number[] => [net.layers[0]!.weight.cols, ...net.layers.map((l) => l.weight.rows)];

/** The number of inputs (the first layer's columns). */
export const inputSize = (net: Network<Float>): number => net.layers[0]!.weight.cols;
/** The number of outputs (the last layer's rows): the classes of a classifier. */
export const outputSize = (net: Network<Float>): number => net.layers[net.layers.length - 1]!.weight.rows;

/** Number of trainable parameters. */
export const parameterCount = (net: Network<Float>): number =>
  net.layers.reduce((s, l) => s + l.weight.data.length + l.bias.length, 0);

/** The same network in float64 (for gradient checks and references). */
export const toFloat64 = (net: Network<Float>): Network<Float64Array> => ({
  layers: net.layers.map((l) => ({
    weight: matrix(l.weight.rows, l.weight.cols, Float64Array.from(l.weight.data)),
    bias: Float64Array.from(l.bias),
    activation: l.activation,
  })),
});

/** The same network in float32. */
export const toFloat32 = (net: Network<Float>): Network<Float32Array> => ({
  layers: net.layers.map((l) => ({
    weight: matrix(l.weight.rows, l.weight.cols, Float32Array.from(l.weight.data)),
    bias: Float32Array.from(l.bias),
    activation: l.activation,
  })),
});

/** A deep copy (a snapshot that stays valid whatever happens to the original's buffers). */
export const cloneNetwork = <F extends Float>(net: Network<F>): Network<F> => ({
  layers: net.layers.map((l) => ({
    weight: matrix(l.weight.rows, l.weight.cols, l.weight.data.slice() as F),
    bias: l.bias.slice() as F,
    activation: l.activation,
  })),
});

/** True when both networks have the same shapes, activations and bit-identical parameters. */
export const networksEqual = (a: Network<Float>, b: Network<Float>): boolean =>
  a.layers.length === b.layers.length &&
  a.layers.every((la, i) => {
    const lb = b.layers[i]!;
    return (
      la.activation === lb.activation &&
      la.weight.rows === lb.weight.rows &&
      la.weight.cols === lb.weight.cols &&
      bitsEqual(la.weight.data, lb.weight.data) &&
      bitsEqual(la.bias, lb.bias)
    );
  });

const bitsEqual = (x: Float, y: Float): boolean => {
  if (x.length !== y.length || x.constructor !== y.constructor) return false;
  const bx = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const by = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
  for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) return false;
  return true;
};
