/**
 * Gradients: one weight and one bias gradient per layer, shaped like the network's parameters.
 * Gradients form a Monoid under addition (its laws are stated on `gradientMonoid` below); minibatch
 * gradients combine by `batchGradMonoid` (the law is stated on `grad`, in grad.ts).
 */
import type { Monoid } from 'fp-ts/lib/Monoid.js';
import { allocLike, matrix, type Float, type Matrix } from '../tensor/matrix.js';
import { sumSquares } from '../tensor/reduce.js';
import type { Network } from './network.js';

/** The gradient of one layer's parameters, shaped like them. */
export interface ParamGrad<F extends Float = Float32Array> {
  readonly weight: Matrix<F>;
  readonly bias: F;
}

/** A gradient shaped like a network: one `ParamGrad` per layer. */
export interface Gradient<F extends Float = Float32Array> {
  readonly layers: readonly ParamGrad<F>[];
}

/** The gradient of a batch: the mean gradient, the mean loss and how many examples it covers. */
export interface BatchGrad<F extends Float = Float32Array> {
  readonly gradient: Gradient<F>;
  readonly loss: number;
  readonly count: number;
}

/** A gradient of zeros shaped like `net`. */
export const zeroGradient = <F extends Float>(net: Network<F>): Gradient<F> => ({
  layers: net.layers.map((l) => ({
    weight: matrix(l.weight.rows, l.weight.cols, allocLike(l.weight.data, l.weight.data.length)),
    bias: allocLike(l.bias, l.bias.length),
  })),
});

/** Element-wise a*x + b*y of two gradients of the same shape (a new gradient). */
export const linearCombination = <F extends Float>(a: number, x: Gradient<F>, b: number, y: Gradient<F>): Gradient<F> => {
  if (x.layers.length !== y.layers.length) throw new RangeError('gradient: different numbers of layers');
  const comb = <T extends Float>(p: T, q: T): T => {
    if (p.length !== q.length) throw new RangeError(`gradient: shapes differ (${p.length} vs ${q.length} values)`);
    const out = allocLike(p, p.length);
    for (let i = 0; i < out.length; i++) out[i] = a * p[i]! + b * q[i]!;
    return out;
  };
  return {
    layers: x.layers.map((lx, i) => {
      const ly = y.layers[i]!;
      return { weight: matrix(lx.weight.rows, lx.weight.cols, comb(lx.weight.data, ly.weight.data)), bias: comb(lx.bias, ly.bias) };
    }),
  };
};

/** x + y element-wise, in new buffers (the concat of `gradientMonoid`). */
export const addGradients = <F extends Float>(x: Gradient<F>, y: Gradient<F>): Gradient<F> => linearCombination(1, x, 1, y);

/** s * g element-wise, in new buffers. */
export const scaleGradient = <F extends Float>(s: number, g: Gradient<F>): Gradient<F> => ({
  layers: g.layers.map((l) => {
    const w = allocLike(l.weight.data, l.weight.data.length);
    for (let i = 0; i < w.length; i++) w[i] = s * l.weight.data[i]!;
    const b = allocLike(l.bias, l.bias.length);
    for (let i = 0; i < b.length; i++) b[i] = s * l.bias[i]!;
    return { weight: matrix(l.weight.rows, l.weight.cols, w), bias: b };
  }),
});

/**
 * The additive Monoid of gradients shaped like `net` (empty = zeros).
 *
 * Laws:
 * - concat(empty, g) = g = concat(g, empty)
 * - concat(concat(f, g), h) = concat(f, concat(g, h))
 */
export const gradientMonoid = <F extends Float>(net: Network<F>): Monoid<Gradient<F>> => ({
  concat: addGradients,
  empty: zeroGradient(net),
});

/**
 * The Monoid of batch gradients under the size-weighted mean: concat(grad(b1), grad(b2)) = grad(b1 ++ b2)
 * (the law stated on `grad`). Its empty is the gradient of the empty batch (count 0), which every concat ignores.
 */
export const batchGradMonoid = <F extends Float>(net: Network<F>): Monoid<BatchGrad<F>> => ({
  concat: (x, y) => {
    if (x.count === 0) return y;
    if (y.count === 0) return x;
    const n = x.count + y.count;
    return {
      gradient: linearCombination(x.count / n, x.gradient, y.count / n, y.gradient),
      loss: (x.count * x.loss + y.count * y.loss) / n,
      count: n,
    };
  },
  empty: { gradient: zeroGradient(net), loss: 0, count: 0 },
});

/** The global L2 norm over every weight and bias gradient. */
export const gradientNorm = (g: Gradient<Float>): number =>
  Math.sqrt(g.layers.reduce((s, l) => s + sumSquares(l.weight.data) + sumSquares(l.bias), 0));
