/**
 * The training step as a stage: threads the training state through `descend` (grad, then move) at the
 * scheduled rate, the monitor (findings on the way to overflow or underflow) and the counters.
 *
 * Ownership: by default every emitted state is a value (`TrainState`: new buffers every step, keeping one is
 * always safe). With `reuseBuffers` the run allocates two parameter sets when it starts (in `init`: they
 * belong to that run, never to the stage value, so running one stage value twice gives two independent
 * runs) and emits `Borrowed<TrainState>`s that alternate between them: a state is valid until the second
 * step after it, and `snapshot` keeps one for longer. Both modes give the same bits.
 *
 * A step that produces a non-finite value, or a batch loss above the exploding-loss bound (1000 times the
 * first batch loss or the uniform guess's, see diagnostics/monitor.ts), is not applied: the emitted state
 * keeps the last network and carries a `divergence` report naming the step, epoch, layer and tensor, with the
 * largest magnitudes of the steps before it; that state ends the stream.
 */
import * as E from 'fp-ts/lib/Either.js';
import { divergence, explosionBound, explosionLocation, monitorStep, zeroLogitLoss, type Magnitudes } from '../diagnostics/monitor.js';
import type { Dropout } from '../nn/dropout.js';
import type { LossName } from '../nn/loss.js';
import { descend, stepBuffers, type Descended, type StepBuffers } from '../optim/descend.js';
import type { OptimizerConfig } from '../optim/optimizer.js';
import { learningRateAt, type Schedule } from '../optim/schedule.js';
import type { Borrowed, StateView, TrainState } from '../optim/trainState.js';
import type { Backend } from '../tensor/backend.js';
import type { LabeledBatch } from './batch.js';
import type { Stage } from './stage.js';

/** What the training step needs: the loss, the optimiser, the schedule and the kernels. */
export interface TrainConfig {
  readonly loss: LossName;
  readonly optimizer: OptimizerConfig;
  /** Learning-rate schedule (default constant) and the run's planned epochs (for cosine). */
  readonly schedule?: Schedule;
  readonly epochs?: number;
  readonly batchesPerEpoch?: number;
  /** Kernels to use (default: the backend in use). */
  readonly backend?: Backend;
  /**
   * Write each step's network and optimiser state into two sets of buffers the run owns, alternately
   * (default false: new buffers every step): the stage then emits `Borrowed<TrainState>`s, each valid until
   * the second step after it; `snapshot` keeps one longer.
   */
  readonly reuseBuffers?: boolean;
  /** Inverted dropout on the hidden layers, masks drawn from (seed, the state's step) (default none). */
  readonly dropout?: Dropout;
}

const HISTORY = 5;

/** The counters after batch `b` was applied with the result `d`. */
const advance = (s: StateView, b: LabeledBatch, d: Descended, lr: number): Omit<StateView, 'buffers'> => {
  const step = s.step + 1;
  const mags: Magnitudes = { step, activations: d.maxAbs, gradientNorm: d.gradientNorm, loss: d.loss };
  return {
    ...s,
    network: d.network,
    optimizer: d.optimizer,
    step,
    epoch: b.epoch,
    batchInEpoch: b.batchInEpoch + 1,
    epochsCompleted: b.lastInEpoch ? b.epoch + 1 : s.epochsCompleted,
    endOfEpoch: b.lastInEpoch,
    examplesSeen: s.examplesSeen + b.inputs.rows,
    loss: d.loss,
    batchSize: b.inputs.rows,
    correct: d.correct,
    lr,
    recent: [...s.recent.slice(-(HISTORY - 1)), mags],
    first: s.first ?? mags,
    findings: monitorStep(s.findings, step, b.epoch, d.maxAbs, d.minNonzero),
  };
};

/**
 * One training step on a run's buffers: the scheduled rate, `descend`, the monitor and the counters. A
 * diverged state is returned unchanged. The result's buffers are new ones, or the run's reused set that does
 * not hold `s` (see `stepBuffers`); its `buffers` tag says which.
 */
