/**
 * The training step: a scan over batches that threads the training state through `grad` then `move`
 * (the Haskell design's `descend f eta p = grad f p >>= move (-eta) p`, with a positive rate here).
 * States are values: every emitted state holds its own network and optimiser buffers, so keeping one is
 * always safe, whatever happens downstream or later. A training loop that wants no per-step allocation
 * sets `reuseBuffers`: the step then writes into two sets of buffers it owns, alternately, so a state stays
 * valid until the second step after it; whoever keeps a state longer keeps `snapshot(state)` (the
 * validation stage and the MNIST pipeline do).
 *
 * A step that produces a non-finite value is not applied: the emitted state keeps the last finite network
 * and carries a `divergence` report naming the step, epoch, layer and tensor (see diagnostics/nonfinite),
 * with the largest magnitudes of the steps before it. Activations beyond 1e30, or nonzero ones below 1e-30
 * in magnitude, raise a warning once per layer.
 *
 * Laws:
 * - the gradient of a concatenated batch equals the size-weighted mean of the parts' gradients
 * - a zero learning rate leaves the network unchanged
 * - the step is invariant to the order of examples within a batch (up to float tolerance)
 */
import type { Backend } from '../tensor/backend.js';
import { getBackend } from '../tensor/registry.js';
import { argmaxRows } from '../tensor/matrix.js';
import { absRange } from '../tensor/reduce.js';
import { freshWorkspace, reusableWorkspace, type Workspace } from '../tensor/workspace.js';
import { describeLocation, DIVERGENCE_HINTS, locateNonFinite, type NonFiniteLocation } from '../diagnostics/nonfinite.js';
import { backprop } from '../nn/grad.js';
import type { LossName } from '../nn/loss.js';
import { cloneNetwork, type Network } from '../nn/network.js';
import type { Gradient } from '../nn/gradient.js';
import { initialState, move, type OptimizerState } from '../optim/move.js';
import type { OptimizerConfig } from '../optim/optimizer.js';
import { learningRateAt, type Schedule } from '../optim/schedule.js';
import type { LabeledBatch } from './batch.js';
import { emit, type Stage } from './stage.js';
import type { ValidationState } from './validate.js';

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

/** The training state, streamed from step to step; a value, so keeping one is always safe. */
export interface TrainState {
  readonly network: Network;
  readonly optimizer: OptimizerState;
  /** Steps applied so far. */
  readonly step: number;
  /** Epoch of the last batch, and batches of it done (the resume point is (epoch, batchInEpoch)). */
  readonly epoch: number;
  readonly batchInEpoch: number;
  readonly epochsCompleted: number;
  /** True when the last batch ended its epoch. */
  readonly endOfEpoch: boolean;
  readonly examplesSeen: number;
  /** Mean loss of the last batch, its size and how many of it were classified right. */
  readonly loss: number;
  readonly batchSize: number;
  readonly correct: number;
  /** Learning rate used for the last step. */
  readonly lr: number;
  /** Magnitudes of the last five finite steps, oldest first. */
  readonly recent: readonly Magnitudes[];
  /** Overflow and underflow warnings, at most one of each kind per layer. */
  readonly warnings: readonly string[];
  readonly divergence: Divergence | undefined;
  readonly validation: ValidationState | undefined;
}

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
   * Write each step's network and optimiser state into two sets of buffers owned by the step, alternately
   * (default false: new buffers every step). A state is then valid until the second step after it runs:
   * keep at most the previous state, and `snapshot` any state kept longer.
   */
  readonly reuseBuffers?: boolean;
}

/** The state before the first step. */
export const initialTrainState = (network: Network, optimizer: OptimizerConfig): TrainState => ({
  network,
  optimizer: initialState(optimizer, network),
  step: 0,
  epoch: 0,
  batchInEpoch: 0,
  epochsCompleted: 0,
  endOfEpoch: false,
  examplesSeen: 0,
  loss: NaN,
  batchSize: 0,
  correct: 0,
  lr: optimizer.lr,
  recent: [],
  warnings: [],
  divergence: undefined,
  validation: undefined,
});

/**
 * A copy of `s` that owns its network and optimiser buffers: stays valid whatever later steps do with
 * buffers they reuse (see `TrainConfig.reuseBuffers`).
 */
export const snapshot = (s: TrainState): TrainState => {
  const copy = (g: Gradient | undefined) => g && { layers: g.layers.map((l) => ({ weight: { ...l.weight, data: l.weight.data.slice() }, bias: l.bias.slice() })) };
  return {
    ...s,
    network: cloneNetwork(s.network),
    optimizer: { step: s.optimizer.step, first: copy(s.optimizer.first), second: copy(s.optimizer.second) },
  };
};

const HISTORY = 5;
const HUGE = 1e30;
const TINY = 1e-30;

/**
 * One training step as a pure function of the state and a batch: `grad`, then `move` at the scheduled rate.
 * A diverged state is returned unchanged.
 *
 * Laws: the same as `trainStep`'s, which threads this function through a stream.
 */
