/**
 * Validation: at the end of every epoch, evaluates the network on a validation split (carved from the
 * training data, never the test set) and keeps the best network so far, for early stopping and restoring.
 * A validated state is a training state extended with its run's validation record (`Validated<S>`); the
 * conditions that need one (`earlyStopping`, `targetAccuracy`) accept only validated states, so using them
 * without this stage does not type-check. The best network is kept as a copy (a value), so a training step
 * that reuses its buffers cannot change it.
 */
import type { Dataset } from '../data/dataset.js';
import { cloneNetwork, type Network } from '../nn/network.js';
import { evaluate, type EvaluateOptions } from './evaluate.js';
import { emit, type Stage } from './stage.js';
import type { StateView } from '../optim/trainState.js';

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

/** A state with its run's validation record (undefined until the first epoch ends). */
export type Validated<S> = S & { readonly validation: ValidationState | undefined };

/** Options of `validate`: how to evaluate, which metric decides, and the smallest improvement. */
export interface ValidateOptions extends EvaluateOptions {
  /** Metric that decides "best" (default accuracy). */
  readonly metric?: Metric;
  /** Smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
}

/**
 * The record after the epoch that `s` ends, given the record before it (`prev`): evaluates the network and
 * keeps it as the best when the metric improved by more than `minDelta` over `prev`'s best.
 */
export const nextRecord = (ds: Dataset, opts: ValidateOptions) => (prev: ValidationState | undefined, s: StateView): ValidationState => {
  const e = evaluate(s.network, ds, opts);
  const metric = opts.metric ?? 'accuracy';
  const delta = opts.minDelta ?? 0;
  const improved =
    prev === undefined ||
    (metric === 'accuracy' ? e.accuracy > prev.best.accuracy + delta : e.loss < prev.best.loss - delta);
  const best = improved ? { epoch: s.epoch, step: s.step, loss: e.loss, accuracy: e.accuracy, network: cloneNetwork(s.network) } : prev!.best;
  return { epoch: s.epoch, loss: e.loss, accuracy: e.accuracy, best, sinceBest: improved ? 0 : prev!.sinceBest + 1 };
};

/**
 * The validation stage: at every epoch end, a new record from the running one (starting from `record`, the
 * record of a resumed run); every state leaves with the running record.
 *
 * Laws:
 * - states pass unchanged except for their validation record
 * - best.metric is the best validation metric seen so far (monotone), and sinceBest counts the epochs since it last improved by more than minDelta
 */
export const validate = <S extends StateView>(ds: Dataset, opts: ValidateOptions, record?: ValidationState): Stage<S, Validated<S>, { record: ValidationState | undefined }> => {
  const next = nextRecord(ds, opts);
  return {
    init: () => ({ record }),
    step: (st, s) => {
      if (s.endOfEpoch && !s.divergence) st.record = next(st.record, s);
      return emit(st, [{ ...s, validation: st.record }]);
    },
    flush: () => [],
  };
};

/**
 * The network to keep from a run's last validated state: the best validated one when `restoreBest` (early
 * stopping restores it), otherwise the last one.
 */
export const chosenNetwork = (last: StateView & { readonly validation?: ValidationState | undefined }, restoreBest: boolean): Network =>
  restoreBest && last.validation ? last.validation.best.network : last.network;
