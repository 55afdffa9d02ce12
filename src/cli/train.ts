/**
 * `gradpipe train`: parse and check every option, find and load the data, choose the backend, run the
 * MNIST pipeline with progress, and write the output folder.
 *
 * 1. Options are checked before any data is read (options.ts); with --resume the checkpoint's options are
 *    used, and command-line options that contradict them are refused.
 * 2. The data is found (--data, GRADPIPE_DATA, data/mnist, ../shared/datasets/mnist) and loaded.
 * 3. Training runs with a checkpoint in the output folder at every epoch end; metrics.jsonl grows as it goes.
 * 4. SIGINT/SIGTERM stop after the current step: one checkpoint of exactly that step is written, the way
 *    to resume printed, exit 130. A second signal quits once that checkpoint is written, a third at once:
 *    checkpoints are replaced by rename, so the files under their real names are whole ones. A signal after
 *    the last epoch's step changes nothing: the run completes (exit 0).
 * 5. Divergence: exit 3 with the report on stderr; the last finite checkpoint and the metrics are on disk.
 * 6. Otherwise the model, summary, curves and confusion matrix are written and the final line (or, with
 *    --json, the summary) printed.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { gradpipeError, optionError, type GradpipeError } from '../errors.js';
import { CHECKPOINT_FILE, cleanCheckpointTemporaries, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../io/checkpoint.js';
import { parseJson, toJson } from '../io/json.js';
import { checkUnlocked } from '../io/lock.js';
import { checkpointBytes, openRunDir } from '../io/runDir.js';
import { formatInit } from '../nn/init.js';
import { DATA_ENV } from '../data/resolve.js';
import { batchesPerEpoch } from '../stages/epochs.js';
import { fromCheckpoint } from '../stages/checkpoint.js';
import type { EpochEvent, StepEvent } from '../stages/report.js';
import { divergenceReport } from '../diagnostics/divergenceReport.js';
import { stepFindingText } from '../diagnostics/monitor.js';
import { findingText } from '../diagnostics/health.js';
import { chanceCeiling } from '../diagnostics/probe.js';
import type { HealthFinding } from '../stages/scanHealth.js';
import type { TrainState } from '../optim/trainState.js';
import type { Resolved } from '../tensor/select.js';
import { defaultTrainOptions, modelMetadata, resumeOptions, runFigures, trainMnist, type RunResult, type TrainOptions } from '../../pipelines/mnist.js';
import { str, type CommandSpec } from './args.js';
import { EXIT, fail, loadData, printHelp, secondsSince, withBackend, type LoadedData } from './common.js';
import { resolvePath, type CliIo, type Signal } from './io.js';
import { optionsRecord, optionText, parseTrainArgs, presetText, resumedOptions, TRAIN_CONFIG_OPTIONS, trainTable, type TrainArgs } from './options.js';
import { PRESET_NAMES } from '../../pipelines/presets.js';
import { epochHistory, FILES, metricsWriter, writeRunOutputs, type MetricsWriter } from './outputs.js';
import { createProgress, formatDuration, type ProgressMode } from './progress.js';
import { packageInfo } from './version.js';

export const TRAIN_SPEC: CommandSpec = {
  name: 'train',
  usage: 'gradpipe train [options]',
  summary: 'Train a network on MNIST and write model.safetensors, metrics.jsonl, summary.json, curves.svg, confusion.svg and a checkpoint into the output folder.',
  options: trainTable({
    out: { type: 'string', value: 'DIR', help: 'output folder (default runs/<timestamp>; with --resume, the resumed folder)' },
    resume: { type: 'string', value: 'DIR', help: "continue the run whose checkpoint is in DIR, with its options (--epochs may extend it)" },
  }),
  notes: [
    'Examples:',
    '  gradpipe train                                    the default 784-1000-10 network',
    '  gradpipe train --layers 784-300-100-10 --optimizer adam --epochs 5',
    '  gradpipe train --resume runs/20261127-101500 --epochs 12',
    '  gradpipe train --preset best                      the most accurate configuration (docs/accuracy.md)',
    'Presets (options given with --preset override what it sets):',
    ...PRESET_NAMES.map((name) => `  ${name}: ${presetText(name)}`),
    'Exit codes: 0 done, 1 bad option or data, 2 internal error, 3 training diverged, 130 interrupted.',
  ],
};

/**
 * Steps between progress-bar updates, and between step records in metrics.jsonl: about ten records an
 * epoch, at most one per 100 steps, always a multiple of the update interval.
 */
