/**
 * The doctor's health scan of a network on a small fixed probe of examples, shared by `gradpipe doctor` and
 * the training run (stages/scanHealth.ts): the per-layer health report (health.ts), the probe's loss and
 * accuracy, the output-loss pairing, and whether the accuracy is any better than guessing.
 */
import { backprop } from '../nn/grad.js';
import type { Network } from '../nn/network.js';
import { argmaxRows, type Matrix } from '../tensor/matrix.js';
import type { AdviceSetup } from './advice.js';
import { healthFindings, healthOf, pairingFinding, type Finding, type HealthReport, type PairingEvidence } from './health.js';

/** Examples to scan: inputs, one-hot targets and their labels. */
export interface Probe {
  readonly inputs: Matrix;
  readonly targets: Matrix;
  readonly labels: ArrayLike<number>;
}

/** A scan of the probe: the health report, with the probe's loss and accuracy. */
export interface Scan {
  readonly loss: number;
  readonly accuracy: number;
  readonly layers: HealthReport['layers'];
}

/** A scan and what it found (the output-loss pairing first, then the layers' findings, in layer order). */
export interface ProbeScan {
  readonly scan: Scan;
  readonly findings: readonly (Finding & { readonly evidence?: PairingEvidence })[];
}

/** Scans `net` on `probe` (forward and backward) with the configuration `setup` (its loss, output, and the hints' wording). */
export const scanProbe = (setup: AdviceSetup, probe: Probe, net: Network): ProbeScan => {
  // one forward and backward pass serves the health report, the accuracy and the pairing
  const bp = backprop(setup.loss, net, { inputs: probe.inputs, targets: probe.targets });
  const fw = bp.forward;
  const report = healthOf(net, fw, { backprop: bp, loss: setup.loss });
  const predicted = argmaxRows(fw.outputs[fw.outputs.length - 1]!);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === probe.labels[i]) correct++;
  const pairing = pairingFinding(setup.loss, setup.output, { logits: fw.logits, targets: probe.targets });
  return {
    scan: { loss: report.loss ?? NaN, accuracy: probe.labels.length === 0 ? NaN : correct / probe.labels.length, layers: report.layers },
    findings: [...(pairing ? [pairing] : []), ...healthFindings(report, setup)],
  };
};

/**
 * The highest accuracy on `n` examples that is still no better than guessing among `classes`: chance plus
 * two standard errors of a guesser's accuracy, 1/K + 2 sqrt((1/K)(1 - 1/K)/n) (13.75% for 10 classes and
 * 256 examples), so a guesser exceeds it about 2.5% of the time.
 */
export const chanceCeiling = (classes: number, n: number): number => {
  const p = 1 / classes;
  return p + 2 * Math.sqrt((p * (1 - p)) / Math.max(n, 1));
};

/** The finding of an accuracy no better than guessing, or undefined; `what` names the examples (e.g. "the probe of 256 training examples"). */
export const chanceFinding = (accuracy: number, classes: number, n: number, what: string): Finding | undefined =>
  accuracy <= chanceCeiling(classes, n)
    ? {
        code: 'at-chance',
        severity: 'problem',
        layer: undefined,
        where: 'accuracy',
        message: `${(100 * accuracy).toFixed(1)}% on ${what}, no better than guessing among ${classes} classes (${(100 / classes).toFixed(1)}%): the network is not learning`,
        hint: 'fix the problems named above first; if there are none, change the learning rate (--lr) or the optimiser (--optimizer momentum)',
      }
    : undefined;
