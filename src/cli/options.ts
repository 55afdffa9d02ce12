/**
 * The training options of `gradpipe train` (and `gradpipe doctor`), parsed and checked into the pipeline's
 * `TrainOptions` before any data is read. Every bad value is one `OptionError` naming the option, what is
 * wrong and the valid values or range.
 *
 * 1. parseArgs (strict) splits argv; unknown options and missing values are errors (args.ts).
 * 2. Each given option is parsed by its own function (the library's parseInit, parseSchedule, ...).
 * 3. The result is checked as a whole: the loss fits the output, the layer list fits MNIST (784 inputs,
 *    10 classes), stopping on validation needs a validation split.
 * `given` records which training options were on the command line, so `--resume` can refuse the ones
 * that contradict the checkpoint (`conflicts`).
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';
import { HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, parseActivation, type PointwiseActivation } from '../nn/activation.js';
import { formatInit, parseInit } from '../nn/init.js';
import { checkLossPairing, parseLoss } from '../nn/loss.js';
import { OPTIMIZERS, optimizer, type OptimizerConfig, type OptimizerKind } from '../optim/optimizer.js';
import { formatSchedule, parseSchedule } from '../optim/schedule.js';
import { BACKEND_CHOICES, type BackendChoice } from '../tensor/select.js';
import { defaultTrainOptions, type TrainOptions } from '../../pipelines/mnist.js';
import { PRESET_NAMES, PRESETS, presetOptions, type PresetName } from '../../pipelines/presets.js';
import type { AffineBounds, ElasticParams } from '../data/distort.js';
import { flag, parseChoice, parseCommand, parseInteger, parseNumber, str, type CommandSpec, type OptionTable, type Values } from './args.js';
import { MAX_THREADS } from '../tensor/backend.js';

/** MNIST's input size (28x28 pixels) and class count: the ends of every layer list. */
export const MNIST_INPUT = 784;
export const MNIST_CLASSES = 10;
/** Larger networks would not fit in memory with their optimiser state. */
const MAX_PARAMETERS = 100_000_000;

const d = defaultTrainOptions;

/** The options that configure training (stored in checkpoints; conflicts with them are refused on resume). */
export const TRAIN_CONFIG_OPTIONS: OptionTable = {
  layers: { type: 'string', value: 'SIZES', help: `layer sizes, input first (default ${d.layers.join('-')})` },
  activation: { type: 'string', value: 'NAME', help: `hidden activation: ${HIDDEN_ACTIVATIONS.join('|')} (default ${d.activation})` },
  output: { type: 'string', value: 'NAME', help: `output activation: ${OUTPUT_ACTIVATIONS.join('|')} (default ${d.output})` },
  loss: { type: 'string', value: 'NAME', help: `cross-entropy|mse (default ${d.loss})` },
  init: { type: 'string', value: 'INIT', help: `he|glorot|uniform:LOW,HIGH|normal:STD (default ${formatInit(d.init)})` },
  optimizer: { type: 'string', value: 'NAME', help: `${OPTIMIZERS.join('|')} (default ${d.optimizer.kind})` },
  lr: { type: 'string', value: 'RATE', help: `learning rate >= 0 (default ${d.optimizer.lr}; 0.001 with adam)` },
  momentum: { type: 'string', value: 'MU', help: `momentum in [0, 1) for momentum/nesterov (default ${d.optimizer.momentum})` },
  'weight-decay': { type: 'string', value: 'L2', help: `L2 weight decay >= 0 (default ${d.optimizer.weightDecay})` },
  'clip-norm': { type: 'string', value: 'NORM', help: 'clip the gradient norm to NORM > 0 (default off)' },
  'lr-schedule': { type: 'string', value: 'S', help: `constant|step:EPOCHS,GAMMA|cosine (default ${formatSchedule(d.schedule)})` },
  'batch-size': { type: 'string', value: 'N', help: `examples per step (default ${d.batchSize})` },
  epochs: { type: 'string', value: 'N', help: `passes over the training set (default ${d.epochs}); may be raised on --resume` },
  'max-steps': { type: 'string', value: 'N', help: 'stop after N steps in all' },
  validation: { type: 'string', value: 'N', help: `hold out the last N training examples for stopping decisions (default ${d.validation})` },
  'target-accuracy': { type: 'string', value: 'A', help: 'stop when validation accuracy reaches A (0.98 or 98%; needs --validation)' },
  patience: { type: 'string', value: 'N', help: 'stop after N epochs without validation improvement, keeping the best network (needs --validation)' },
  'min-delta': { type: 'string', value: 'X', help: `smallest validation improvement that counts (default ${d.minDelta})` },
  'time-limit': { type: 'string', value: 'SECONDS', help: 'stop after this much training time in this run' },
  seed: { type: 'string', value: 'N', help: `seed of initialisation and data order (default ${d.seed})` },
  'train-limit': { type: 'string', value: 'N', help: 'use only the first N training examples (quick runs, tests)' },
  'test-limit': { type: 'string', value: 'N', help: 'use only the first N test examples' },
  dropout: { type: 'string', value: 'P', help: 'inverted dropout rate in [0, 1) on the hidden layers in training (default 0)' },
  affine: { type: 'string', value: 'S,R,SC,SH', help: 'random affine distortion of training images: shift px, rotation deg, scale, shear bounds, or none (default none)' },
  elastic: { type: 'string', value: 'ALPHA,SIGMA', help: 'elastic distortion of training images (Simard 2003, e.g. 34,4), or none (default none)' },
};

