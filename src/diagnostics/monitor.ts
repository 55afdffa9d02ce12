/**
 * The training monitor: what a training step measured about itself (the largest activation per layer, the
 * smallest nonzero one, the gradient norm, the loss) turned into structured findings while training goes on,
 * and the divergence report of a step that produced a non-finite value or an exploding loss. Pure functions
 * of the step's measurements: the training step records them, the CLI and the doctor put them into words.
 *
 * The exploding-loss rule (`explosionBound`): a run has diverged once a batch loss exceeds
 * EXPLOSION_FACTOR = 1000 times the larger of (a) the run's first batch loss and (b) the loss of all-zero
 * logits (the uniform guess: ln K for softmax cross-entropy over K classes). Like fastai's learning-rate
 * finder, which stops at a multiple (4x) of the best loss, it compares the loss with what the run started
 * from; unlike it, the reference is the first loss, not the best one, and the factor is large, because a
 * trained network's batch loss can jump far above its best (0.001 -> 1 on a hard batch) without anything
 * being wrong, while no honest run climbs to 1000 times its starting loss. (b) keeps the bound meaningful for
 * a run that starts from an already good network. A bounded loss (mean squared error of softmax or sigmoid
 * outputs, at most 1 per example) never reaches it: such runs fail by saturating, which the health scan names.
 */
import type { Activation } from '../nn/activation.js';
import { lossFromLogits, type LossName } from '../nn/loss.js';
import { zeros } from '../tensor/matrix.js';
import { clipAdvice, initAdvice, lossAdvice, type AdviceSetup } from './advice.js';
import { describeLocation, DIVERGENCE_HINTS, type NonFiniteLocation } from './nonfinite.js';
import type { Finding } from './health.js';

/** Largest magnitudes seen in one step, per layer. */
export interface Magnitudes {
  readonly step: number;
  readonly activations: readonly number[];
  readonly gradientNorm: number;
  readonly loss: number;
}

/** Where a loss exploded: the first layer (in forward order) whose activations grew past the factor, with their growth. */
export interface ExplosionLocation {
  readonly kind: 'exploding-loss';
  readonly layer: number;
  readonly tensor: 'activations' | 'logits';
  /** The batch loss, and the bound it crossed. */
  readonly loss: number;
  readonly bound: number;
  /** The largest activation magnitude of that layer at the first step and now (logits: the loss stands in). */
  readonly first: number;
  readonly now: number;
}

/** What a diverged state carries: where the first non-finite value appeared (or the loss exploded), and the magnitudes before it. */
export interface Divergence {
  readonly step: number;
  readonly epoch: number;
  readonly where: NonFiniteLocation | ExplosionLocation;
  /** One line: what went non-finite, where. */
  readonly message: string;
  /** The magnitudes of the last finite steps, oldest first. */
  readonly history: readonly Magnitudes[];
  readonly hints: readonly string[];
}

/** Activations beyond this magnitude are on their way to overflow. */
export const HUGE_ACTIVATION = 1e30;
/** Nonzero activations below this magnitude are on their way to underflow. */
export const TINY_ACTIVATION = 1e-30;

/** A finding of the monitor: in which layer, what kind, at which step and epoch (0-based), and the value seen. */
export interface StepFinding {
  readonly layer: number;
  readonly kind: 'huge-values' | 'tiny-values';
  readonly step: number;
  readonly epoch: number;
  readonly value: number;
}

/**
 * The findings of one step, given the largest and smallest nonzero activation magnitude per layer and the
 * findings so far: at most one of each kind per layer over a run (the first time it is seen).
 */
export const monitorStep = (
  seen: readonly StepFinding[],
  step: number,
  epoch: number,
  maxAbs: readonly number[],
  minNonzero: readonly number[],
): readonly StepFinding[] => {
  const found: StepFinding[] = [];
  const add = (layer: number, kind: StepFinding['kind'], value: number) => {
    if (!seen.some((f) => f.layer === layer && f.kind === kind)) found.push({ layer, kind, step, epoch, value });
  };
  maxAbs.forEach((max, l) => {
    if (max > HUGE_ACTIVATION && Number.isFinite(max)) add(l, 'huge-values', max);
    if (minNonzero[l]! < TINY_ACTIVATION) add(l, 'tiny-values', minNonzero[l]!);
  });
  return found.length === 0 ? seen : [...seen, ...found];
};

