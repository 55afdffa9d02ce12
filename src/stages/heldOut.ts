/**
 * The held-out tap: at the end of every epoch, evaluates the network on a held-out set and attaches the
 * result to the state, for display (the curves and metrics.jsonl). Nothing decides on it: a pipeline that
 * has no validation split uses it on the test set so that users see over- or underfitting, while stopping
 * and "best network" decisions stay with `validate` (validation data only).
 */
import type { Dataset } from '../data/dataset.js';
import type { StateView } from '../optim/trainState.js';
import { evaluate, type EvaluateOptions } from './evaluate.js';
import { emit, type Stage } from './stage.js';

/** Which set a held-out result was measured on. */
export type HeldOutSet = 'validation' | 'test';

/** One epoch's held-out figures. */
export interface HeldOut {
  readonly epoch: number;
  readonly set: HeldOutSet;
  readonly loss: number;
  readonly accuracy: number;
}

/** A state with the held-out figures of the latest epoch end (undefined before the first). */
export type WithHeldOut<S> = S & { readonly heldOut: HeldOut | undefined };

/**
 * Attaches to every state the evaluation of `ds` (named `set`) at the latest epoch end; the state is
 * otherwise passed on unchanged, and the network is only read.
 *
 * Laws:
 * - heldOut changes nothing but the record: every state comes out with the same fields, in order
 * - the record of an epoch end equals evaluate of its network on the held-out set
 */
export const heldOut = <S extends StateView>(ds: Dataset, set: HeldOutSet, opts: EvaluateOptions): Stage<S, WithHeldOut<S>, { last: HeldOut | undefined }> => ({
  init: () => ({ last: undefined }),
  step: (st, s) => {
    if (s.endOfEpoch && !s.divergence) {
      const e = evaluate(s.network, ds, opts);
      st.last = { epoch: s.epoch, set, loss: e.loss, accuracy: e.accuracy };
    }
    return emit(st, [{ ...s, heldOut: st.last }]);
  },
  flush: () => [],
});