/** Options about where and how to run, free to change on --resume. */
export const RUN_OPTIONS: OptionTable = {
  data: { type: 'string', value: 'DIR', help: 'folder with the four MNIST IDX files, .gz or raw (default: $GRADPIPE_DATA, data/mnist, ../shared/datasets/mnist)' },
  backend: { type: 'string', value: 'NAME', help: `numeric backend: ${BACKEND_CHOICES.join('|')} (default auto: the fastest available)` },
  threads: { type: 'string', value: 'N', help: 'threads for the backend (default: all cores)' },
  preset: { type: 'string', value: 'NAME', help: `starting options: ${PRESET_NAMES.join('|')} (default fast; options given with it override it; see below)` },
  'batch-threads': { type: 'string', value: 'N', help: 'worker threads that assemble training batches (gather, distort, scale) ahead of training (default 1 with --affine or --elastic, else 0: on the main thread)' },
  'augment-threads': { type: 'string', value: 'N', help: 'the same as --batch-threads (its former name)' },
  'held-out': { type: 'string', value: 'WHEN', help: 'auto|none: evaluate the validation split, or without one the test set (display only), every epoch (default auto)' },
  json: { type: 'boolean', help: 'print only the summary as JSON on stdout' },
  quiet: { type: 'boolean', short: 'q', help: 'print nothing but the final line' },
};

/** The parsed command line of a training command. */
export interface TrainArgs {
  readonly options: TrainOptions;
  /** The training options given on the command line (names without dashes, e.g. `lr`). */
  readonly given: readonly string[];
  readonly data: string | undefined;
  readonly backend: BackendChoice;
  readonly threads: number | undefined;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  readonly help: boolean;
  /** Everything parseArgs returned, for the caller's own extra options. */
  readonly values: Values;
  readonly positionals: readonly string[];
}

type Parse<T> = (text: string) => E.Either<GradpipeError, T>;

const positive = (name: string, example: string): Parse<number> => (t) => parseInteger(name, t, 1, example);

/** Parses `--layers 784-1000-10`. */
export const parseLayers = (text: string, where = '--layers'): E.Either<GradpipeError, number[]> => {
  const hint = `write sizes separated by '-', input first, e.g. ${where} ${MNIST_INPUT}-1000-${MNIST_CLASSES}`;
  const parts = text.split(/[-,]/);
  if (parts.length < 2) return E.left(optionError(where, `'${text}' needs at least two sizes (input and output)`, hint));
  const sizes: number[] = [];
  for (const [i, p] of parts.entries()) {
    const n = /^\d+$/.test(p.trim()) ? Number(p) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) return E.left(optionError(where, `size ${i + 1} ('${p}') is not a whole number >= 1`, hint));
    sizes.push(n);
  }
  if (sizes[0] !== MNIST_INPUT) {
    return E.left(optionError(where, `the first size is ${sizes[0]} but MNIST images have ${MNIST_INPUT} pixels (28x28)`, hint));
  }
  if (sizes[sizes.length - 1] !== MNIST_CLASSES) {
    return E.left(optionError(where, `the last size is ${sizes[sizes.length - 1]} but MNIST has ${MNIST_CLASSES} classes`, hint));
  }
  let params = 0;
  for (let i = 0; i + 1 < sizes.length; i++) params += (sizes[i]! + 1) * sizes[i + 1]!;
  if (params > MAX_PARAMETERS) {
    return E.left(optionError(where, `'${text}' has ${params.toExponential(2)} parameters, more than the ${MAX_PARAMETERS.toExponential(0)} that fit in memory`, 'use smaller layers'));
  }
  return E.right(sizes);
};

