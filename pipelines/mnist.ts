/**
 * The canonical MNIST pipeline: read -> shuffle -> batch -> train step -> validate -> report -> stop, with
 * a checkpoint at every epoch end, then a test evaluation. This file only composes stages and
 * configuration; logic a pipeline needs lives in src/ as a stage.
 *
 * The default network is the one the original Haskell question failed with, 784-1000-10, made sound:
 * ReLU hidden units with He initialisation, softmax cross-entropy on logits.
 */
import * as E from 'fp-ts/lib/Either.js';
import { concatMap, from, lastValueFrom, map } from 'rxjs';
import type { Dataset } from '../src/data/dataset.js';
import { modelError, type GradpipeError } from '../src/errors.js';
import { saveCheckpoint, type Checkpoint } from '../src/io/checkpoint.js';
import type { Activation, PointwiseActivation } from '../src/nn/activation.js';
import { initNetwork, type Init } from '../src/nn/init.js';
import { checkLossPairing, type LossName } from '../src/nn/loss.js';
import type { Network } from '../src/nn/network.js';
import { defaultOptimizer, type OptimizerConfig } from '../src/optim/optimizer.js';
import type { Schedule } from '../src/optim/schedule.js';
import { fromCheckpoint, toCheckpoint } from '../src/stages/checkpoint.js';
import { batchesPerEpoch, epochBatches } from '../src/stages/epochs.js';
import { evaluate, type Evaluation } from '../src/stages/evaluate.js';
import { takeDataset } from '../src/stages/read.js';
import { report, warnings, type EpochEvent, type StepEvent } from '../src/stages/report.js';
import { cat, rx } from '../src/stages/stage.js';
import { anyOf, diverged, earlyStopping, maxEpochs, maxSteps, stopWhen, targetAccuracy, timeLimit, type StopCondition } from '../src/stages/stopWhen.js';
import { initialTrainState, snapshot, trainStep, type TrainState } from '../src/stages/trainStep.js';
import { validate } from '../src/stages/validate.js';
import { getBackend } from '../src/tensor/registry.js';

