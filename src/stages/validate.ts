/**
 * Validation: at the end of every epoch, evaluates the network on a validation split (carved from the
 * training data, never the test set) and keeps the best network so far, for early stopping and restoring.
 * The bookkeeping lives in the training state itself, so stopping conditions stay pure predicates.
 *
 * Laws:
 * - states that do not end an epoch pass unchanged
 * - best.metric is the best validation metric seen so far (monotone), and sinceBest counts the epochs
 *   since it last improved by more than minDelta
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../nn/network.js';
import { evaluate, type EvaluateOptions } from './evaluate.js';
import { map, type Stage } from './stage.js';
import type { TrainState } from './trainStep.js';

/** The validation metric that decides which network is the best. */
export type Metric = 'accuracy' | 'loss';

/** The validation record of a state: the latest result, the best so far, and the epochs since it improved. */
export interface ValidationState {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly best: { readonly epoch: number; readonly step: number; readonly loss: number; readonly accuracy: number; readonly network: Network };
  /** Epochs since the metric last improved by more than minDelta. */
  readonly sinceBest: number;
}

/** Options of `validate`: how to evaluate, which metric decides, and the smallest improvement. */
export interface ValidateOptions extends EvaluateOptions {
  /** Metric that decides "best" (default accuracy). */
  readonly metric?: Metric;
  /** Smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
}

/**
 * Updates the validation record the state carries, at the end of an epoch: evaluates the network and keeps
 * it as the best when the metric improved by more than `minDelta` over that record's best.
 *
 * Laws: states that do not end an epoch pass unchanged; the new best is the better of the record's best and
 * this epoch, and sinceBest counts the epochs since the best last improved.
 */
export const validateState = (ds: Dataset, opts: ValidateOptions) => (s: TrainState): TrainState => {
  if (!s.endOfEpoch || s.divergence) return s;
  const e = evaluate(s.network, ds, opts);
  const metric = opts.metric ?? 'accuracy';
  const delta = opts.minDelta ?? 0;
  const prev = s.validation;
  const improved =
    prev === undefined ||
    (metric === 'accuracy' ? e.accuracy > prev.best.accuracy + delta : e.loss < prev.best.loss - delta);
  const best = improved ? { epoch: s.epoch, step: s.step, loss: e.loss, accuracy: e.accuracy, network: s.network } : prev!.best;
  return { ...s, validation: { epoch: s.epoch, loss: e.loss, accuracy: e.accuracy, best, sinceBest: improved ? 0 : prev!.sinceBest + 1 } };
};

/** The validation tap as a stage: `validateState` applied to every state, against the record that state carries. */
export const validate = (ds: Dataset, opts: ValidateOptions): Stage<TrainState, TrainState> => map(validateState(ds, opts));
