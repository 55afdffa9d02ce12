/**
 * Numeric health of a network on a batch: per layer, non-finite values, tiny values (below 1e-30 in
 * magnitude: underflow on their way to zero), saturated units (sigmoid/tanh derivative under 1e-6, where
 * gradients vanish) and dead ReLU units (zero for every example). With targets, the same for gradients.
 * `healthHints` turns a report into plain-language advice.
 */
import { activationDerivative, type Activation } from '../nn/activation.js';
import { backprop, type Batch } from '../nn/grad.js';
import { forward } from '../nn/forward.js';
import type { LossName } from '../nn/loss.js';
import type { Network } from '../nn/network.js';
import type { Float, Matrix } from '../tensor/matrix.js';

export const TINY = 1e-30;
export const SATURATED = 1e-6;

export interface Stats {
  readonly count: number;
  readonly nonFinite: number;
  /** 0 < |v| < 1e-30, or v = 0 where the function cannot be 0 (sigmoid and softmax outputs). */
  readonly tiny: number;
  readonly minAbs: number;
  readonly maxAbs: number;
  readonly meanAbs: number;
}

export interface LayerHealth {
  readonly layer: number;
  readonly activation: Activation;
  readonly units: number;
  readonly weights: Stats;
  readonly biases: Stats;
  readonly preActivations: Stats;
  readonly outputs: Stats;
  /** Fraction of (example, unit) outputs whose activation derivative is below 1e-6 (sigmoid, tanh, softmax). */
  readonly saturatedFraction: number;
  /** Fraction of units that are zero for every example (ReLU). */
  readonly deadFraction: number;
  readonly weightGradients?: Stats;
  readonly biasGradients?: Stats;
}

export interface HealthReport {
  readonly layers: readonly LayerHealth[];
  readonly loss?: number;
}

export const stats = (data: ArrayLike<number>, zeroIsTiny = false): Stats => {
  let nonFinite = 0, tiny = 0, minAbs = Infinity, maxAbs = 0, sum = 0, finite = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    const a = Math.abs(v);
    if ((a > 0 || zeroIsTiny) && a < TINY) tiny++;
    if (a < minAbs) minAbs = a;
    if (a > maxAbs) maxAbs = a;
    sum += a;
    finite++;
  }
  return { count: data.length, nonFinite, tiny, minAbs: finite ? minAbs : NaN, maxAbs: finite ? maxAbs : NaN, meanAbs: finite ? sum / finite : NaN };
};

const outputsCannotBeZero = (a: Activation) => a === 'sigmoid' || a === 'softmax';

/** Scans a network on a batch of inputs, and its gradients when `targets` and `loss` are given. */
export const healthScan = <F extends Float>(
  net: Network<F>,
  inputs: Matrix<F>,
  withGradients?: { readonly loss: LossName; readonly targets: Matrix<F> },
): HealthReport => {
  const bp = withGradients ? backprop(withGradients.loss, net, { inputs, targets: withGradients.targets } as Batch<F>) : undefined;
  const fw = bp?.forward ?? forward(net, inputs);
  const L = net.layers.length;
  const layers = net.layers.map((layer, l): LayerHealth => {
    const out = fw.outputs[l]!;
    const act = layer.activation;
    const units = out.cols;
    let saturated = 0;
    const alive = new Uint8Array(units);
    for (let i = 0; i < out.rows; i++) {
      for (let j = 0; j < units; j++) {
        const a = out.data[i * units + j]!;
        if (a !== 0) alive[j] = 1;
        const d = act === 'softmax' ? a * (1 - a) : activationDerivative(a, act);
        if ((act === 'sigmoid' || act === 'tanh' || act === 'softmax') && d < SATURATED) saturated++;
      }
    }
    const dead = act === 'relu' ? alive.reduce((s, v) => s + (v ? 0 : 1), 0) / units : 0;
    // Pre-activations: recomputable from outputs only for invertible activations; report the logits for the
    // output layer and the outputs' own stats otherwise.
    const pre = l === L - 1 ? fw.logits : out;
    const g = bp?.gradient.layers[l];
    return {
      layer: l,
      activation: act,
      units,
      weights: stats(layer.weight.data),
      biases: stats(layer.bias),
      preActivations: stats(pre.data),
      outputs: stats(out.data, outputsCannotBeZero(act)),
      saturatedFraction: out.rows * units === 0 ? 0 : saturated / (out.rows * units),
      deadFraction: dead,
      ...(g ? { weightGradients: stats(g.weight.data), biasGradients: stats(g.bias) } : {}),
    };
  });
  return bp ? { layers, loss: bp.loss } : { layers };
};

/** Plain-language findings for a report, most serious first. Empty when nothing looks wrong. */
export const healthHints = (report: HealthReport): string[] => {
  const hints: string[] = [];
  for (const h of report.layers) {
    const name = `layer ${h.layer} (${h.activation}, ${h.units} units)`;
    const nonFinite = h.weights.nonFinite + h.biases.nonFinite + h.outputs.nonFinite + (h.weightGradients?.nonFinite ?? 0);
    if (nonFinite > 0) hints.push(`${name}: ${nonFinite} non-finite values (NaN or Infinity); lower the learning rate, clip the gradient norm, and compute the loss from logits`);
    if (h.outputs.tiny > 0) hints.push(`${name}: ${h.outputs.tiny} outputs below 1e-30 in magnitude (underflow); use fan-in-scaled initialisation (he or glorot) and a loss computed from logits`);
    if (h.saturatedFraction > 0.01) hints.push(`${name}: ${(100 * h.saturatedFraction).toFixed(1)}% of outputs are saturated (derivative below 1e-6), so almost no gradient flows back; use fan-in-scaled initialisation (--init he or glorot) or ReLU units`);
    if (h.deadFraction > 0.5) hints.push(`${name}: ${(100 * h.deadFraction).toFixed(1)}% of units are dead (zero for every example); lower the learning rate or use --activation leaky-relu`);
    if ((h.weightGradients?.tiny ?? 0) > 0) hints.push(`${name}: ${h.weightGradients!.tiny} weight gradients below 1e-30 (vanishing)`);
  }
  return hints;
};