export const reportingIntervals = (batchesPerEpoch: number): { readonly stepEvery: number; readonly metricsEvery: number } => {
  const stepEvery = batchesPerEpoch >= 100 ? 10 : 1;
  const metricsEvery = Math.min(100, Math.max(stepEvery, Math.round(batchesPerEpoch / 10 / stepEvery) * stepEvery));
  return { stepEvery, metricsEvery };
};

const pad = (n: number): string => String(n).padStart(2, '0');

/** `runs/20261127-101500` (local time), with `-2`, `-3`, ... when that folder exists already. */
const defaultOutDir = (io: CliIo): string => {
  const d = new Date();
  const stamp = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  const base = resolvePath(io, join('runs', stamp));
  let dir = base;
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
};

const shown = (io: CliIo, p: string): string => {
  const r = relative(io.cwd, p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
};

interface Plan {
  readonly options: TrainOptions;
  readonly out: string;
  readonly resume: { readonly dir: string; readonly checkpoint: Checkpoint } | undefined;
  /** Things the user should know before training starts. */
  readonly notes?: readonly string[];
}

/** The options and folders of this run (the resumed checkpoint's options, when resuming). */
const plan = async (io: CliIo, args: TrainArgs): Promise<E.Either<GradpipeError, Plan>> => {
  const resumeArg = str(args.values, 'resume');
  const outArg = str(args.values, 'out');
  // issue 14: a folder a live run is writing is refused, naming that run, before anything in it is read (io/lock.ts)
  const unlocked = resumeArg ?? outArg ? checkUnlocked(resolvePath(io, (resumeArg ?? outArg)!)) : E.right(undefined);
  if (E.isLeft(unlocked)) return unlocked;
  if (resumeArg === undefined) {
    const out = outArg === undefined ? defaultOutDir(io) : resolvePath(io, outArg);
    for (const f of [CHECKPOINT_FILE, FILES.model]) {
      if (existsSync(join(out, f))) {
        return E.left(optionError('--out', `${shown(io, out)} already holds a run (${f})`, `choose another folder, or continue that run with --resume ${shown(io, out)}`));
      }
    }
    return E.right({ options: args.options, out, resume: undefined });
  }
  const dir = resolvePath(io, resumeArg);
  if (!existsSync(dir)) return E.left(optionError('--resume', `${resumeArg} does not exist`, 'give the output folder of an earlier gradpipe train run'));
  const checkpoint = await loadCheckpoint(dir);
  const file = join(dir, CHECKPOINT_FILE);
  const out = outArg === undefined ? dir : resolvePath(io, outArg);
  return pipe(
    E.Do,
    E.apS('checkpoint', checkpoint),
    E.bind('stored', ({ checkpoint }) => resumeOptions(checkpoint, file)),
    E.bind('state', ({ checkpoint }) => fromCheckpoint(checkpoint, file)),
    E.bind('options', ({ stored, state }) => resumedOptions(stored, args, shown(io, dir), state.state.epochsCompleted)),
    E.map(({ checkpoint, stored, options: o }) => ({
      options: o,
      out,
      resume: { dir, checkpoint },
      notes:
        o.epochs !== stored.epochs && o.schedule.kind === 'cosine'
          ? [`note: the cosine learning-rate schedule now decays over ${o.epochs} epochs instead of ${stored.epochs}, so the rate rises again; the result differs from a run planned for ${o.epochs} epochs from the start`]
          : [],
    })),
  );
};

/**
 * A resumed run without --data (or GRADPIPE_DATA) uses the data folder its summary.json records, when that
 * folder still exists: the default search could find other data than the run was trained on.
 */
const recordedData = (io: CliIo, dir: string): string | undefined => {
  if ((io.env[DATA_ENV] ?? '') !== '') return undefined;
  try {
    const recorded = (parseJson(readFileSync(join(dir, FILES.summary), 'utf8')) as { data?: unknown }).data;
    return typeof recorded === 'string' && existsSync(recorded) ? recorded : undefined;
  } catch {
    return undefined;
  }
};

/** The stop reason of an interruption by `signal`. */
const interruptedBy = (signal: Signal): string => `interrupted by ${signal}`;

// the report is in diagnostics/divergenceReport.ts: the page shows the same one
export { divergenceReport } from '../diagnostics/divergenceReport.js';

const stepRecord = (e: StepEvent, t0: number): Record<string, unknown> => ({ ...e, time: secondsSince(t0) });

/** A finding of the health scan during training, as printed: when, then the doctor's words. */
export const healthFindingLine = (f: HealthFinding): string => `gradpipe: health check at step ${f.step} (epoch ${f.epoch + 1}): ${findingText(f)}`;

/** `gradpipe doctor` with the options of this run that differ from the defaults (and its --data), to see why it did not learn. */
export const doctorCommand = (o: TrainOptions, data: string | undefined): string =>
  [
    'gradpipe doctor',
    ...(data === undefined ? [] : [`--data ${data}`]),
    ...Object.keys(TRAIN_CONFIG_OPTIONS)
      .filter((k) => optionText(o, k) !== optionText(defaultTrainOptions, k) && optionText(o, k) !== 'off')
      .map((k) => `--${k} ${optionText(o, k)}`),
  ].join(' ');
const epochRecord = (e: EpochEvent, t0: number): Record<string, unknown> => ({ ...e, time: secondsSince(t0) });

/** `gradpipe train`. */
export const runTrain = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const t0 = performance.now();
  const args = parseTrainArgs(argv, TRAIN_SPEC);
  if (E.isLeft(args)) return fail(io, args.left);
  if (args.right.help) return printHelp(io, TRAIN_SPEC);
  const a = args.right;
  const planned = await plan(io, a);
  if (E.isLeft(planned)) return fail(io, planned.left);
  // issue 14: the output folder is writable, has room for a checkpoint and is locked for this run (io/runDir.ts)
  const runDir = openRunDir(planned.right.out, { command: 'gradpipe train', needBytes: checkpointBytes(planned.right.options.layers, planned.right.options.optimizer.kind) });
  if (E.isLeft(runDir)) return fail(io, runDir.left);
  for (const n of runDir.right.notes) io.stderr.write(`gradpipe: ${n}\n`);
  // what a run killed while saving left behind (files of processes no longer running only)
  const resumed = planned.right.resume?.dir;
  const cleaned = resumed === undefined ? [] : await cleanCheckpointTemporaries(resumed);
  if (cleaned.length > 0) io.stderr.write(`gradpipe: ${shown(io, resumed!)}: removed ${cleaned.length} temporary file${cleaned.length === 1 ? '' : 's'} left by an earlier run (${cleaned.join(', ')})\n`);
  // train's signal handling lasts until the backend is closed and the folder released, not just to the last
  // line: a signal after the last step changes nothing up to the command's return (main.ts: and after it)
  const untilReleased: (() => void)[] = [];
  try {
    return await runDir.right.holding(() => trainInRunDir(io, a, planned.right, t0, (f) => void untilReleased.push(f)));
  } finally {
    for (const f of untilReleased) f();
  }
};

