/**
 * The doctor's engine: a health report of a training configuration on real data, used by `gradpipe doctor`
 * (and usable by a training run).
 *
 * 1. The configured network is built with its seed; a probe of training examples is scanned (forward and
 *    backward): per-layer statistics of weights, activations and gradients, saturated and dead units,
 *    tiny (below 1e-30) and non-finite values, and the output-loss pairing.
 * 2. Backprop is checked against central finite differences in float64 on a few examples, sampling a few
 *    entries of every tensor (a big network has too many to check them all).
 * 3. A few training steps run with the configured optimiser on the first batches the training run would
 *    see; the probe is scanned again, and its loss compared with the loss before. The training monitor's
 *    findings (overflow, underflow) are kept as they are, structured.
 * 4. Every finding carries a plain-language hint; problems come first.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Dataset } from '../data/dataset.js';
import type { Activation, PointwiseActivation } from '../nn/activation.js';
import { forward } from '../nn/forward.js';
import { initNetwork, type Init } from '../nn/init.js';
import type { LossName } from '../nn/loss.js';
import type { Network } from '../nn/network.js';
import type { OptimizerConfig } from '../optim/optimizer.js';
import type { Schedule } from '../optim/schedule.js';
import { initialTrainState, type TrainState } from '../optim/trainState.js';
import { toBatch } from '../stages/batch.js';
import { batchesPerEpoch, epochBatches } from '../stages/epochs.js';
import { readDataset, takeDataset } from '../stages/read.js';
import { stepOnce } from '../stages/trainStep.js';
import { argmaxRows, sliceRows } from '../tensor/matrix.js';
import { gradientCheck, type GradCheckReport } from './gradcheck.js';
import { healthFindings, healthScan, pairingFinding, type Finding, type HealthReport, type PairingEvidence } from './health.js';
import { stepFindingAsFinding, stepFindingText } from './monitor.js';
import { describeLocation, DIVERGENCE_HINTS } from './nonfinite.js';

/** The configuration the doctor examines: the training options it needs. */
export interface DoctorSetup {
  readonly layers: readonly number[];
  readonly activation: PointwiseActivation;
  readonly output: Activation;
  readonly loss: LossName;
  readonly init: Init;
  readonly optimizer: OptimizerConfig;
  readonly schedule: Schedule;
  readonly batchSize: number;
  readonly epochs: number;
  readonly seed: number;
}

/** How much the doctor looks at. */
export interface DoctorOptions {
  readonly steps: number;
  readonly probe: number;
  readonly checkExamples: number;
  readonly checkEntries: number;
}

export const DOCTOR_DEFAULTS: DoctorOptions = { steps: 50, probe: 256, checkExamples: 4, checkEntries: 10 };

/** A finding and when it was first seen. */
export type DoctorFinding = Finding & { readonly when: string; readonly evidence?: PairingEvidence };

/** A scan of the probe: the health report, with the probe's loss and accuracy. */
export interface Scan {
  readonly loss: number;
  readonly accuracy: number;
  readonly layers: HealthReport['layers'];
}

/** Everything the doctor measured and concluded. */
export interface Diagnosis {
  readonly trainExamples: number;
  readonly probeExamples: number;
  readonly gradientCheck: GradCheckReport & { readonly examples: number; readonly entriesPerTensor: number };
  readonly initial: Scan;
  readonly training: {
    readonly steps: number;
    /** Loss of every step run. */
    readonly losses: readonly number[];
    readonly gradientNorms: readonly number[];
    readonly warnings: readonly string[];
    readonly divergence: string | null;
  };
  readonly final: Scan;
  /** Problems first; each says when it was seen (at initialisation, during training, after the steps). */
  readonly findings: readonly DoctorFinding[];
  readonly problems: number;
  readonly warnings: number;
  readonly healthy: boolean;
}

/**
 * Relative error above which backprop and finite differences disagree. In float64 a correct backprop gives
 * 1e-10 to 1e-5 on MNIST networks: the floor is the rounding of the logits (ulp(500) ~ 1e-13 for U(0,1)
 * weights) divided by the step.
 */
export const GRADCHECK_TOLERANCE = 1e-4;