/** Parses `0.98` or `98%` into a fraction in (0, 1]. */
export const parseAccuracy = (text: string, where = '--target-accuracy'): E.Either<GradpipeError, number> => {
  const percent = text.trim().endsWith('%');
  const r = parseNumber(where, percent ? text.trim().slice(0, -1) : text, (x) => (percent ? x > 0 && x <= 100 : x > 0 && x <= 1), 'in (0, 1], or a percentage like 98%', '0.98');
  return E.map((x: number) => (percent ? x / 100 : x))(r);
};

/** Runs the parsers of the options present in `values`, left to right; the first error wins. */
const fold = (values: Values, base: TrainOptions): E.Either<GradpipeError, TrainOptions> => {
  let o: TrainOptions = base;
  let opt: Partial<OptimizerConfig> & { kind?: string } = {};
  const steps: [string, (text: string) => E.Either<GradpipeError, void>][] = [
    ['layers', (t) => E.map((layers: number[]) => void (o = { ...o, layers }))(parseLayers(t))],
    ['activation', (t) => E.map((a) => void (o = { ...o, activation: a as PointwiseActivation }))(parseActivation(t, '--activation', HIDDEN_ACTIVATIONS))],
    ['output', (t) => E.map((output: TrainOptions['output']) => void (o = { ...o, output }))(parseActivation(t, '--output', OUTPUT_ACTIVATIONS))],
    ['loss', (t) => E.map((loss: TrainOptions['loss']) => void (o = { ...o, loss }))(parseLoss(t, '--loss'))],
    ['init', (t) => E.map((init: TrainOptions['init']) => void (o = { ...o, init }))(parseInit(t, '--init'))],
    ['optimizer', (t) => E.map((kind: OptimizerKind) => void (opt = { ...opt, kind }))(parseChoice('--optimizer', t, OPTIMIZERS))],
    ['lr', (t) => E.map((lr: number) => void (opt = { ...opt, lr }))(parseNumber('--lr', t, (x) => x >= 0, '>= 0', '0.05'))],
    ['momentum', (t) => E.map((momentum: number) => void (opt = { ...opt, momentum }))(parseNumber('--momentum', t, (x) => x >= 0 && x < 1, 'in [0, 1)', '0.9'))],
    ['weight-decay', (t) => E.map((weightDecay: number) => void (opt = { ...opt, weightDecay }))(parseNumber('--weight-decay', t, (x) => x >= 0, '>= 0', '0.0001'))],
    ['clip-norm', (t) => E.map((clipNorm: number) => void (opt = { ...opt, clipNorm }))(parseNumber('--clip-norm', t, (x) => x > 0, '> 0', '5'))],
    ['lr-schedule', (t) => E.map((schedule: TrainOptions['schedule']) => void (o = { ...o, schedule }))(parseSchedule(t, '--lr-schedule'))],
    ['batch-size', (t) => E.map((batchSize: number) => void (o = { ...o, batchSize }))(parseInteger('--batch-size', t, 1, '64', 1_000_000))],
    ['epochs', (t) => E.map((epochs: number) => void (o = { ...o, epochs }))(positive('--epochs', '8')(t))],
    ['max-steps', (t) => E.map((maxSteps: number) => void (o = { ...o, maxSteps }))(positive('--max-steps', '1000')(t))],
    ['validation', (t) => E.map((validation: number) => void (o = { ...o, validation }))(parseInteger('--validation', t, 0, '5000'))],
    ['target-accuracy', (t) => E.map((targetAccuracy: number) => void (o = { ...o, targetAccuracy }))(parseAccuracy(t))],
    ['patience', (t) => E.map((patience: number) => void (o = { ...o, patience }))(positive('--patience', '3')(t))],
    ['min-delta', (t) => E.map((minDelta: number) => void (o = { ...o, minDelta }))(parseNumber('--min-delta', t, (x) => x >= 0, '>= 0', '0.001'))],
    ['time-limit', (t) => E.map((timeLimit: number) => void (o = { ...o, timeLimit }))(parseNumber('--time-limit', t, (x) => x > 0, '> 0 (seconds)', '60'))],
    ['seed', (t) => E.map((seed: number) => void (o = { ...o, seed }))(parseInteger('--seed', t, 0, '42', 2 ** 32 - 1))],
    ['train-limit', (t) => E.map((trainLimit: number) => void (o = { ...o, trainLimit }))(positive('--train-limit', '2000')(t))],
    ['test-limit', (t) => E.map((testLimit: number) => void (o = { ...o, testLimit }))(positive('--test-limit', '1000')(t))],
    ['dropout', (t) => E.map((dropout: number) => void (o = { ...o, dropout }))(parseNumber('--dropout', t, (x) => x >= 0 && x < 1, 'in [0, 1)', '0.2'))],
    ['affine', (t) => E.map((affine: AffineBounds | undefined) => void (o = { ...o, augment: withPart(o.augment, 'affine', affine) }))(parseAffine(t))],
    ['elastic', (t) => E.map((elastic: ElasticParams | undefined) => void (o = { ...o, augment: withPart(o.augment, 'elastic', elastic) }))(parseElastic(t))],
    ['batch-threads', (t) => E.map((batchWorkers: number) => void (o = { ...o, batchWorkers }))(parseInteger('--batch-threads', t, 0, '1', 64))],
    ['augment-threads', (t) => E.map((batchWorkers: number) => void (o = { ...o, batchWorkers }))(parseInteger('--augment-threads', t, 0, '1', 64))],
    ['held-out', (t) => E.map((h: string) => void (o = { ...o, heldOut: h === 'auto' }))(parseChoice('--held-out', t, ['auto', 'none'] as const))],
  ];
  for (const [name, parse] of steps) {
    const text = str(values, name);
    if (text === undefined) continue;
    const r = parse(text);
    if (E.isLeft(r)) return r;
  }
  // Adam wants a far smaller rate than SGD; a new optimizer without --lr gets its own default.
  const kindChanged = opt.kind !== undefined && opt.kind !== base.optimizer.kind;
  const lr = opt.lr ?? (kindChanged && opt.kind === 'adam' ? 0.001 : base.optimizer.lr);
  const full = optimizer({ ...base.optimizer, ...opt, lr });
  if (E.isLeft(full)) return E.left(inCliTerms(full.left));
  return E.right({ ...o, optimizer: full.right });
};

