/**
 * The training monitor: what a training step measured about itself (the largest activation per layer, the
 * smallest nonzero one, the gradient norm, the loss) turned into structured findings while training goes on,
 * and the divergence report of a step that produced a non-finite value. Pure functions of the step's
 * measurements: the training step records them, the CLI and the doctor put them into words.
 */
import { describeLocation, DIVERGENCE_HINTS, type NonFiniteLocation } from './nonfinite.js';
import type { Finding } from './health.js';

/** Largest magnitudes seen in one step, per layer. */
export interface Magnitudes {
  readonly step: number;
  readonly activations: readonly number[];
  readonly gradientNorm: number;
  readonly loss: number;
}

/** What a diverged state carries: where the first non-finite value appeared, and the magnitudes before it. */
export interface Divergence {
  readonly step: number;
  readonly epoch: number;
  readonly where: NonFiniteLocation;
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

/** The monitor's finding as a health finding, with what to do about it. */
export const stepFindingAsFinding = (f: StepFinding): Finding => ({
  code: f.kind,
  severity: 'problem',
  layer: f.layer,
  where: `layer ${f.layer}`,
  message: stepFindingText(f).slice(`layer ${f.layer}: `.length),
  hint:
    f.kind === 'tiny-values'
      ? 'use fan-in-scaled initialisation (he or glorot) and a loss computed from logits'
      : 'lower the learning rate or clip the gradient norm (--clip-norm 5)',
});

/** The divergence report of step `step` (1-based) in `epoch` (0-based). */
export const divergence = (step: number, epoch: number, where: NonFiniteLocation, history: readonly Magnitudes[]): Divergence => ({
  step,
  epoch,
  where,
  message: `step ${step} (epoch ${epoch + 1}): ${describeLocation(where)}`,
  history,
  hints: DIVERGENCE_HINTS,
});
