/**
 * The canonical MNIST pipeline: read -> shuffle -> batch -> train step -> validate -> report -> health scan
 * (early and at every epoch end) -> stop -> checkpoint (at every epoch end and at the stop), then a test
 * evaluation. This file only composes stages
 * and configuration; logic a pipeline needs lives in src/ as a stage.
 *
 * The default network is the one the original Haskell question failed with, 784-1000-10, made sound:
 * ReLU hidden units with He initialisation, softmax cross-entropy on logits.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { Dataset } from '../src/data/dataset.js';
import type { DistortSpec } from '../src/data/distort.js';
import { DOCTOR_DEFAULTS, type DoctorSetup } from '../src/diagnostics/doctor.js';
import type { StepFinding } from '../src/diagnostics/monitor.js';
import { modelError, type GradpipeError } from '../src/errors.js';
import type { Checkpoint } from '../src/io/checkpoint.js';
import type { Activation, PointwiseActivation } from '../src/nn/activation.js';
import { initNetwork, type Init } from '../src/nn/init.js';
import { checkLossPairing, type LossName } from '../src/nn/loss.js';
import type { Network } from '../src/nn/network.js';
import { defaultOptimizer, type OptimizerConfig } from '../src/optim/optimizer.js';
import type { Schedule } from '../src/optim/schedule.js';
import { initialTrainState, snapshot, type StateView, type TrainState } from '../src/optim/trainState.js';
import { checkpoint, checkpointWriter, fromCheckpoint } from '../src/stages/checkpoint.js';
import { batchesPerEpoch, epochBatches, resumePoint } from '../src/stages/epochs.js';
import { evaluate, type Evaluation } from '../src/stages/evaluate.js';
import { heldOut } from '../src/stages/heldOut.js';
import { readDataset, takeDataset } from '../src/stages/read.js';
import { toBatch } from '../src/stages/batch.js';
import { scanHealth, type HealthFinding, type ScanHealthOptions } from '../src/stages/scanHealth.js';
import { report, warnings, type EpochEvent, type StepEvent } from '../src/stages/report.js';
import { rx } from '../src/stages/stage.js';
import { anyOf, diverged, earlyStopping, maxEpochs, maxSteps, stopReason, stopWhen, targetAccuracy, timeLimit, type StopCondition, type Stopped } from '../src/stages/stopWhen.js';
import { trainStep } from '../src/stages/trainStep.js';
import { chosenNetwork, validate, type Validated, type ValidationState } from '../src/stages/validate.js';
import { getBackend } from '../src/tensor/registry.js';

/** The training options: the configuration the doctor examines (layers, activations, loss, init, optimiser, schedule, batch size, epochs, seed), and how the run is stopped and fed. */
export interface TrainOptions extends DoctorSetup {
  readonly maxSteps?: number;
  /** Examples held out of the end of the training set for validation (stopping decisions); 0 for none. */
  readonly validation: number;
  readonly targetAccuracy?: number;
  /** Early stopping: epochs without validation improvement (restores the best network). */
  readonly patience?: number;
  readonly minDelta: number;
  /** Wall-clock limit in seconds for this run. */
  readonly timeLimit?: number;
  readonly seed: number;
  /** Use only the first N training / test examples. */
  readonly trainLimit?: number;
  readonly testLimit?: number;
  /** Inverted dropout rate on the hidden layers in training (default 0: none). */
  readonly dropout?: number;
  /** Distort each training image (affine and/or elastic, see src/data/distort.ts; default none). */
  readonly augment?: DistortSpec | undefined;
  /**
   * Worker threads that assemble the training batches (gather, distort, scale) ahead of training (default 1
   * with augmentation, else 0: on the main thread, between training steps). The same bits either way.
   * Without augmentation a worker does not pay on two cores: the default run took 4% longer with one and
   * its peak RSS passed 300 MB (docs/accuracy.md).
   */
  readonly batchWorkers?: number;
  /**
   * Evaluate a held-out set at every epoch end for the curves and metrics (default true): the validation
   * split when there is one, else the test set, for display only (it never decides anything).
   */
  readonly heldOut?: boolean;
}

export const defaultTrainOptions: TrainOptions = {
  layers: [784, 1000, 10],
  activation: 'relu',
  output: 'softmax',
  loss: 'cross-entropy',
  init: { kind: 'he' },
  optimizer: { ...defaultOptimizer, kind: 'momentum', lr: 0.1, momentum: 0.9 },
  schedule: { kind: 'cosine' },
  batchSize: 128,
  epochs: 6,
  validation: 0,
  minDelta: 0,
  seed: 1,
};

/** The metadata a trained model is saved with: `gradpipe train` and the page write the same (same bytes). */
export const modelMetadata = (opts: TrainOptions, version: string): Record<string, string> => ({
  seed: String(opts.seed),
  layers: opts.layers.join('-'),
  testLimit: String(opts.testLimit ?? ''),
  gradpipe: version,
});

/** Evaluation batch size, shared by training summaries and `gradpipe eval` so both agree to the bit. */
export const EVAL_BATCH = 1000;