export interface TrainOptions {
  /** Layer sizes, input first. */
  readonly layers: readonly number[];
  readonly activation: PointwiseActivation;
  readonly output: Activation;
  readonly loss: LossName;
  readonly init: Init;
  readonly optimizer: OptimizerConfig;
  readonly schedule: Schedule;
  readonly batchSize: number;
  readonly epochs: number;
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

/** Evaluation batch size, shared by training summaries and `gradpipe eval` so both agree to the bit. */
export const EVAL_BATCH = 1000;

export interface RunHooks {
  readonly onStep?: (e: StepEvent) => void;
  readonly onEpoch?: (e: EpochEvent) => void;
  /** A step event every this many steps (default 50). */
  readonly stepEvery?: number;
  /** Where to write the checkpoint, at every epoch end and when stopping. */
  readonly checkpointDir?: string;
  /** Polled after every step; a reason stops training after the current step (e.g. SIGINT). */
  readonly shouldStop?: () => string | undefined;
  /** Called once for each overflow/underflow warning, when it first appears. */
  readonly onWarning?: (w: string) => void;
  /** Called when a checkpoint could not be written (training goes on). */
  readonly onCheckpointError?: (e: GradpipeError) => void;
}

export interface RunResult {
  readonly state: TrainState;
  /** The network to keep: the final one, or the best validated one when early stopping restored it. */
  readonly network: Network;
  readonly stoppedBecause: string;
  readonly diverged: boolean;
  readonly test: Evaluation;
  readonly epochs: readonly EpochEvent[];
  readonly trainSeconds: number;
  readonly samplesPerSecond: number;
  readonly backend: string;
}

/** The options stored in a checkpoint (see `trainMnist`'s `resume`). */
export const resumeOptions = (c: Checkpoint, file: string): E.Either<GradpipeError, TrainOptions> => {
  const r = fromCheckpoint(c, file);
  if (E.isLeft(r)) return r;
  const cfg = r.right.config as { options?: TrainOptions } | undefined;
  return cfg?.options ? E.right(cfg.options) : E.left(modelError(file, 'holds no training options', 'resume from a checkpoint written by gradpipe train'));
};

/** Trains on `data.train` (minus the validation split) and evaluates on `data.test`. */
export const trainMnist = async (
  data: { readonly train: Dataset; readonly test: Dataset },
  opts: TrainOptions,
  hooks: RunHooks = {},
  resume?: Checkpoint,
): Promise<E.Either<GradpipeError, RunResult>> => {
  const pairing = checkLossPairing(opts.loss, opts.output);
  if (E.isLeft(pairing)) return pairing;
  const all = opts.trainLimit === undefined ? data.train : takeDataset(data.train, 0, opts.trainLimit);
  const test = opts.testLimit === undefined ? data.test : takeDataset(data.test, 0, opts.testLimit);
  const trainSet = takeDataset(all, 0, all.count - opts.validation);
  const validationSet = takeDataset(all, all.count - opts.validation, all.count);
  const classes = opts.layers[opts.layers.length - 1]!;

  let start: TrainState;
  if (resume) {
    const r = fromCheckpoint(resume, 'checkpoint');
    if (E.isLeft(r)) return r;
    start = r.right.state;
  } else {
    const net = initNetwork({ sizes: opts.layers, hidden: opts.activation, output: opts.output }, opts.init, opts.seed);
    if (E.isLeft(net)) return net;
    start = initialTrainState(net.right, opts.optimizer);
  }

  const perEpoch = batchesPerEpoch(trainSet.count, opts.batchSize);
  const begin = start.batchInEpoch >= perEpoch ? { epoch: start.epoch + 1, batch: 0 } : { epoch: start.epoch, batch: start.batchInEpoch };
  const startedAt = performance.now();
  const stop: StopCondition<TrainState> = anyOf(
    diverged,
    maxEpochs(opts.epochs),
    ...(opts.maxSteps === undefined ? [] : [maxSteps(opts.maxSteps)]),
    ...(opts.targetAccuracy === undefined ? [] : [targetAccuracy(opts.targetAccuracy)]),
    ...(opts.patience === undefined ? [] : [earlyStopping(opts.patience)]),
    ...(opts.timeLimit === undefined ? [] : [timeLimit(opts.timeLimit, startedAt)]),
    () => hooks.shouldStop?.(),
  );
  const epochs: EpochEvent[] = [];
  const checkpoint = async (s: TrainState) => {
    if (hooks.checkpointDir === undefined) return;
    const saved = await saveCheckpoint(hooks.checkpointDir, toCheckpoint(s, { options: opts }));
    if (E.isLeft(saved)) hooks.onCheckpointError?.(saved.left);
  };

  const states = from(epochBatches({ dataset: trainSet, seed: opts.seed, batchSize: opts.batchSize, epochs: opts.epochs, classes, start: begin })).pipe(
    // the step reuses two sets of parameter buffers (no per-step allocation): states kept past the next
    // step are snapshots (validate copies its best network; the checkpointed states are copied below)
    rx(trainStep({ loss: opts.loss, optimizer: opts.optimizer, schedule: opts.schedule, epochs: opts.epochs, batchesPerEpoch: perEpoch, reuseBuffers: true }, start)),
    rx(opts.validation > 0 ? validate(validationSet, { loss: opts.loss, batchSize: EVAL_BATCH }) : cat<TrainState>()),
    rx(report({ onStep: (e) => hooks.onStep?.(e), onEpoch: (e) => (epochs.push(e), hooks.onEpoch?.(e)), every: hooks.stepEvery ?? 50 })),
    rx(warnings((w) => hooks.onWarning?.(w))),
    rx(stopWhen(stop)),
    // the checkpoint is written while training goes on: it gets a copy the next steps cannot touch
    map((s) => (s.endOfEpoch || stop(s) !== undefined ? snapshot(s) : s)),
    concatMap(async (s) => {
      // the checkpoint of a diverged state holds its last finite network (trainStep never applies a bad step)
      if (s.endOfEpoch || stop(s) !== undefined) await checkpoint(s);
      return s;
    }),
  );
  const last = await lastValueFrom(states, { defaultValue: start });
  const trainSeconds = (performance.now() - startedAt) / 1000;
  const reason = stop(last) ?? `reached ${opts.epochs} epochs`;
  const network = opts.patience !== undefined && last.validation ? last.validation.best.network : last.network;
  const seen = last.examplesSeen - start.examplesSeen;
  return E.right({
    state: last,
    network,
    stoppedBecause: reason,
    diverged: last.divergence !== undefined,
    test: evaluate(network, test, { loss: opts.loss, batchSize: EVAL_BATCH }),
    epochs,
    trainSeconds,
    samplesPerSecond: trainSeconds > 0 ? seen / trainSeconds : 0,
    backend: getBackend().name,
  });
};