export const descend = (config: TrainConfig) => {
  const step = move(config.optimizer, config.backend);
  // activations, deltas and gradients never leave a step: they live in buffers reused from step to step,
  // and with reuseBuffers so do the parameters and moments; all of them where the kernels work in place
  // (the wasm backend's shared memory) when the backend says where that is
  const backend = config.backend ?? getBackend();
  const alloc = backend.alloc?.bind(backend);
  const ws = reusableWorkspace(alloc);
  const range = new Float64Array(2);
  // with reuseBuffers, moves alternate between two output sets, never the one holding the input
  const sets = config.reuseBuffers ? [reusableWorkspace(alloc), reusableWorkspace(alloc)] : undefined;
  let next = 0;
  const outputFor = (s: TrainState): Workspace => {
    if (!sets) return freshWorkspace;
    const w0 = s.network.layers[0]!.weight.data;
    // 'w0' is the slot `move` writes layer 0's weights to: the set holding them holds the whole input
    if (sets[next]!.get('w0', w0, w0.length) === w0) next = 1 - next;
    const out = sets[next]!;
    next = 1 - next;
    return out;
  };
  return (s: TrainState, b: LabeledBatch): TrainState => {
    if (s.divergence) return s;
    const lr = learningRateAt(config.schedule ?? { kind: 'constant' }, config.optimizer.lr, b.epoch, config.batchesPerEpoch ? b.batchInEpoch / config.batchesPerEpoch : 0, config.epochs ?? 1);
    const bp = backprop(config.loss, s.network, b, config.backend, ws);
    // The largest activation per layer (non-finite if any entry is), and tiny nonzero ones for the
    // underflow warning.
    const warnings = [...s.warnings];
    const activations = bp.forward.outputs.map((out, l) => {
      absRange(out.data, range);
      const max = range[0]!;
      const minNonzero = range[1]!;
      const warn = (what: string, towards: string) => {
        const w = `layer ${l}: ${what} (step ${s.step + 1}, epoch ${b.epoch + 1}); values on their way to ${towards}`;
        if (!warnings.some((x) => x.startsWith(`layer ${l}: ${what}`))) warnings.push(w);
      };
      if (max > HUGE && Number.isFinite(max)) warn('activations beyond 1e30', 'overflow');
      if (minNonzero < TINY) warn('activations below 1e-30 in magnitude', 'underflow');
      return max;
    });
    const diverged = (where: NonFiniteLocation): TrainState => ({
      ...s,
      warnings,
      divergence: {
        step: s.step + 1,
        epoch: b.epoch,
        where,
        message: `step ${s.step + 1} (epoch ${b.epoch + 1}): ${describeLocation(where)}`,
        history: s.recent,
        hints: DIVERGENCE_HINTS,
      },
    });
    if (!Number.isFinite(bp.loss) || activations.some((a) => !Number.isFinite(a))) {
      return diverged(locateNonFinite(s.network, bp) ?? { layer: undefined, tensor: 'loss', count: 1, index: 0, value: bp.loss });
    }
    // the update pass also measures the gradient and checks every new parameter (see optim/kernels)
    const moved = step(s.network, bp.gradient, s.optimizer, lr, outputFor(s));
    if (!Number.isFinite(moved.gradientSquaredNorm)) {
      return diverged(locateNonFinite(s.network, bp) ?? locateNonFinite(moved.network)!);
    }
    const mags: Magnitudes = { step: s.step + 1, activations, gradientNorm: Math.sqrt(moved.gradientSquaredNorm), loss: bp.loss };
    const predicted = argmaxRows(bp.lossResult.output);
    let correct = 0;
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === b.labels[i]) correct++;
    return {
      ...s,
      network: moved.network,
      optimizer: moved.state,
      step: s.step + 1,
      epoch: b.epoch,
      batchInEpoch: b.batchInEpoch + 1,
      epochsCompleted: b.lastInEpoch ? b.epoch + 1 : s.epochsCompleted,
      endOfEpoch: b.lastInEpoch,
      examplesSeen: s.examplesSeen + b.inputs.rows,
      loss: bp.loss,
      batchSize: b.inputs.rows,
      correct,
      lr,
      recent: [...s.recent.slice(-(HISTORY - 1)), mags],
      warnings,
    };
  };
};

/**
 * The training step as a stage: emits the state after every batch, starting from `initial`. A diverged
 * state is emitted once and ends the stream.
 *
 * Laws:
 * - the gradient of a concatenated batch equals the size-weighted mean of the parts' gradients
 * - a zero learning rate leaves the network unchanged
 * - the step is invariant to the order of examples within a batch (up to float tolerance)
 * - every emitted state is independent of later ones (keeping a state is safe)
 * - reusing buffers changes no bits: with `reuseBuffers` the states equal those without it, and a state
 *   stays valid until the second step after it (its snapshot forever)
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
export const trainStep = (config: TrainConfig, initial: TrainState): Stage<LabeledBatch, TrainState, { s: TrainState }> => {
  const f = descend(config);
  return {
    init: () => ({ s: initial }),
    step: (st, b) => {
      st.s = f(st.s, b);
      return { state: st, out: [st.s], done: st.s.divergence !== undefined };
    },
    flush: () => [],
  };
};

