/**
 * The core of a training step, the Haskell design's `descend f eta p = grad f p >>= move (-eta) p`: backprop
 * on one batch, then the optimiser's move at the given rate, returning either the moved parameters with what
 * the step measured, or where the first non-finite value appeared (a step that produced one is not applied).
 *
 * Buffers: the step's intermediates (activations, deltas, gradients) live in a scratch workspace that never
 * leaves a step; the moved parameters go to new buffers, or, with two reused parameter sets, into the set
 * that does not hold the input. Whoever makes the buffers (`stepBuffers`) owns them: one training run.
 */
import * as E from 'fp-ts/lib/Either.js';
import { locateNonFinite, type NonFiniteLocation } from '../diagnostics/nonfinite.js';
import type { Dropout } from '../nn/dropout.js';
import { backprop } from '../nn/grad.js';
import type { LossName } from '../nn/loss.js';
import type { Network } from '../nn/network.js';
import type { Backend } from '../tensor/backend.js';
import { argmaxRows, type Matrix } from '../tensor/matrix.js';
import { getBackend } from '../tensor/registry.js';
import { reusableWorkspace, type Workspace } from '../tensor/workspace.js';
import { allocParams, move, type OptimizerState, type Params } from './move.js';
import type { OptimizerConfig } from './optimizer.js';

/** What the core step needs: the loss, the optimiser and the kernels (default: the backend in use). */
export interface DescendConfig {
  readonly loss: LossName;
  readonly optimizer: OptimizerConfig;
  readonly backend?: Backend;
  /** Inverted dropout on the hidden layers, its masks drawn from (dropout.seed, step) (default none). */
  readonly dropout?: Dropout;
}

/** A batch with integer labels (for the step's accuracy count). */
export interface LabeledInputs {
  readonly inputs: Matrix;
  readonly targets: Matrix;
  readonly labels: ArrayLike<number>;
}

/** The buffers of one training run: the step's scratch, and with reuse two parameter sets to alternate. */
export interface StepBuffers {
  readonly scratch: Workspace;
  readonly params: readonly [Params, Params] | undefined;
}

/**
 * New buffers for a run of steps on networks shaped like `network`: with `reuse`, two parameter sets the
 * moves alternate between; float32 ones where the backend's kernels work in place (its `alloc`).
 */
export const stepBuffers = (config: DescendConfig, network: Network, reuse: boolean): StepBuffers => {
  const backend = config.backend ?? getBackend();
  const alloc = backend.alloc?.bind(backend);
  return {
    scratch: reusableWorkspace(alloc),
    params: reuse ? [allocParams(config.optimizer, network, alloc), allocParams(config.optimizer, network, alloc)] : undefined,
  };
};

/** A step that was applied: the moved parameters, and what it measured on the way. */
export interface Descended {
  readonly network: Network;
  readonly optimizer: OptimizerState;
  /** Mean loss of the batch, and how many of its examples were classified right (before the move). */
  readonly loss: number;
  readonly correct: number;
  /** Per layer: the largest activation magnitude and the smallest nonzero one (Infinity when all are zero). */
  readonly maxAbs: readonly number[];
  readonly minNonzero: readonly number[];
  /** Global norm of the (unclipped) gradient. */
  readonly gradientNorm: number;
}

/**
 * `descend(config, buffers)(network, optimizer, batch, lr, at)`: backprop, then move at rate `lr`; Left with
 * the location of the first non-finite value when the step produced one (nothing is applied then). `at`
 * (the run's step count before this one) keys the dropout masks, so a resumed run draws the same ones.
 */
export const descend = (config: DescendConfig, buffers: StepBuffers) => {
  const step = move(config.optimizer, config.backend);
  const dropout = config.dropout !== undefined && config.dropout.rate > 0 ? config.dropout : undefined;
  return (network: Network, optimizer: OptimizerState, b: LabeledInputs, lr: number, at = 0): E.Either<NonFiniteLocation, Descended> => {
    // the activation ranges come from the forward pass (in the kernels' epilogue where the backend can)
    const bp = backprop(config.loss, network, b, config.backend, buffers.scratch, dropout && { ...dropout, step: at }, true);
    const maxAbs: number[] = [];
    const minNonzero: number[] = [];
    for (const range of bp.forward.ranges!) {
      maxAbs.push(range[0]!);
      minNonzero.push(range[1]!);
    }
    if (!Number.isFinite(bp.loss) || maxAbs.some((a) => !Number.isFinite(a))) {
      return E.left(locateNonFinite(network, bp) ?? { layer: undefined, tensor: 'loss', count: 1, index: 0, value: bp.loss });
    }
    const sets = buffers.params;
    // the moved parameters go to the set that does not hold the input (never written while it is read)
    const into = sets === undefined ? undefined : sets[0].network === network ? sets[1] : sets[0];
    // the update pass also measures the gradient and checks every new parameter (see optim/kernels)
    const moved = step(network, bp.gradient, optimizer, lr, into);
    if (!Number.isFinite(moved.gradientSquaredNorm)) return E.left(locateNonFinite(network, bp) ?? locateNonFinite(moved.network)!);
    const predicted = argmaxRows(bp.lossResult.output);
    let correct = 0;
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === b.labels[i]) correct++;
    return E.right({ network: moved.network, optimizer: moved.state, loss: bp.loss, correct, maxAbs, minNonzero, gradientNorm: Math.sqrt(moved.gradientSquaredNorm) });
  };
};