/** Examines the configuration `o` on `trainSet` (the training examples a run would use). */
export const diagnose = async (o: DoctorSetup, d: DoctorOptions, trainSet: Dataset): Promise<Diagnosis> => {
  const classes = o.layers[o.layers.length - 1]!;
  const probe = toBatch([...readDataset(takeDataset(trainSet, 0, d.probe))], classes);
  const net0 = initNetwork({ sizes: o.layers, hidden: o.activation, output: o.output }, o.init, o.seed);
  if (E.isLeft(net0)) throw new RangeError(`doctor: options were checked, yet the network failed: ${net0.left.message}`);

  const scan = (net: Network): { scan: Scan; findings: (Finding & { readonly evidence?: PairingEvidence })[] } => {
    const report = healthScan(net, probe.inputs, { loss: o.loss, targets: probe.targets });
    const fw = forward(net, probe.inputs);
    const predicted = argmaxRows(fw.outputs[fw.outputs.length - 1]!);
    let correct = 0;
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === probe.labels[i]) correct++;
    const pairing = pairingFinding(o.loss, o.output, { logits: fw.logits, targets: probe.targets });
    return {
      scan: { loss: report.loss ?? NaN, accuracy: correct / probe.labels.length, layers: report.layers },
      findings: [...(pairing ? [pairing] : []), ...healthFindings(report)],
    };
  };

  const before = scan(net0.right);
  const n = Math.min(d.checkExamples, probe.inputs.rows);
  const check = gradientCheck(o.loss, net0.right, { inputs: sliceRows(probe.inputs, 0, n), targets: sliceRows(probe.targets, 0, n) }, { maxPerTensor: d.checkEntries, seed: o.seed });

  // The first batches the training run would see, through the training step it would run.
  const perEpoch = batchesPerEpoch(trainSet.count, o.batchSize);
  const step = stepOnce({ loss: o.loss, optimizer: o.optimizer, schedule: o.schedule, epochs: o.epochs, batchesPerEpoch: perEpoch });
  let s: TrainState = initialTrainState(net0.right, o.optimizer);
  const losses: number[] = [];
  const norms: number[] = [];
  if (d.steps > 0) {
    for await (const b of epochBatches({ dataset: trainSet, seed: o.seed, batchSize: o.batchSize, epochs: Math.max(o.epochs, Math.ceil(d.steps / perEpoch)), classes })) {
      s = step(s, b);
      if (s.divergence) break;
      losses.push(s.loss);
      norms.push(s.recent[s.recent.length - 1]?.gradientNorm ?? NaN);
      if (losses.length >= d.steps) break;
    }
  }
  const after = scan(s.network);

  const findings: DoctorFinding[] = [];
  const seen = new Set<string>();
  const keep = (f: Finding & { readonly evidence?: PairingEvidence }, when: string) => {
    const key = `${f.code}/${f.layer ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ ...f, when });
  };
  if (!(check.worst <= GRADCHECK_TOLERANCE)) {
    keep({ code: 'gradient-check', severity: 'problem', layer: undefined, where: 'gradient check', message: `backprop disagrees with finite differences (worst relative error ${check.worst.toExponential(2)})`, hint: 'a backward pass is wrong: report it with this configuration' }, 'at initialisation');
  }
  before.findings.forEach((f) => keep(f, 'at initialisation'));
  const steps = losses.length;
  const stepsText = `after ${steps} training step${steps === 1 ? '' : 's'}`;
  if (s.divergence) {
    keep({ code: 'non-finite', severity: 'problem', layer: s.divergence.where.layer, where: `training step ${s.divergence.step}`, message: describeLocation(s.divergence.where), hint: DIVERGENCE_HINTS.join('; ') }, 'training stopped there');
  }
  for (const f of s.findings) keep(stepFindingAsFinding(f), 'during training');
  if (steps > 0) {
    after.findings.forEach((f) => keep(f, stepsText));
    const l0 = before.scan.loss;
    const l1 = after.scan.loss;
    if (!s.divergence && Number.isFinite(l0) && Number.isFinite(l1) && l1 > l0 * 0.95) {
      const rose = l1 > l0 * 1.1;
      keep({
        code: 'not-learning',
        severity: rose ? 'problem' : 'warning',
        layer: undefined,
        where: 'training',
        message: `the probe loss went from ${l0.toPrecision(4)} to ${l1.toPrecision(4)}${rose ? ': it rose' : ', less than 5% lower'} (accuracy ${pct(before.scan.accuracy)} -> ${pct(after.scan.accuracy)})`,
        hint: rose ? 'lower the learning rate (e.g. divide --lr by 10) or clip the gradient norm' : 'fix the problems above first; otherwise raise the learning rate or use --optimizer momentum',
      }, stepsText);
    }
  }
  const problems = findings.filter((f) => f.severity === 'problem').length;
  return {
    trainExamples: trainSet.count,
    probeExamples: probe.inputs.rows,
    gradientCheck: { ...check, examples: n, entriesPerTensor: d.checkEntries },
    initial: before.scan,
    training: { steps, losses, gradientNorms: norms, warnings: s.findings.map(stepFindingText), divergence: s.divergence ? s.divergence.message : null },
    final: after.scan,
    findings: [...findings.filter((f) => f.severity === 'problem'), ...findings.filter((f) => f.severity !== 'problem')],
    problems,
    warnings: findings.length - problems,
    healthy: problems === 0,
  };
};

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
