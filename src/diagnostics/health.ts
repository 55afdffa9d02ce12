/**
 * Numeric health of a network on a batch: per layer, non-finite values, tiny values (below 1e-30 in
 * magnitude: underflow on their way to zero), saturated units (sigmoid/tanh derivative under 1e-6, where
 * gradients vanish) and dead ReLU units (zero for every example). With targets, the same for gradients.
 * `healthFindings` turns a report into structured findings with plain-language hints (`healthHints`: the
 * same as lines); `pairingFinding` judges the output activation and loss together, measured on logits.
 */
import { activationDerivative, type Activation } from '../nn/activation.js';
import { initAdvice, lossAdvice, type AdviceSetup } from './advice.js';
import { backprop, type Backprop, type Batch } from '../nn/grad.js';
import { forward, type Forward } from '../nn/forward.js';
import { lossFromLogits, type LossName } from '../nn/loss.js';
import type { Network } from '../nn/network.js';
import type { Float, Matrix } from '../tensor/matrix.js';

/** Magnitudes below this (and above zero) are reported as tiny: underflow on its way to zero. */
export const TINY = 1e-30;
/** An activation whose derivative is below this passes almost no gradient back: saturated. */
export const SATURATED = 1e-6;

/** Summary statistics of one tensor: counts of non-finite and tiny values, and the range of |value|. */
export interface Stats {
  readonly count: number;
  readonly nonFinite: number;
  /** 0 < |v| < 1e-30, or v = 0 where the function cannot be 0 (sigmoid and softmax outputs). */
  readonly tiny: number;
  readonly minAbs: number;
  readonly maxAbs: number;
  readonly meanAbs: number;
}

/** The health of one layer on a batch: its parameters, activations, saturation, dead units and gradients. */
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

/** The per-layer health of a network on a batch, and the batch loss when gradients were scanned. */
export interface HealthReport {
  readonly layers: readonly LayerHealth[];
  readonly loss?: number;
  /** The loss the gradients were computed with (saturated outputs are harmless under cross-entropy). */
  readonly lossName?: LossName;
}

/** The `Stats` of a tensor; `zeroIsTiny` counts exact zeros as tiny (for outputs that cannot be zero). */
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
  return healthOf(net, bp?.forward ?? forward(net, inputs), bp && withGradients ? { backprop: bp, loss: withGradients.loss } : undefined);
};

/** `healthScan` of a forward pass (and backward pass) already computed, for callers that use them too. */
export const healthOf = <F extends Float>(
  net: Network<F>,
  fw: Forward<F>,
  withGradients?: { readonly backprop: Backprop<F>; readonly loss: LossName },
): HealthReport => {
  const bp = withGradients?.backprop;
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
  return bp && withGradients ? { layers, loss: bp.loss, lossName: withGradients.loss } : { layers };
};

/** `problem`: training will fail or is failing; `warning`: worth a look, training may still work. */
export type Severity = 'problem' | 'warning';

/** What a finding is about; stable names for scripts reading `gradpipe doctor --json`. */
/** What kind of problem a finding reports. */
export type FindingCode =
  | 'non-finite'
  | 'exploding-loss'
  | 'tiny-values'
  | 'huge-values'
  | 'huge-logits'
  | 'saturated'
  | 'dead-units'
  | 'zero-gradients'
  | 'vanishing-gradients'
  | 'tiny-gradients'
  | 'output-loss-pairing'
  | 'gradient-check'
  | 'not-learning'
  | 'at-chance';

/** One thing that looks wrong, where, and what to do about it. */
/** One problem (or warning) found in a health report, with a plain-language hint. */
export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** The layer concerned, or undefined for the network as a whole. */
  readonly layer: number | undefined;
  /** What it concerns, e.g. `layer 0 (sigmoid, 1000 units)`. */
  readonly where: string;
  /** What is wrong, in plain words (with the measured numbers). */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

/** `where: message; hint` on one line. */
export const findingText = (f: Finding): string => `${f.where}: ${f.message}; ${f.hint}`;