export interface RunHooks {
  readonly onStep?: (e: StepEvent) => void;
  readonly onEpoch?: (e: EpochEvent) => void;
  /** A step event every this many steps (default 50). */
  readonly stepEvery?: number;
  /** Writes the checkpoint of every epoch end and of the stop (e.g. `saveCheckpoint(dir, c)`); none when absent. */
  readonly saveCheckpoint?: (c: Checkpoint) => Promise<E.Either<GradpipeError, void>>;
  /** Runs before each checkpoint is written (e.g. flushing the metrics it covers). */
  readonly beforeCheckpoint?: () => Promise<void>;
  /** Polled after every step, after the run's own conditions; a reason stops training after that step (e.g. SIGINT). */
  readonly shouldStop?: () => string | undefined;
  /** Called once for each finding of the training monitor (overflow or underflow on the way), when it first appears. */
  readonly onFinding?: (f: StepFinding) => void;
  /** Called when a checkpoint could not be written (training goes on). */
  readonly onCheckpointError?: (e: GradpipeError) => void;
  /** Called once for each finding of the health scan (early in the run and at epoch ends), when it first appears. */
  readonly onHealthFinding?: (f: HealthFinding) => void;
}

/** A run's final state: a value, with its validation record when the run validated. */
export type FinalState = TrainState & { readonly validation?: ValidationState | undefined };

export interface RunResult {
  readonly state: FinalState;
  /** The network to keep: the final one, or the best validated one when early stopping restored it. */
  readonly network: Network;
  readonly stoppedBecause: string;
  readonly diverged: boolean;
  readonly test: Evaluation;
  readonly epochs: readonly EpochEvent[];
  readonly trainSeconds: number;
  readonly samplesPerSecond: number;
  readonly backend: string;
  /** The first checkpoint that could not be written, if any (training went on). */
  readonly checkpointError: GradpipeError | undefined;
  /** The findings of the health scan during training, in the order they appeared (a resumed run's include those before it stopped). */
  readonly healthFindings: readonly HealthFinding[];
}

/** What a checkpoint of `trainMnist` stores besides the state: the options, and the health findings told so far. */
interface RunConfig {
  readonly options: TrainOptions;
  /** Absent in checkpoints written before the health scan. */
  readonly healthFindings?: readonly HealthFinding[];
}

/** The figures of a run that open its summary (summary.json, the page's #summary), in that order. */
export const runFigures = (r: RunResult) => ({
  testAccuracy: r.test.accuracy,
  testLoss: r.test.loss,
  testCount: r.test.count,
  epochs: r.state.epochsCompleted,
  steps: r.state.step,
  examplesSeen: r.state.examplesSeen,
  samplesPerSecond: r.samplesPerSecond,
});

/** The options stored in a checkpoint (see `trainMnist`'s `resume`). */
export const resumeOptions = (c: Checkpoint, file: string): E.Either<GradpipeError, TrainOptions> =>
  pipe(
    fromCheckpoint(c, file),
    E.chain(({ config }) => {
      const options = (config as Partial<RunConfig> | undefined)?.options;
      return options ? E.right(options) : E.left(modelError(file, 'holds no training options', 'resume from a checkpoint written by gradpipe train'));
    }),
  );

/** Where a run starts: a new network, or a checkpoint's state, validation record and the findings it had told. */
const startOf = (
  opts: TrainOptions,
  resume: Checkpoint | undefined,
): E.Either<GradpipeError, { state: TrainState; validation: ValidationState | undefined; told: readonly HealthFinding[] }> =>
  resume
    ? pipe(
        fromCheckpoint(resume, 'checkpoint'),
        E.map(({ state, validation, config }) => {
          const told = (config as RunConfig | undefined)?.healthFindings;
          return { state, validation, told: Array.isArray(told) ? told : [] };
        }),
      )
    : pipe(
        initNetwork({ sizes: opts.layers, hidden: opts.activation, output: opts.output }, opts.init, opts.seed),
        E.map((net) => ({ state: initialTrainState(net, opts.optimizer), validation: undefined, told: [] })),
      );

