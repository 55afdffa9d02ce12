/**
 * `gradpipe doctor [train options]`: a health report of a training configuration on real data.
 *
 * 1. The options are the training options (same parser, same checks, same data resolution as train).
 * 2. The configured network is built with its seed; a probe of training examples is scanned (forward and
 *    backward): per-layer statistics of weights, activations and gradients, saturated and dead units,
 *    tiny (below 1e-30) and non-finite values.
 * 3. Backprop is checked against central finite differences in float64 on a few examples, sampling a few
 *    entries of every tensor (a big network has too many to check them all).
 * 4. A few training steps run with the configured optimiser on the first batches the training run would
 *    see; the probe is scanned again, and its loss compared with the loss before.
 * 5. Every finding carries a plain-language hint. Exit 0 when no problem was found, 4 when one was
 *    (warnings alone keep 0), 1 for bad options or data.
 */
import * as E from 'fp-ts/lib/Either.js';
import { gradientCheck, type GradCheckReport } from '../diagnostics/gradcheck.js';
import { findingText, healthFindings, healthScan, pairingFinding, type Finding, type HealthReport, type LayerHealth, type PairingEvidence, type Stats } from '../diagnostics/health.js';
import { describeLocation, DIVERGENCE_HINTS } from '../diagnostics/nonfinite.js';
import { optionError, type GradpipeError } from '../errors.js';
import { toJson } from '../io/json.js';
import { forward } from '../nn/forward.js';
import { initNetwork } from '../nn/init.js';
import type { Network } from '../nn/network.js';
import { toBatch } from '../stages/batch.js';
import { batchesPerEpoch, epochBatches } from '../stages/epochs.js';
import { readDataset, takeDataset } from '../stages/read.js';
import { descend, initialTrainState, type TrainState } from '../stages/trainStep.js';
import { argmaxRows, sliceRows } from '../tensor/matrix.js';
import type { Resolved } from '../tensor/select.js';
import { parseInteger, str, type CommandSpec } from './args.js';
import { EXIT, fail, loadData, printHelp, withBackend, type LoadedData } from './common.js';
import { processIo, type CliIo } from './io.js';
import { optionsRecord, parseTrainArgs, trainTable, type TrainArgs } from './options.js';
import { packageInfo } from './version.js';

/** Exit code when the report found a problem. */
export const EXIT_PROBLEMS = EXIT.problems;

const DEFAULTS = { steps: 50, probe: 256, checkExamples: 4, checkEntries: 10 } as const;

/** The options and help of `gradpipe doctor`: the training options plus the doctor's own. */
export const DOCTOR_SPEC: CommandSpec = {
  name: 'doctor',
  usage: 'gradpipe doctor [train options] [--steps N] [--probe N] [--check-examples N] [--check-entries N]',
  summary:
    'Build the configured network, run real batches through it (forward, backward, a few training steps with the configured optimiser) and print a health report: gradient check against finite differences, per-layer activation and gradient statistics, saturated and dead units, tiny and non-finite values, the output-loss pairing, each finding with a hint.',
  options: trainTable({
    steps: { type: 'string', value: 'N', help: `training steps to run before the second scan (default ${DEFAULTS.steps}; 0 for none)` },
    probe: { type: 'string', value: 'N', help: `training examples scanned for the statistics (default ${DEFAULTS.probe})` },
    'check-examples': { type: 'string', value: 'N', help: `examples in the gradient check (default ${DEFAULTS.checkExamples})` },
    'check-entries': { type: 'string', value: 'N', help: `entries of each weight and bias tensor checked, drawn with the seed (default ${DEFAULTS.checkEntries})` },
  }),
  notes: [
    'Examples:',
    '  gradpipe doctor                                   the default network: no problems expected',
    '  gradpipe doctor --activation sigmoid --output softmax --loss mse --init uniform:0,1 --batch-size 20 --lr 0.05 --optimizer sgd',
    `Exit codes: 0 no problem found, ${EXIT_PROBLEMS} problems found, 1 bad option or data, 2 internal error.`,
  ],
};

interface DoctorOptions {
  readonly steps: number;
  readonly probe: number;
  readonly checkExamples: number;
  readonly checkEntries: number;
}