const layerName = (h: LayerHealth): string => `layer ${h.layer} (${h.activation}, ${h.units} units)`;
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Mean |logit| beyond which a softmax or sigmoid output is all zeros and ones (it responds to a few units). */
export const HUGE_LOGITS = 50;

/** A layer's weight gradients this many times smaller (mean |g|) than the layer above's have vanished. */
export const VANISHING = 1e-4;

/**
 * Findings of a report, layer by layer. Empty when nothing looks wrong.
 * Saturated outputs of the output layer count only when the loss is not cross-entropy: the fused
 * cross-entropy gradient (output - target) does not pass through the activation's derivative.
 * With the configuration `setup`, the hints advise only what it does not do already (advice.ts).
 */
export const healthFindings = (report: HealthReport, setup?: AdviceSetup): Finding[] => {
  const out: Finding[] = [];
  const init = initAdvice(setup);
  const loss = lossAdvice(setup);
  const both = [init, loss].filter((h) => h !== undefined).join('; ');
  const L = report.layers.length;
  for (const h of report.layers) {
    const add = (code: FindingCode, severity: Severity, message: string, hint: string) =>
      out.push({ code, severity, layer: h.layer, where: layerName(h), message, hint });
    const last = h.layer === L - 1;
    const nonFinite = h.weights.nonFinite + h.biases.nonFinite + h.outputs.nonFinite + (h.weightGradients?.nonFinite ?? 0);
    if (nonFinite > 0) add('non-finite', 'problem', `${nonFinite} non-finite values (NaN or Infinity)`, 'lower the learning rate, clip the gradient norm, and compute the loss from logits');
    if (h.outputs.tiny > 0) add('tiny-values', 'problem', `${h.outputs.tiny} outputs below 1e-30 in magnitude (underflow)`, `${both === '' ? '' : `${both}; `}if they appear during training, lower the learning rate`);
    if (last && (h.activation === 'softmax' || h.activation === 'sigmoid') && h.preActivations.meanAbs > HUGE_LOGITS) {
      add(
        'huge-logits',
        'problem',
        `its logits average ${h.preActivations.meanAbs.toPrecision(3)} in magnitude (up to ${h.preActivations.maxAbs.toPrecision(3)}), where ${h.activation} responds to differences of a few units: its outputs are all near 0 or 1`,
        `${init === undefined ? '' : `${init}; `}if the logits grew during training, lower the learning rate`,
      );
    }
    if (h.saturatedFraction > 0.01 && !(last && report.lossName === 'cross-entropy')) {
      add(
        'saturated',
        'problem',
        `${pct(h.saturatedFraction)} of outputs are saturated (derivative below 1e-6), so almost no gradient flows back`,
        last
          ? `its logits are too large: ${[init, 'use --loss cross-entropy, whose gradient does not pass through the saturated derivative'].filter((x) => x !== undefined).join('; ')}`
          : `${init === undefined ? '' : `${init}, or `}use ReLU units (--activation relu with --init he); a lower learning rate if it set in during training`,
      );
    }
    if (h.deadFraction > 0.5) add('dead-units', 'problem', `${pct(h.deadFraction)} of units are dead (zero for every example)`, 'lower the learning rate or use --activation leaky-relu');
    const g = h.weightGradients;
    const above = report.layers[h.layer + 1]?.weightGradients;
    if (g && g.count > 0 && g.nonFinite === 0 && g.maxAbs === 0) {
      add('zero-gradients', 'problem', 'every weight gradient is exactly zero, so this layer cannot learn', 'the gradient vanished on its way down (saturated or dead units above it or in it): fix those first');
    } else if (g && above && above.meanAbs > 0 && g.meanAbs < VANISHING * above.meanAbs) {
      add(
        'vanishing-gradients',
        'problem',
        `its weight gradients (mean |g| ${g.meanAbs.toExponential(1)}) are ${(g.meanAbs / above.meanAbs).toExponential(1)} times those of layer ${h.layer + 1}: the gradient vanished on its way down, so this layer barely learns`,
        'look for saturated units in this layer; fan-in-scaled initialisation or ReLU units keep gradients alive',
      );
    } else if ((g?.tiny ?? 0) > 0) {
      add('tiny-gradients', 'warning', `${g!.tiny} weight gradients below 1e-30 (vanishing)`, 'look for saturated units above this layer; fan-in-scaled initialisation or ReLU units keep gradients alive');
    }
  }
  return out;
};

