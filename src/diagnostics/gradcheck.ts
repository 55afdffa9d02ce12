/**
 * Gradient check: backprop against central finite differences, in float64, for any network.
 *
 * Each checked parameter w gets the fourth-order central difference
 *   (-L(w+2h) + 8 L(w+h) - 8 L(w-h) + L(w-2h)) / (12 h)
 * and is compared with backprop through relErr = |bp - fd| / max(|bp|, |fd|, floor). A parameter whose
 * perturbation moves any ReLU or leaky-ReLU pre-activation across zero (a kink, where no derivative exists)
 * is skipped and counted, not reported as an error.
 */
import type { Float } from '../tensor/matrix.js';
import { toFloat64 as matrixToFloat64 } from '../tensor/matrix.js';
import { forward } from '../nn/forward.js';
import { backprop, type Batch } from '../nn/grad.js';
import type { Gradient } from '../nn/gradient.js';
import { lossFromLogits, type LossName } from '../nn/loss.js';
import { toFloat64, type Network } from '../nn/network.js';
import { randomInt, rng } from '../nn/random.js';

/** Options of `gradientCheck`. */
export interface GradCheckOptions {
  /** Step h of the finite difference (default 1e-4 with the fourth-order stencil). */
  readonly step?: number;
  /** Floor of the relative error's denominator, so near-zero gradients are compared absolutely (default 1e-4). */
  readonly floor?: number;
  /** Check at most this many entries of each weight and bias tensor, drawn with `seed` (default: all). */
  readonly maxPerTensor?: number;
  readonly seed?: number;
  /**
   * The analytic gradient to check (default: gradpipe's backprop). Pass your own to check a hand-written
   * backward pass against finite differences of gradpipe's forward pass and loss.
   */
  readonly analytic?: (net: Network<Float64Array>, batch: Batch<Float64Array>) => Gradient<Float64Array>;
}

/** The check of one parameter tensor: the worst relative error, the entries checked and those skipped at ReLU kinks. */
export interface TensorCheck {
  readonly worst: number;
  readonly checked: number;
  readonly skippedAtKinks: number;
}

/** The checks of one layer's weight and bias. */
export interface LayerCheck {
  readonly layer: number;
  readonly weight: TensorCheck;
  readonly bias: TensorCheck;
}

/** The result of `gradientCheck`: every layer, and the worst error over all of them. */
export interface GradCheckReport {
  readonly layers: readonly LayerCheck[];
  /** The worst relative error over every checked parameter. */
  readonly worst: number;
}

const kinked = (a: string) => a === 'relu' || a === 'leaky-relu';

/**
 * Compares backprop (or `opts.analytic`) with fourth-order central differences in float64; returns the worst
 * relative error per layer and overall.
 *
 * Law: backprop matches central differences (relative error below 1e-6 in float64, ReLU kinks skipped).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { gradientCheck, initNetwork, matrix, orThrow } from 'gradpipe';
 *
 * const net = orThrow(initNetwork({ sizes: [3, 5, 2], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, 3));
 * const batch = { inputs: matrix(2, 3, Float32Array.of(0.1, 0.5, 0.9, 0.3, 0.2, 0.7)), targets: matrix(2, 2, Float32Array.of(1, 0, 0, 1)) };
 * const report = gradientCheck('cross-entropy', net, batch);
 * assert.ok(report.worst < 1e-6);
 * assert.equal(report.layers[0]!.weight.checked, 15);
 * ```
 */
export const gradientCheck = (loss: LossName, network: Network<Float>, batch: Batch<Float>, opts: GradCheckOptions = {}): GradCheckReport => {
  const h = opts.step ?? 1e-4;
  const floor = opts.floor ?? 1e-4;
  const net = toFloat64(network); // our own copy: perturbing it in place is invisible to the caller
  const b64: Batch<Float64Array> = { inputs: matrixToFloat64(batch.inputs), targets: matrixToFloat64(batch.targets) };
  const analytic = opts.analytic ? opts.analytic(toFloat64(network), b64) : backprop(loss, net, b64).gradient;
  const out = net.layers[net.layers.length - 1]!.activation;

  // Signs of the pre-activations of kinked layers, read back through their outputs (a > 0 iff z > 0).
  const signature = (n: Network<Float64Array>): { loss: number; signs: string } => {
    const fw = forward(n, b64.inputs);
    const l = lossFromLogits(loss, out, fw.logits, b64.targets).loss;
    let signs = '';
    n.layers.forEach((layer, i) => {
      if (i < n.layers.length - 1 && kinked(layer.activation)) {
        for (const v of fw.outputs[i]!.data) signs += v > 0 ? '1' : '0';
      }
    });
    return { loss: l, signs };
  };
  const base = signature(net).signs;
  const r = rng(opts.seed ?? 0, 'gradcheck');

  const checkTensor = (params: Float64Array, analytic: Float64Array): TensorCheck => {
    const n = params.length;
    const limit = Math.min(n, opts.maxPerTensor ?? n);
    const indices = limit === n ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: limit }, () => randomInt(r, n));
    let worst = 0;
    let checked = 0;
    let skipped = 0;
    for (const i of indices) {
      const w0 = params[i]!;
      const at = (d: number) => {
        params[i] = w0 + d;
        return signature(net);
      };
      const p2 = at(2 * h), p1 = at(h), m1 = at(-h), m2 = at(-2 * h);
      params[i] = w0;
      if ([p2, p1, m1, m2].some((s) => s.signs !== base)) {
        skipped++;
        continue;
      }
      const fd = (-p2.loss + 8 * p1.loss - 8 * m1.loss + m2.loss) / (12 * h);
      const a = analytic[i]!;
      const err = Math.abs(a - fd) / Math.max(Math.abs(a), Math.abs(fd), floor);
      if (!(err <= worst)) worst = err; // NaN propagates as the worst
      checked++;
    }
    return { worst, checked, skippedAtKinks: skipped };
  };

  const layers = net.layers.map((layer, l) => {
    const g = analytic.layers[l]!;
    return {
      layer: l,
      weight: checkTensor(layer.weight.data, g.weight.data),
      bias: checkTensor(layer.bias, g.bias),
    };
  });
  const errors = layers.flatMap((l) => [l.weight.worst, l.bias.worst]);
  return { layers, worst: errors.some(Number.isNaN) ? NaN : Math.max(0, ...errors) };
};