export const trainingStep = (config: TrainConfig, buffers: StepBuffers) => {
  const core = descend(config, buffers);
  const schedule = config.schedule ?? { kind: 'constant' as const };
  const tag = buffers.params === undefined ? 'owned' : 'borrowed';
  let uniformGuess: number | undefined; // the loss of all-zero logits, for the exploding-loss bound
  return (s: StateView, b: LabeledBatch): StateView => {
    if (s.divergence) return s;
    const lr = learningRateAt(schedule, config.optimizer.lr, b.epoch, config.batchesPerEpoch ? b.batchInEpoch / config.batchesPerEpoch : 0, config.epochs ?? 1);
    const moved = core(s.network, s.optimizer, b, lr, s.step);
    if (E.isLeft(moved)) return { ...s, divergence: divergence(s.step + 1, b.epoch, moved.left, s.recent) };
    const d = moved.right;
    uniformGuess ??= zeroLogitLoss(config.loss, s.network.layers[s.network.layers.length - 1]!.activation, b.targets.cols);
    const bound = explosionBound(s.first?.loss ?? d.loss, uniformGuess);
    if (d.loss > bound) {
      const first = s.first ?? { step: s.step + 1, activations: d.maxAbs, gradientNorm: d.gradientNorm, loss: d.loss };
      return { ...s, divergence: divergence(s.step + 1, b.epoch, explosionLocation(d.loss, bound, first, d.maxAbs), s.recent) };
    }
    return { ...advance(s, b, d, lr), buffers: tag };
  };
};

/**
 * One training step as a pure function of a state and a batch (new buffers for the result; the step's
 * scratch is its own): what `trainStep` does per batch without `reuseBuffers`.
 */
export const stepOnce =
  (config: TrainConfig) =>
  (s: TrainState, b: LabeledBatch): TrainState =>
    trainingStep({ ...config, reuseBuffers: false }, stepBuffers(config, s.network, false))(s, b) as TrainState; // new buffers: a value

/**
 * The training step as a stage: emits the state after every batch, starting from `initial`. A diverged
 * state is emitted once and ends the stream. With `reuseBuffers` the states are borrowed (see the module).
 *
 * Laws:
 * - the gradient of a concatenated batch equals the size-weighted mean of the parts' gradients
 * - a zero learning rate leaves the network unchanged
 * - the step is invariant to the order of examples within a batch (up to float tolerance)
 * - without reuseBuffers every emitted state is independent of later ones (keeping a state is safe)
 * - reusing buffers changes no bits: with `reuseBuffers` the states equal those without it, and a state
 *   stays valid until the second step after it (its snapshot forever)
 * - running the same stage value twice gives two independent runs
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { from, lastValueFrom } from 'rxjs';
 * import { epochBatches, evaluate, initialTrainState, initNetwork, optimizer, orThrow, rx, trainStep, type Dataset } from 'gradpipe';
 *
 * // two-pixel images: class 0 is bright on the left, class 1 on the right
 * const dataset: Dataset = { count: 4, rows: 1, cols: 2, classes: 2, images: Uint8Array.of(250, 10, 20, 240, 230, 0, 5, 255), labels: Uint8Array.of(0, 1, 0, 1) };
 * const net = orThrow(initNetwork({ sizes: [2, 8, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
 * const opt = orThrow(optimizer({ kind: 'sgd', lr: 0.5 }));
 * const last = await lastValueFrom(
 *   from(epochBatches({ dataset, seed: 1, batchSize: 2, epochs: 25 })).pipe(rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt)))),
 * );
 * assert.equal(last.step, 50);
 * assert.equal(evaluate(last.network, dataset, { loss: 'cross-entropy' }).accuracy, 1);
 * assert.ok(evaluate(last.network, dataset, { loss: 'cross-entropy' }).loss < evaluate(net, dataset, { loss: 'cross-entropy' }).loss);
 * ```
 */
export function trainStep(config: TrainConfig & { readonly reuseBuffers: true }, initial: TrainState): Stage<LabeledBatch, Borrowed<TrainState>>;
export function trainStep(config: TrainConfig & { readonly reuseBuffers?: false }, initial: TrainState): Stage<LabeledBatch, TrainState>;
export function trainStep(config: TrainConfig, initial: TrainState): Stage<LabeledBatch, StateView>;
export function trainStep(config: TrainConfig, initial: TrainState): Stage<LabeledBatch, StateView, { s: StateView; step: (s: StateView, b: LabeledBatch) => StateView }> {
  return {
    // the run's buffers are made here, once per run
    init: () => ({ s: initial, step: trainingStep(config, stepBuffers(config, initial.network, config.reuseBuffers === true)) }),
    step: (st, b) => {
      st.s = st.step(st.s, b);
      return { state: st, out: [st.s], done: st.s.divergence !== undefined };
    },
    flush: () => [],
  };
}