/** Plain-language findings for a report, most serious first. Empty when nothing looks wrong. */
export const healthHints = (report: HealthReport): string[] => healthFindings(report).map(findingText);

/** Mean over rows of the Euclidean norm of each row of `m` (a rows x cols buffer). */
const meanRowNorm = (data: ArrayLike<number>, rows: number, cols: number): number => {
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += data[i * cols + j]! ** 2;
    sum += Math.sqrt(s);
  }
  return rows === 0 ? 0 : sum / rows;
};

/** The gradient at the logits under a loss and under cross-entropy, on the same logits and targets. */
export interface PairingEvidence {
  /** Mean per-example norm of dL/dz under the configured loss (without the 1/batch factor). */
  readonly gradient: number;
  /** The same under cross-entropy (output - target). */
  readonly crossEntropyGradient: number;
  /** Fraction of examples the outputs classify wrongly. */
  readonly wrong: number;
}

/**
 * Judges the output activation and loss together. A squashing output (softmax, sigmoid) trained with mean
 * squared error multiplies the error by the activation's derivative (the softmax Jacobian a_j (g_j - a.g),
 * or s (1 - s)), which vanishes when outputs saturate, whether or not they are right; cross-entropy on the
 * logits has the gradient output - target, largest exactly when the network is confidently wrong. With
 * logits and targets the finding carries the gradient measured both ways.
 */
export const pairingFinding = (
  loss: LossName,
  output: Activation,
  measured?: { readonly logits: Matrix<Float>; readonly targets: Matrix<Float> },
): (Finding & { readonly evidence?: PairingEvidence }) | undefined => {
  if (loss !== 'mse') return undefined;
  const where = `output ${output} with loss ${loss}`;
  const evidence = ((): PairingEvidence | undefined => {
    if (!measured || (output !== 'softmax' && output !== 'sigmoid')) return undefined;
    const { logits, targets } = measured;
    const { rows, cols } = logits;
    const mine = lossFromLogits(loss, output, logits, targets);
    const ce = lossFromLogits('cross-entropy', output, logits, targets);
    let wrong = 0;
    for (let i = 0; i < rows; i++) {
      let best = 0;
      for (let j = 1; j < cols; j++) if (mine.output.data[i * cols + j]! > mine.output.data[i * cols + best]!) best = j;
      if (targets.data[i * cols + best]! !== 1) wrong++;
    }
    return {
      gradient: meanRowNorm(mine.delta.data, rows, cols) * rows,
      crossEntropyGradient: meanRowNorm(ce.delta.data, rows, cols) * rows,
      wrong: rows === 0 ? 0 : wrong / rows,
    };
  })();
  const shown = evidence
    ? ` (measured: mean |dL/dz| ${evidence.gradient.toExponential(2)} per example, where cross-entropy would give ${evidence.crossEntropyGradient.toExponential(2)}, with ${pct(evidence.wrong)} of examples classified wrongly)`
    : '';
  if (output === 'softmax' || output === 'sigmoid') {
    const jac = output === 'softmax' ? 'the softmax Jacobian a_j (g_j - a.g)' : "the sigmoid's derivative s (1 - s)";
    return {
      code: 'output-loss-pairing',
      severity: 'problem',
      layer: undefined,
      where,
      message: `wrong output-loss pairing: the error reaches the logits through ${jac}, which vanishes when the outputs saturate, even on examples the network gets wrong${shown}`,
      hint: `use --loss cross-entropy, computed from the logits (z_c - logsumexp z): its gradient is output - target, largest when the network is confidently wrong`,
      ...(evidence ? { evidence } : {}),
    };
  }
  return {
    code: 'output-loss-pairing',
    severity: 'warning',
    layer: undefined,
    where,
    message: 'identity outputs with mean squared error regress the one-hot targets; it learns, but the outputs are not probabilities',
    hint: 'for classes, prefer --output softmax --loss cross-entropy',
  };
};