const doctorOptions = (a: TrainArgs): E.Either<GradpipeError, DoctorOptions> => {
  const int = (name: string, fallback: number, min: number) => {
    const t = str(a.values, name);
    return t === undefined ? E.right(fallback) : parseInteger(`--${name}`, t, min, String(fallback));
  };
  const steps = int('steps', DEFAULTS.steps, 0);
  if (E.isLeft(steps)) return steps;
  const probe = int('probe', DEFAULTS.probe, 1);
  if (E.isLeft(probe)) return probe;
  const checkExamples = int('check-examples', DEFAULTS.checkExamples, 1);
  if (E.isLeft(checkExamples)) return checkExamples;
  const checkEntries = int('check-entries', DEFAULTS.checkEntries, 1);
  if (E.isLeft(checkEntries)) return checkEntries;
  return E.right({ steps: steps.right, probe: probe.right, checkExamples: checkExamples.right, checkEntries: checkEntries.right });
};

/** A finding and when it was first seen. */
export type DoctorFinding = Finding & { readonly when: string; readonly evidence?: PairingEvidence };

/** A scan of the probe: the health report, with the probe's loss and accuracy. */
export interface Scan {
  readonly loss: number;
  readonly accuracy: number;
  readonly layers: HealthReport['layers'];
}

/** Everything `gradpipe doctor` measured and concluded (its --json output). */
export interface DoctorReport {
  readonly gradpipe: string;
  readonly config: Record<string, string>;
  readonly data: string;
  readonly trainExamples: number;
  readonly backend: string;
  readonly threads: number;
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
  readonly exitCode: number;
}

/**
 * Relative error above which backprop and finite differences disagree. In float64 a correct backprop gives
 * 1e-10 to 1e-5 on MNIST networks: the floor is the rounding of the logits (ulp(500) ~ 1e-13 for U(0,1)
 * weights) divided by the step.
 */
const GRADCHECK_TOLERANCE = 1e-4;

const diagnose = async (a: TrainArgs, d: DoctorOptions, data: LoadedData, backend: Resolved): Promise<DoctorReport> => {
  const o = a.options;
  const classes = o.layers[o.layers.length - 1]!;
  const all = o.trainLimit === undefined ? data.train : takeDataset(data.train, 0, o.trainLimit);
  const trainSet = takeDataset(all, 0, all.count - o.validation);
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
  const step = descend({ loss: o.loss, optimizer: o.optimizer, schedule: o.schedule, epochs: o.epochs, batchesPerEpoch: perEpoch });
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
  for (const w of s.warnings) {
    const tiny = w.includes('below 1e-30');
    const layer = Number(/^layer (\d+)/.exec(w)?.[1]);
    keep({ code: tiny ? 'tiny-values' : 'huge-values', severity: 'problem', layer: Number.isFinite(layer) ? layer : undefined, where: w.split(':')[0]!, message: w.slice(w.indexOf(':') + 2), hint: tiny ? 'use fan-in-scaled initialisation (he or glorot) and a loss computed from logits' : 'lower the learning rate or clip the gradient norm (--clip-norm 5)' }, 'during training');
  }
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
    gradpipe: packageInfo().version,
    config: optionsRecord(o),
    data: data.dir.dir,
    trainExamples: trainSet.count,
    backend: backend.backend.name,
    threads: backend.backend.threads,
    probeExamples: probe.inputs.rows,
    gradientCheck: { ...check, examples: n, entriesPerTensor: d.checkEntries },
    initial: before.scan,
    training: { steps, losses, gradientNorms: norms, warnings: s.warnings, divergence: s.divergence ? s.divergence.message : null },
    final: after.scan,
    findings: [...findings.filter((f) => f.severity === 'problem'), ...findings.filter((f) => f.severity !== 'problem')],
    problems,
    warnings: findings.length - problems,
    healthy: problems === 0,
    exitCode: problems === 0 ? EXIT.ok : EXIT_PROBLEMS,
  };
};

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const sci = (x: number): string => (Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(1));

const statRow = (label: string, st: Stats, extra = ''): string =>
  `    ${label.padEnd(17)}${sci(st.minAbs).padStart(9)}${sci(st.meanAbs).padStart(9)}${sci(st.maxAbs).padStart(9)}${String(st.tiny).padStart(7)}${String(st.nonFinite).padStart(8)}${extra}`;

const layerRows = (h: LayerHealth, last: boolean): string[] => [
  `  layer ${h.layer} (${h.activation}, ${h.units} units): saturated ${pct(h.saturatedFraction)}${h.activation === 'relu' ? `, dead ${pct(h.deadFraction)}` : ''}`,
  statRow('weights', h.weights),
  ...(last ? [statRow('logits', h.preActivations)] : []),
  statRow(last ? 'outputs' : 'activations', h.outputs),
  ...(h.weightGradients ? [statRow('weight gradients', h.weightGradients)] : []),
  ...(h.biasGradients ? [statRow('bias gradients', h.biasGradients)] : []),
];