type Augment = NonNullable<TrainOptions['augment']>;

/** `augment` with its part `key` set to `part`, or removed (undefined when nothing is left). */
const withPart = <K extends 'affine' | 'elastic'>(augment: Augment | undefined, key: K, part: Augment[K] | undefined): Augment | undefined => {
  const { [key]: _, ...rest } = augment ?? {};
  const next: Augment = part === undefined ? rest : { ...rest, [key]: part };
  return next.affine === undefined && next.elastic === undefined ? undefined : next;
};

/** Comma-separated numbers >= 0 (at least `min`, at most `max` of them), or undefined for `none`. */
const parseBounds = (name: string, text: string, min: number, max: number, example: string): E.Either<GradpipeError, number[] | undefined> => {
  if (text.trim() === 'none') return E.right(undefined);
  const parts = text.split(',');
  const hint = `give ${min === max ? min : `${min} to ${max}`} numbers >= 0 separated by commas, or none (e.g. ${name} ${example})`;
  if (parts.length < min || parts.length > max) return E.left(optionError(name, `'${text}' has ${parts.length} values`, hint));
  const out: number[] = [];
  for (const p of parts) {
    const x = parseNumber(name, p, (v) => v >= 0, '>= 0', example);
    if (E.isLeft(x)) return E.left({ ...x.left, hint });
    out.push(x.right);
  }
  return E.right(out);
};

/** Parses `--affine SHIFT,ROTATION,SCALE,SHEAR` (trailing ones may be left out: 0) or `none`. */
export const parseAffine = (text: string): E.Either<GradpipeError, AffineBounds | undefined> =>
  E.map((b: number[] | undefined) => b && { shift: b[0]!, rotation: b[1] ?? 0, scale: b[2] ?? 0, shear: b[3] ?? 0 })(parseBounds('--affine', text, 1, 4, '2,10,0.1,0.2'));

/** Parses `--elastic ALPHA,SIGMA` or `none`. */
export const parseElastic = (text: string): E.Either<GradpipeError, ElasticParams | undefined> =>
  E.chain((b: number[] | undefined) =>
    b === undefined ? E.right(undefined) : b[1]! > 0 ? E.right({ alpha: b[0]!, sigma: b[1]! }) : E.left(optionError('--elastic', `sigma ${b[1]} must be > 0`, 'e.g. --elastic 34,4')),
  )(parseBounds('--elastic', text, 2, 2, '34,4'));