/** Registers what is undone once the run folder is released (runTrain). */
type UntilReleased = (undo: () => void) => void;

const trainInRunDir = async (io: CliIo, a: TrainArgs, p: Plan, t0: number, untilReleased: UntilReleased): Promise<number> => {
  const { options, out, resume } = p;
  const data = await loadData(io, a.data ?? (resume ? recordedData(io, resume.dir) : undefined), options.layers[0]!, options.layers[options.layers.length - 1]!);
  if (E.isLeft(data)) return fail(io, data.left);
  const trainCount = Math.min(data.right.train.count, options.trainLimit ?? Infinity);
  if (options.validation >= trainCount) {
    return fail(io, optionError('--validation', `${options.validation} examples would leave none of the ${trainCount} training examples for training`, `give --validation below ${trainCount}`));
  }
  try {
    mkdirSync(out, { recursive: true });
    // a run resumed into a new folder keeps its history
    if (resume && resume.dir !== out && existsSync(join(resume.dir, FILES.metrics)) && !existsSync(join(out, FILES.metrics))) {
      copyFileSync(join(resume.dir, FILES.metrics), join(out, FILES.metrics));
    }
  } catch (e) {
    return fail(io, gradpipeError('IOError', out, `cannot create the output folder (${(e as Error).message})`, 'choose a writable folder with --out'));
  }
  const ran = await withBackend(a.backend, a.threads, (backend) => train(io, a, p, data.right, backend, t0, untilReleased));
  return E.isLeft(ran) ? fail(io, ran.left) : ran.right;
};