/** Trains on `data.train` (minus the validation split) and evaluates on `data.test`. */
export const trainMnist = async (
  data: { readonly train: Dataset; readonly test: Dataset },
  opts: TrainOptions,
  hooks: RunHooks = {},
  resume?: Checkpoint,
): Promise<E.Either<GradpipeError, RunResult>> => {
  const started = pipe(
    checkLossPairing(opts.loss, opts.output),
    E.chain(() => startOf(opts, resume)),
  );
  if (E.isLeft(started)) return started;
  const start = started.right;
  const all = opts.trainLimit === undefined ? data.train : takeDataset(data.train, 0, opts.trainLimit);
  const test = opts.testLimit === undefined ? data.test : takeDataset(data.test, 0, opts.testLimit);
  const trainSet = takeDataset(all, 0, all.count - opts.validation);
  const validationSet = takeDataset(all, all.count - opts.validation, all.count);
  const classes = opts.layers[opts.layers.length - 1]!;
  const perEpoch = batchesPerEpoch(trainSet.count, opts.batchSize);
  const startedAt = performance.now();
  const epochs: EpochEvent[] = [];
  // findings are told once per run: a resumed run starts with those its checkpoint had told, and says only new ones
  const healthFindings: HealthFinding[] = [...start.told];
  // the doctor's scan on its probe (the first training examples), a few dozen steps in and at every epoch end
  const health: ScanHealthOptions = {
    told: start.told,
    probe: toBatch([...readDataset(takeDataset(trainSet, 0, DOCTOR_DEFAULTS.probe))], classes),
    setup: opts,
    early: Math.max(1, Math.min(DOCTOR_DEFAULTS.steps, Math.floor(perEpoch / 2))),
    onFinding: (f) => (healthFindings.push(f), hooks.onHealthFinding?.(f)),
  };

  const writer = checkpointWriter({
    save: hooks.saveCheckpoint ?? (() => Promise.resolve(E.right(undefined))),
    // the findings so far, taken when a state is submitted: the scan of that state came just before
    config: (): RunConfig => ({ options: opts, healthFindings: [...healthFindings] }),
    before: hooks.beforeCheckpoint,
    onError: hooks.onCheckpointError,
  });
  const common: StopCondition<StateView>[] = [
    diverged,
    maxEpochs(opts.epochs),
    ...(opts.maxSteps === undefined ? [] : [maxSteps(opts.maxSteps)]),
    ...(opts.timeLimit === undefined ? [] : [timeLimit(opts.timeLimit, startedAt)]),
  ];
  const external: StopCondition<StateView> = () => hooks.shouldStop?.();
  /** report -> warnings -> stop -> checkpoint, for states with or without validation. */
  const finish =
    <S extends StateView & { readonly validation?: ValidationState | undefined }>(stop: StopCondition<S>) =>
    (states: Observable<S>): Observable<Stopped<S>> =>
      states.pipe(
        rx(report<S>({ onStep: (e) => hooks.onStep?.(e), onEpoch: (e) => (epochs.push(e), hooks.onEpoch?.(e)), every: hooks.stepEvery ?? 50 })),
        rx(warnings<S>((f) => hooks.onFinding?.(f))),
        rx(scanHealth<S>(health)),
        rx(stopWhen(stop)),
        rx(checkpoint<S>(writer)),
      );

  // the step reuses two sets of parameter buffers (no per-step allocation): the states are borrowed, and
  // every stage that keeps one keeps a snapshot (validate its best network, checkpoint what it saves)
  const augment = opts.augment && { augment: opts.augment };
  const dropout = opts.dropout ? { dropout: { rate: opts.dropout, seed: opts.seed } } : {};
  const states = from(epochBatches({ dataset: trainSet, seed: opts.seed, batchSize: opts.batchSize, epochs: opts.epochs, classes, start: resumePoint(start.state, perEpoch), batchWorkers: opts.batchWorkers ?? (opts.augment ? 1 : 0), reuseInputs: true, ...augment })).pipe(
    rx(trainStep({ loss: opts.loss, optimizer: opts.optimizer, schedule: opts.schedule, epochs: opts.epochs, batchesPerEpoch: perEpoch, reuseBuffers: true, ...dropout }, start.state)),
  );
  const run: Observable<Stopped<StateView & { readonly validation?: ValidationState | undefined }>> =
    opts.validation > 0
      ? states.pipe(
          rx(validate(validationSet, { loss: opts.loss, batchSize: EVAL_BATCH, minDelta: opts.minDelta }, start.validation)),
          finish(
            anyOf<Validated<StateView>>(
              ...common,
              ...(opts.targetAccuracy === undefined ? [] : [targetAccuracy(opts.targetAccuracy)]),
              ...(opts.patience === undefined ? [] : [earlyStopping(opts.patience)]),
              external,
            ),
          ),
        )
      : opts.heldOut === false
        ? states.pipe(finish(anyOf(...common, external)))
        : // no validation split: the test set's curve, for display only (nothing here reads it to decide)
          states.pipe(rx(heldOut(test, 'test', { loss: opts.loss, batchSize: EVAL_BATCH })), finish(anyOf(...common, external)));
  const last = await lastValueFrom(run, { defaultValue: { state: { ...start.state, validation: start.validation }, reason: undefined } });
  const saved = await writer.settled();
  const trainSeconds = (performance.now() - startedAt) / 1000;
  const final: FinalState = snapshot(last.state);
  const network = chosenNetwork(final, opts.patience !== undefined);
  const seen = final.examplesSeen - start.state.examplesSeen;
  return E.right({
    state: final,
    network,
    stoppedBecause: stopReason(last),
    diverged: final.divergence !== undefined,
    test: evaluate(network, test, { loss: opts.loss, batchSize: EVAL_BATCH }),
    epochs,
    trainSeconds,
    samplesPerSecond: trainSeconds > 0 ? seen / trainSeconds : 0,
    backend: getBackend().name,
    checkpointError: E.isLeft(saved) ? saved.left : undefined,
    healthFindings,
  });
};