const formatAffine = (a: AffineBounds | undefined): string => (a === undefined ? 'none' : [a.shift ?? 0, a.rotation ?? 0, a.scale ?? 0, a.shear ?? 0].join(','));
const formatElastic = (e: ElasticParams | undefined): string => (e === undefined ? 'none' : `${e.alpha},${e.sigma}`);

/** What preset `name` sets, as command-line options (for --help). */
export const presetText = (name: PresetName): string => {
  const set = Object.keys(TRAIN_CONFIG_OPTIONS).filter((k) => optionText(presetOptions(name), k) !== optionText(defaultTrainOptions, k));
  return set.length === 0 ? 'the defaults' : set.map((k) => `--${k} ${optionText(presetOptions(name), k)}`).join(' ');
};

/** The CLI flag for each library field that is not `optimizer.*` (those follow one rule, in `flagFor`). */
const FIELD_FLAGS: Readonly<Record<string, string>> = { 'spec.sizes': '--layers', backend: '--backend', threads: '--threads' };

/**
 * The flag for a field a library function names in its errors: optimizer.kind -> --optimizer,
 * optimizer.weightDecay -> --weight-decay, spec.sizes -> --layers, backend -> --backend; anything else
 * (a flag already, a file) unchanged.
 */
export const flagFor = (where: string): string => {
  if (FIELD_FLAGS[where] !== undefined) return FIELD_FLAGS[where]!;
  if (!where.startsWith('optimizer.')) return where;
  const field = where.replace(/^optimizer\./, '');
  return field === 'kind' ? '--optimizer' : `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
};

/** A library error in the CLI's terms: an option error's field becomes the flag that sets it. */
export const inCliTerms = (e: GradpipeError): GradpipeError => (e._tag === 'OptionError' ? { ...e, where: flagFor(e.where) } : e);

/** Checks the options as a whole (each one alone is already valid). */
export const checkTrainOptions = (o: TrainOptions): E.Either<GradpipeError, TrainOptions> => {
  const pairing = checkLossPairing(o.loss, o.output);
  if (E.isLeft(pairing)) return E.left(optionError('--loss', pairing.left.message, pairing.left.hint));
  if (o.validation === 0 && o.targetAccuracy !== undefined) {
    return E.left(optionError('--target-accuracy', 'is measured on the validation split, and there is none', 'add --validation N (e.g. --validation 5000)'));
  }
  if (o.validation === 0 && o.patience !== undefined) {
    return E.left(optionError('--patience', 'counts epochs without validation improvement, and there is no validation split', 'add --validation N (e.g. --validation 5000)'));
  }
  if (o.trainLimit !== undefined && o.validation >= o.trainLimit) {
    return E.left(optionError('--validation', `${o.validation} examples would leave none of the ${o.trainLimit} of --train-limit for training`, `give --validation below ${o.trainLimit}`));
  }
  return E.right(o);
};

/** The command table for `train` (doctor extends it with its own options). */
export const trainTable = (extra: OptionTable = {}): OptionTable => ({ ...TRAIN_CONFIG_OPTIONS, ...RUN_OPTIONS, ...extra });

/**
 * Parses a training command line (`spec` gives the command name and any extra options, for doctor):
 * training options over `base` (default: the pipeline's defaults), then the checks of `checkTrainOptions`.
 */
export const parseTrainArgs = (argv: readonly string[], spec: CommandSpec, base: TrainOptions = defaultTrainOptions): E.Either<GradpipeError, TrainArgs> => {
  const parsed = parseCommand(spec, argv);
  if (E.isLeft(parsed)) return parsed;
  const { values, positionals } = parsed.right;
  const common = {
    given: Object.keys(TRAIN_CONFIG_OPTIONS).filter((k) => values[k] !== undefined),
    data: str(values, 'data'),
    json: flag(values, 'json'),
    quiet: flag(values, 'quiet'),
    debug: flag(values, 'debug'),
    help: flag(values, 'help'),
    values,
    positionals,
  };
  const presetName = str(values, 'preset');
  if (presetName !== undefined) {
    const p = parseChoice('--preset', presetName, PRESET_NAMES);
    if (E.isLeft(p)) return p;
    base = { ...base, ...PRESETS[p.right] };
  }
  if (common.help) return E.right({ ...common, options: base, backend: 'auto', threads: undefined });
  const backend = parseChoice('--backend', str(values, 'backend') ?? 'auto', BACKEND_CHOICES);
  if (E.isLeft(backend)) return backend;
  const threadsText = str(values, 'threads');
  const threads = threadsText === undefined ? E.right(undefined) : parseInteger('--threads', threadsText, 1, '2', MAX_THREADS);
  if (E.isLeft(threads)) return threads;
  const options = fold(values, base);
  if (E.isLeft(options)) return options;
  // a resumed run takes its options from the checkpoint: the whole is checked after merging (resumedOptions)
  const checked = values['resume'] !== undefined ? E.right(options.right) : checkTrainOptions(options.right);
  if (E.isLeft(checked)) return checked;
  return E.right({ ...common, options: checked.right, backend: backend.right, threads: threads.right });
};

/** How a training option reads on the command line, for comparing a run's options with a checkpoint's. */
export const optionText = (o: TrainOptions, name: string): string => {
  const n = (x: number | undefined): string => (x === undefined ? 'off' : String(x));
  switch (name) {
    case 'layers': return o.layers.join('-');
    case 'activation': return o.activation;
    case 'output': return o.output;
    case 'loss': return o.loss;
    case 'init': return formatInit(o.init);
    case 'optimizer': return o.optimizer.kind;
    case 'lr': return n(o.optimizer.lr);
    case 'momentum': return n(o.optimizer.momentum);
    case 'weight-decay': return n(o.optimizer.weightDecay);
    case 'clip-norm': return n(o.optimizer.clipNorm);
    case 'lr-schedule': return formatSchedule(o.schedule);
    case 'batch-size': return n(o.batchSize);
    case 'epochs': return n(o.epochs);
    case 'max-steps': return n(o.maxSteps);
    case 'validation': return n(o.validation);
    case 'target-accuracy': return n(o.targetAccuracy);
    case 'patience': return n(o.patience);
    case 'min-delta': return n(o.minDelta);
    case 'time-limit': return n(o.timeLimit);
    case 'seed': return n(o.seed);
    case 'train-limit': return n(o.trainLimit);
    case 'test-limit': return n(o.testLimit);
    case 'dropout': return String(o.dropout ?? 0);
    case 'affine': return formatAffine(o.augment?.affine);
    case 'elastic': return formatElastic(o.augment?.elastic);
    default: throw new RangeError(`optionText: unknown training option '${name}'`);
  }
};

/** The options as they would be written on a command line (for summaries and messages). */
export const optionsRecord = (o: TrainOptions): Record<string, string> =>
  Object.fromEntries(Object.keys(TRAIN_CONFIG_OPTIONS).map((k) => [k, optionText(o, k)]));

/** Options that may differ from the checkpoint's on --resume: --epochs may extend the run, a time limit is per run. */
const RESUMABLE = new Set(['epochs', 'time-limit', 'max-steps']);

/**
 * The options of a resumed run: the checkpoint's, with --epochs/--max-steps/--time-limit taken from the
 * command line; any other training option that was given and differs from the checkpoint's is an error.
 */
export const resumedOptions = (stored: TrainOptions, args: TrainArgs, dir: string, epochsDone: number): E.Either<GradpipeError, TrainOptions> => {
  for (const name of args.given) {
    if (RESUMABLE.has(name)) continue;
    const mine = optionText(args.options, name);
    const theirs = optionText(stored, name);
    if (mine !== theirs) {
      return E.left(optionError(`--${name}`, `${mine} conflicts with the checkpoint in ${dir}, which was trained with ${theirs}`, `leave --${name} out when resuming, or start a new run with --out`));
    }
  }
  const pick = <K extends 'epochs' | 'maxSteps' | 'timeLimit'>(key: K, name: string): Partial<TrainOptions> =>
    args.given.includes(name) ? { [key]: args.options[key] } : {};
  const o: TrainOptions = { ...stored, ...pick('epochs', 'epochs'), ...pick('maxSteps', 'max-steps'), ...pick('timeLimit', 'time-limit') };
  const checked = checkTrainOptions(o);
  if (E.isLeft(checked)) return checked;
  if (o.epochs < epochsDone) {
    return E.left(optionError('--epochs', `${o.epochs} is fewer than the ${epochsDone} epochs the checkpoint in ${dir} has already done`, `give --epochs ${epochsDone + 1} or more to train further`));
  }
  return E.right(o);
};