const train = async (io: CliIo, a: TrainArgs, p: Plan, data: LoadedData, backend: Resolved, t0: number, untilReleased: UntilReleased): Promise<number> => {
  const { options, out, resume } = p;
  const display = a.json ? io.stderr : io.stdout;
  const mode: ProgressMode = a.quiet || (a.json && !io.stderr.isTTY) ? 'silent' : display.isTTY ? 'tty' : 'lines';
  const trainExamples = Math.min(data.train.count, options.trainLimit ?? Infinity) - options.validation;
  const resumedFrom = resume ? fromCheckpoint(resume.checkpoint, resume.dir) : undefined;
  const before: TrainState | undefined = resumedFrom && E.isRight(resumedFrom) ? resumedFrom.right.state : undefined;
  const perEpoch = batchesPerEpoch(trainExamples, options.batchSize);
  const { stepEvery, metricsEvery } = reportingIntervals(perEpoch);
  const progress = createProgress(display, mode, {
    epochs: options.epochs,
    batchesPerEpoch: perEpoch,
    examplesPerEpoch: trainExamples,
    examplesBefore: before?.examplesSeen ?? 0,
  });
  const metrics: MetricsWriter = metricsWriter(out);
  // the signal that stopped training, if one came before the run's own end; later signals: the first waits
  // for the stop checkpoint (or, after training, for the outputs), the next quits at once. Handled from
  // before the line that says training has begun.
  let stopSignal: Signal | undefined;
  let trained = false;
  let later = 0;
  untilReleased(io.onSignal((signal: Signal) => {
    const again = `${signal === 'SIGINT' ? 'Ctrl-C' : 'signal'} again quits at once`;
    if (stopSignal === undefined && !trained) {
      stopSignal = signal;
      progress.note(`${signal}: stopping after the current step and writing a checkpoint (${again})`);
    } else if (later++ === 0) {
      io.stderr.write(`\ngradpipe: ${signal}: ${stopSignal === undefined ? 'training is complete; finishing its outputs' : 'quitting once the checkpoint is written'} (${again})\n`);
    } else {
      io.stderr.write(`\ngradpipe: ${signal} again: quitting now; the checkpoint files on disk are whole (the last one completed)\n`);
      process.exit(EXIT.interrupted);
    }
  }));
  for (const n of p.notes ?? []) progress.note(n);
  progress.note(
    `${resume ? `resuming ${shown(io, resume.dir)} at epoch ${(before?.epochsCompleted ?? 0) + 1} (step ${before?.step ?? 0}):` : 'training'} ${options.layers.join('-')} on ${trainExamples} examples from ${shown(io, data.dir.dir)}; ${backend.why}; output in ${shown(io, out)}`,
  );

  let checkpointWarned = false;
  let result: E.Either<GradpipeError, RunResult>;
  try {
    result = await trainMnist(
      { train: data.train, test: data.test },
      options,
      {
        stepEvery,
        onStep: (e) => {
          progress.step(e);
          if (e.step % metricsEvery === 0) metrics.write(stepRecord(e, t0));
        },
        onEpoch: (e) => {
          progress.epoch(e);
          metrics.write(epochRecord(e, t0));
        },
        saveCheckpoint: (c) => saveCheckpoint(out, c),
        // the metrics a checkpoint covers are on disk before it
        beforeCheckpoint: async () => void (await metrics.flush()),
        onFinding: (f) => progress.note(`gradpipe: warning: ${stepFindingText(f)}`),
        onHealthFinding: (f) => {
          progress.note(healthFindingLine(f));
          metrics.write({ kind: 'finding', ...f, time: secondsSince(t0) });
        },
        shouldStop: () => (stopSignal === undefined ? undefined : interruptedBy(stopSignal)),
        onCheckpointError: (e) => {
          if (!checkpointWarned) progress.note(`gradpipe: warning: ${e.where}: ${e.message}; ${e.hint}`);
          checkpointWarned = true;
        },
      },
      resume?.checkpoint,
    );
  } finally {
    trained = true;
    progress.end();
  }
  return finish(io, a, p, data, backend, t0, metrics, result, stopSignal);
};