const scanText = (title: string, sc: Scan): string[] => [
  `${title}: loss ${sc.loss.toPrecision(4)}, accuracy ${pct(sc.accuracy)}`,
  `    ${''.padEnd(17)}${'min|v|'.padStart(9)}${'mean|v|'.padStart(9)}${'max|v|'.padStart(9)}${'tiny'.padStart(7)}${'nonfin'.padStart(8)}`,
  ...sc.layers.flatMap((h, i) => layerRows(h, i === sc.layers.length - 1)),
];

/** The report as text. */
export const formatReport = (r: DoctorReport): string => {
  const c = r.config;
  const g = r.gradientCheck;
  const checked = g.layers.reduce((s, l) => s + l.weight.checked + l.bias.checked, 0);
  const kinks = g.layers.reduce((s, l) => s + l.weight.skippedAtKinks + l.bias.skippedAtKinks, 0);
  const t = r.training;
  const lines = [
    `gradpipe doctor: ${c['layers']} ${c['activation']} hidden, ${c['output']} output, loss ${c['loss']}, init ${c['init']}, ${c['optimizer']} lr ${c['lr']}, batch ${c['batch-size']}, seed ${c['seed']}`,
    `data ${r.data} (${r.trainExamples} training examples), backend ${r.backend} x${r.threads}, probe of ${r.probeExamples} examples`,
    '',
    `gradient check (backprop vs central differences, float64, ${g.examples} examples, up to ${g.entriesPerTensor} entries per tensor): worst relative error ${sci(g.worst)} over ${checked} entries${kinks > 0 ? ` (${kinks} skipped at ReLU kinks)` : ''}: ${g.worst <= GRADCHECK_TOLERANCE ? 'backprop is right' : 'MISMATCH'}`,
    '',
    ...scanText('at initialisation', r.initial),
    '',
    t.steps > 0 || t.divergence
      ? `training: ${t.steps} steps, batch loss ${sci(t.losses[0] ?? NaN)} -> ${sci(t.losses[t.losses.length - 1] ?? NaN)}, gradient norm ${sci(t.gradientNorms[0] ?? NaN)} -> ${sci(t.gradientNorms[t.gradientNorms.length - 1] ?? NaN)}${t.divergence ? `; diverged at ${t.divergence}` : ''}`
      : 'training: no steps run (--steps 0)',
    ...(t.steps > 0 ? ['', ...scanText(`after ${t.steps} steps`, r.final)] : []),
    '',
  ];
  if (r.findings.length === 0) lines.push('findings: none. No problems found.');
  else {
    lines.push(`findings: ${r.problems} problem${r.problems === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`);
    for (const f of r.findings) lines.push(`  ${f.severity === 'problem' ? 'PROBLEM' : 'warning'} [${f.when}] ${f.where}: ${f.message}`, `    what to do: ${f.hint}`);
  }
  lines.push(r.healthy ? 'verdict: healthy (exit 0)' : `verdict: ${r.problems} problem${r.problems === 1 ? '' : 's'} found (exit ${EXIT_PROBLEMS})`);
  return `${lines.join('\n')}\n`;
};

/** `gradpipe doctor`. */
export const runDoctor = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const args = parseTrainArgs(argv, DOCTOR_SPEC);
  if (E.isLeft(args)) return fail(io, args.left);
  if (args.right.help) return printHelp(io, DOCTOR_SPEC);
  const a = args.right;
  const d = doctorOptions(a);
  if (E.isLeft(d)) return fail(io, d.left);
  const data = await loadData(io, a.data, a.options.layers[0]!, a.options.layers[a.options.layers.length - 1]!);
  if (E.isLeft(data)) return fail(io, data.left);
  const trainCount = Math.min(data.right.train.count, a.options.trainLimit ?? Infinity);
  if (a.options.validation >= trainCount) {
    return fail(io, optionError('--validation', `${a.options.validation} examples would leave none of the ${trainCount} training examples`, `give --validation below ${trainCount}`));
  }
  const ran = await withBackend(a.backend, a.threads, (backend) => diagnose(a, d.right, data.right, backend));
  if (E.isLeft(ran)) return fail(io, ran.left);
  const report = ran.right;
  if (a.json) io.stdout.write(`${toJson(report, 2)}\n`);
  else if (a.quiet) io.stdout.write(`${report.findings.map((f) => `${f.severity}: ${findingText(f)}`).concat(report.healthy ? ['healthy'] : []).join('\n')}\n`);
  else io.stdout.write(formatReport(report));
  return report.exitCode;
};
