/**
 * The training state and who owns its buffers.
 *
 * A `TrainState` is a value: its network and optimiser moments are buffers nobody writes again, so keeping
 * one is always safe. A `Borrowed<TrainState>` has the same fields but lives in buffers a training run reuses
 * (`trainStep` with `reuseBuffers`): it is valid until the second step after it, and `snapshot` turns it into
 * a value. The two types differ in their `buffers` tag, so a borrowed state cannot be passed where a value is
 * kept (a checkpoint, a best network) without `snapshot`; functions that only read a state at once take a
 * `StateView`, either of them.
 */
import type { Divergence, Magnitudes, StepFinding } from '../diagnostics/monitor.js';
import type { Gradient } from '../nn/gradient.js';
import { cloneNetwork, type Network } from '../nn/network.js';
import { initialState, type OptimizerState } from './move.js';
import type { OptimizerConfig } from './optimizer.js';

/** The fields of a training state, whoever owns its buffers. */
export interface TrainStateFields {
  readonly network: Network;
  readonly optimizer: OptimizerState;
  /** Steps applied so far. */
  readonly step: number;
  /** Epoch of the last batch, and batches of it done (the resume point, see `resumePoint`). */
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
  /** The monitor's findings so far (overflow and underflow on the way), at most one of each kind per layer. */
  readonly findings: readonly StepFinding[];
  readonly divergence: Divergence | undefined;
}

/** A training state that is a value: its buffers are never written again. */
export interface TrainState extends TrainStateFields {
  readonly buffers: 'owned';
}

/** A state whose network and moments live in buffers a run reuses: valid until the second step after it. */
export type Borrowed<S extends { readonly buffers: 'owned' }> = Omit<S, 'buffers'> & { readonly buffers: 'borrowed' };

/** A state to read now: a value or a borrowed one. */
export type StateView = TrainState | Borrowed<TrainState>;

/** `S` as a value (what `snapshot` returns). */
export type Owned<S extends { readonly buffers: 'owned' | 'borrowed' }> = Omit<S, 'buffers'> & { readonly buffers: 'owned' };

/** The state before the first step. */
export const initialTrainState = (network: Network, optimizer: OptimizerConfig): TrainState => ({
  buffers: 'owned',
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
  findings: [],
  divergence: undefined,
});

const copyGradient = (g: Gradient | undefined): Gradient | undefined =>
  g && { layers: g.layers.map((l) => ({ weight: { ...l.weight, data: l.weight.data.slice() }, bias: l.bias.slice() })) };

/**
 * `s` as a value: a borrowed state's network and moments copied into buffers of its own (valid whatever
 * later steps do), every other field kept; a state that is a value already is returned as it is.
 */
export const snapshot = <S extends { readonly buffers: 'owned' | 'borrowed'; readonly network: Network; readonly optimizer: OptimizerState }>(s: S): Owned<S> =>
  s.buffers === 'owned'
    ? (s as unknown as Owned<S>)
    : ({
        ...s,
        buffers: 'owned',
        network: cloneNetwork(s.network),
        optimizer: { step: s.optimizer.step, first: copyGradient(s.optimizer.first), second: copyGradient(s.optimizer.second) },
      } as Owned<S>);