const finish = async (
  io: CliIo,
  a: TrainArgs,
  p: Plan,
  data: LoadedData,
  backend: Resolved,
  t0: number,
  metrics: MetricsWriter,
  result: E.Either<GradpipeError, RunResult>,
  stopSignal: Signal | undefined,
): Promise<number> => {
  const { options, out, resume } = p;
  if (E.isLeft(result)) {
    await metrics.flush();
    return fail(io, result.left);
  }
  const r = result.right;
  const s = r.state;
  const interrupted = stopSignal !== undefined && r.stoppedBecause === interruptedBy(stopSignal);
  metrics.write({
    kind: 'end',
    step: s.step,
    epochs: s.epochsCompleted,
    stoppedBecause: r.stoppedBecause,
    diverged: r.diverged,
    testLoss: r.test.loss,
    testAccuracy: r.test.accuracy,
    time: secondsSince(t0),
  });
  if (s.divergence) metrics.write({ kind: 'divergence', step: s.divergence.step, epoch: s.divergence.epoch, message: s.divergence.message, where: s.divergence.where, history: s.divergence.history });
  const flushed = await metrics.flush();
  if (E.isLeft(flushed)) return fail(io, flushed.left);

  const info = packageInfo();
  const classes = options.layers[options.layers.length - 1]!;
  const atChance = !r.diverged && r.test.count > 0 && r.test.accuracy <= chanceCeiling(classes, r.test.count);
  const summary = {
    ...runFigures(r),
    wallSeconds: secondsSince(t0),
    trainSeconds: r.trainSeconds,
    stoppedBecause: r.stoppedBecause,
    diverged: r.diverged,
    interrupted,
    backend: r.backend,
    backendDescription: backend.backend.description,
    backendChoice: backend.why,
    threads: backend.backend.threads,
    seed: options.seed,
    data: data.dir.dir,
    resumedFrom: resume?.dir ?? null,
    ...(s.validation !== undefined
      ? { validation: { loss: s.validation.loss, accuracy: s.validation.accuracy, bestEpoch: s.validation.best.epoch + 1, bestAccuracy: s.validation.best.accuracy } }
      : {}),
    options: optionsRecord(options),
    config: options,
    confusion: r.test.confusion,
    // the health scan's findings during training (stages/scanHealth.ts), and whether the model is any better than guessing
    findings: r.healthFindings,
    noBetterThanChance: atChance,
    gradpipe: info.version,
    node: process.version,
    files: { ...FILES, checkpoint: CHECKPOINT_FILE },
  };
  const written = await writeRunOutputs(out, {
    // a diverged run's network is its last finite one; it is in the checkpoint, not offered as the model
    network: r.diverged ? undefined : r.network,
    loss: options.loss,
    modelMeta: modelMetadata(options, info.version),
    summary,
    history: await epochHistory(out),
    confusion: r.test.confusion,
    title: `${options.layers.join('-')} ${options.activation}/${options.output} ${options.loss}, init ${formatInit(options.init)}, ${options.optimizer.kind} lr ${options.optimizer.lr}, batch ${options.batchSize}`,
  });
  if (E.isLeft(written)) return fail(io, written.left);

  if (s.divergence) {
    const ckpt = existsSync(join(out, CHECKPOINT_FILE)) ? shown(io, join(out, CHECKPOINT_FILE)) : undefined;
    io.stderr.write(divergenceReport(s.divergence, ckpt, shown(io, join(out, FILES.metrics)), options));
    if (a.json) io.stdout.write(`${toJson(summary, 2)}\n`);
    return EXIT.diverged;
  }
  if (a.json) io.stdout.write(`${toJson(summary, 2)}\n`);
  else {
    io.stdout.write(
      `test accuracy ${(100 * r.test.accuracy).toFixed(2)}% (loss ${r.test.loss.toFixed(4)}) after ${s.epochsCompleted} epoch${s.epochsCompleted === 1 ? '' : 's'}, ${s.step} steps; ` +
        `${r.stoppedBecause}; training ${formatDuration(r.trainSeconds)} (${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s, ${r.backend} x${backend.backend.threads}), wall ${summary.wallSeconds.toFixed(1)} s; saved to ${shown(io, out)}\n`,
    );
  }
  if (r.checkpointError !== undefined) return fail(io, r.checkpointError);
  if (atChance && !interrupted) {
    // the run worked as asked, so exit 0; but its model guesses, and this is the last line to say so
    (a.json ? io.stderr : io.stdout).write(
      `gradpipe: the test accuracy ${(100 * r.test.accuracy).toFixed(2)}% is no better than guessing among ${classes} classes: this model learned nothing; to see why, run ${doctorCommand(options, a.data)}\n`,
    );
  }
  if (interrupted) {
    const resumeCmd = `gradpipe train --resume ${shown(io, out)}`;
    io.stderr.write(`gradpipe: stopped by ${stopSignal} at step ${s.step}; checkpoint written to ${shown(io, join(out, CHECKPOINT_FILE))}; continue with: ${resumeCmd}\n`);
    return EXIT.interrupted;
  }
  return EXIT.ok;
};
