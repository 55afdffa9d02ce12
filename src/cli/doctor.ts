/**
 * `gradpipe doctor [train options]`: a health report of a training configuration on real data.
 *
 * 1. The options are the training options (same parser, same checks, same data resolution as train).
 * 2. The engine (diagnostics/doctor.ts) examines it: gradient check, scans of a probe before and after a
 *    few training steps, findings with hints.
 * 3. The report is printed (text, --quiet one line per finding, or --json). Exit 0 when no problem was
 *    found, 4 when one was (warnings alone keep 0), 1 for bad options or data.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { diagnose, DOCTOR_DEFAULTS as DEFAULTS, GRADCHECK_TOLERANCE, type Diagnosis, type DoctorOptions, type Scan } from '../diagnostics/doctor.js';
import { findingText, type LayerHealth, type Stats } from '../diagnostics/health.js';
import { optionError, type GradpipeError } from '../errors.js';
import { toJson } from '../io/json.js';
import { takeDataset } from '../stages/read.js';
import type { Resolved } from '../tensor/select.js';
import { parseInteger, str, type CommandSpec } from './args.js';
import { EXIT, fail, loadData, printHelp, withBackend, type LoadedData } from './common.js';
import { processIo, type CliIo } from './io.js';
import { optionsRecord, parseTrainArgs, trainTable, type TrainArgs } from './options.js';
import { packageInfo } from './version.js';

/** Exit code when the report found a problem. */
export const EXIT_PROBLEMS = EXIT.problems;

/** Everything `gradpipe doctor` measured and concluded (its --json output): the diagnosis and its setting. */
export interface DoctorReport extends Diagnosis {
  readonly gradpipe: string;
  readonly config: Record<string, string>;
  readonly data: string;
  readonly backend: string;
  readonly threads: number;
  readonly exitCode: number;
}

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

const doctorOptions = (a: TrainArgs): E.Either<GradpipeError, DoctorOptions> => {
  const int = (name: string, fallback: number, min: number) => {
    const t = str(a.values, name);
    return t === undefined ? E.right(fallback) : parseInteger(`--${name}`, t, min, String(fallback));
  };
  return pipe(
    E.Do,
    E.apS('steps', int('steps', DEFAULTS.steps, 0)),
    E.apS('probe', int('probe', DEFAULTS.probe, 1)),
    E.apS('checkExamples', int('check-examples', DEFAULTS.checkExamples, 1)),
    E.apS('checkEntries', int('check-entries', DEFAULTS.checkEntries, 1)),
  );
};

const report = async (a: TrainArgs, d: DoctorOptions, data: LoadedData, backend: Resolved): Promise<DoctorReport> => {
  const o = a.options;
  const all = o.trainLimit === undefined ? data.train : takeDataset(data.train, 0, o.trainLimit);
  const diagnosis = await diagnose(o, d, takeDataset(all, 0, all.count - o.validation));
  return {
    gradpipe: packageInfo().version,
    config: optionsRecord(o),
    data: data.dir.dir,
    backend: backend.backend.name,
    threads: backend.backend.threads,
    ...diagnosis,
    exitCode: diagnosis.healthy ? EXIT.ok : EXIT_PROBLEMS,
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
  const ran = await withBackend(a.backend, a.threads, (backend) => report(a, d.right, data.right, backend));
  if (E.isLeft(ran)) return fail(io, ran.left);
  const r = ran.right;
  if (a.json) io.stdout.write(`${toJson(r, 2)}\n`);
  else if (a.quiet) io.stdout.write(`${r.findings.map((f) => `${f.severity}: ${findingText(f)}`).concat(r.healthy ? ['healthy'] : []).join('\n')}\n`);
  else io.stdout.write(formatReport(r));
  return r.exitCode;
};