/** One line, e.g. `layer 0: activations below 1e-30 in magnitude (step 3, epoch 1); values on their way to underflow`. */
export const stepFindingText = (f: StepFinding): string =>
  f.kind === 'huge-values'
    ? `layer ${f.layer}: activations beyond 1e30 (step ${f.step}, epoch ${f.epoch + 1}); values on their way to overflow`
    : `layer ${f.layer}: activations below 1e-30 in magnitude (step ${f.step}, epoch ${f.epoch + 1}); values on their way to underflow`;

/** The monitor's finding as a health finding, with what to do about it (worded for the configuration `setup`, see advice.ts). */
export const stepFindingAsFinding = (f: StepFinding, setup?: AdviceSetup): Finding => ({
  code: f.kind,
  severity: 'problem',
  layer: f.layer,
  where: `layer ${f.layer}`,
  message: stepFindingText(f).slice(`layer ${f.layer}: `.length),
  hint:
    f.kind === 'tiny-values'
      ? [initAdvice(setup), lossAdvice(setup), 'lower the learning rate'].filter((h) => h !== undefined).join('; ')
      : `lower the learning rate or ${clipAdvice(setup)}`,
});

/** How many times its reference a batch loss may reach before the run counts as diverged (see the module comment). */
export const EXPLOSION_FACTOR = 1e3;

/** The loss of all-zero logits on one example of class 0: the uniform guess (ln K for softmax cross-entropy). */
export const zeroLogitLoss = (loss: LossName, output: Activation, classes: number): number => {
  const target = zeros(1, classes);
  target.data[0] = 1;
  return lossFromLogits(loss, output, zeros(1, classes), target).loss;
};

/**
 * The largest batch loss an honest run reaches: EXPLOSION_FACTOR times the larger of the run's first batch
 * loss and the loss of all-zero logits (see the module comment). NaN references count as absent.
 */
export const explosionBound = (firstLoss: number, zeroLogitLoss: number): number =>
  EXPLOSION_FACTOR * Math.max(Number.isFinite(firstLoss) ? firstLoss : 0, zeroLogitLoss);

/**
 * Where a loss above its bound exploded: the first layer, in forward order, whose largest activation grew
 * more than EXPLOSION_FACTOR times since the first step (the hidden layers feed the rest, so that is where
 * it began); when none did, the logits of the output layer, from which the loss is computed.
 */
export const explosionLocation = (loss: number, bound: number, first: Magnitudes, now: readonly number[]): ExplosionLocation => {
  const grown = now.findIndex((a, l) => l < now.length - 1 && a > EXPLOSION_FACTOR * first.activations[l]!);
  return grown >= 0
    ? { kind: 'exploding-loss', layer: grown, tensor: 'activations', loss, bound, first: first.activations[grown]!, now: now[grown]! }
    : { kind: 'exploding-loss', layer: now.length - 1, tensor: 'logits', loss, bound, first: first.loss, now: loss };
};

/** One line for where a run diverged: a non-finite value, or an exploding loss and the layer where it began. */
export const describeWhere = (w: NonFiniteLocation | ExplosionLocation): string =>
  'kind' in w
    ? `the batch loss ${w.loss.toExponential(2)} exceeds ${w.bound.toExponential(2)} (${EXPLOSION_FACTOR} times its first value or the uniform guess's): exploding, ${
        w.tensor === 'activations' ? `first in the activations of layer ${w.layer}, whose largest magnitude grew from ${w.first.toExponential(2)} to ${w.now.toExponential(2)}` : `in the logits of layer ${w.layer} (no hidden layer's activations grew ${EXPLOSION_FACTOR} times)`
      }`
    : describeLocation(w);

/** The divergence report of step `step` (1-based) in `epoch` (0-based). */
export const divergence = (
  step: number,
  epoch: number,
  where: NonFiniteLocation | ExplosionLocation,
  history: readonly Magnitudes[],
  hints: readonly string[] = DIVERGENCE_HINTS,
): Divergence => ({
  step,
  epoch,
  where,
  message: `step ${step} (epoch ${epoch + 1}): ${describeWhere(where)}`,
  history,
  hints,
});
