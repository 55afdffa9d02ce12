/**
 * Stopping. A stop condition looks at one state and says why to stop (a reason) or nothing, like the
 * Haskell design's `StopWhen`; conditions combine with `anyOf`/`allOf`. `stopWhen(p)` evaluates p once per
 * state and passes each state on with the answer, ending the stream right after the first state that has a
 * reason: the last item of the stream is the run's outcome (pipes' return value), its final state and why
 * it stopped.
 */
import type { StateView } from '../optim/trainState.js';
import type { Stage } from './stage.js';
import type { Validated, ValidationState } from './validate.js';

/** A reason to stop, or undefined to go on. */
export type StopCondition<S> = (s: S) => string | undefined;

/** A state on its way out of `stopWhen`, with the reason to stop after it (on the last item only). */
export interface Stopped<S> {
  readonly state: S;
  readonly reason: string | undefined;
}

/**
 * Passes each state on with `p`'s answer for it (evaluated once), and ends the stream right after the first
 * state for which `p` gives a reason.
 *
 * Laws:
 * - the states of the output are a prefix of the input
 * - a never-true condition passes every state on without a reason
 * - stopping at anyOf(p, q) stops at the first state where p or q holds, with the reason of the first that holds
 * - the state that satisfied the condition is emitted last, with its reason, and the condition is evaluated once per state
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { anyOf, runStage, stopWhen, type StopCondition } from 'gradpipe';
 *
 * const above = (limit: number): StopCondition<number> => (n) => (n > limit ? `${n} is above ${limit}` : undefined);
 * const out = runStage(stopWhen(above(10)), [3, 7, 12, 5, 20]);
 * assert.deepEqual(out.map((o) => o.state), [3, 7, 12]);
 * assert.equal(out.at(-1)?.reason, '12 is above 10'); // the outcome: the last state and why the stream ended
 * assert.equal(anyOf(above(10), above(4))(7), '7 is above 4'); // the reason of the first condition that holds
 * ```
 */
export const stopWhen = <S>(p: StopCondition<S>): Stage<S, Stopped<S>, undefined> => ({
  init: () => undefined,
  step: (st, state) => {
    const reason = p(state);
    return { state: st, out: [{ state, reason }], done: reason !== undefined };
  },
  flush: () => [],
});

/** Why a run ended, from its last item: the condition's reason, or that the input ran out. */
export const stopReason = <S>(last: Stopped<S>): string => last.reason ?? 'the input ended';

/** The condition that never holds: `stopWhen(never())` passes every state on. */
export const never = <S>(): StopCondition<S> => () => undefined;

/** The reason of the first condition that holds (see stopWhen's laws). */
export const anyOf =
  <S>(...ps: readonly StopCondition<S>[]): StopCondition<S> =>
  (s) => {
    for (const p of ps) {
      const r = p(s);
      if (r !== undefined) return r;
    }
    return undefined;
  };

/** Holds when every condition holds; the reasons joined. */
export const allOf =
  <S>(...ps: readonly StopCondition<S>[]): StopCondition<S> =>
  (s) => {
    const rs = ps.map((p) => p(s));
    return ps.length > 0 && rs.every((r) => r !== undefined) ? rs.join(' and ') : undefined;
  };

// Conditions on training states.

/** Holds once `n` epochs are complete. */
export const maxEpochs = (n: number): StopCondition<StateView> => (s) =>
  s.epochsCompleted >= n ? `reached ${n} epoch${n === 1 ? '' : 's'}` : undefined;

/** Holds once `n` steps have been applied. */
export const maxSteps = (n: number): StopCondition<StateView> => (s) => (s.step >= n ? `reached ${n} steps` : undefined);

/** Validation accuracy at or above `target` (checked at epoch ends); needs `validate` upstream. */
export const targetAccuracy = (target: number): StopCondition<Validated<StateView>> => (s) =>
  s.endOfEpoch && s.validation && s.validation.accuracy >= target
    ? `validation accuracy ${(100 * s.validation.accuracy).toFixed(2)}% reached the target ${(100 * target).toFixed(2)}%`
    : undefined;

/** Validation loss (or, without validation, the last batch loss) at or below `target`. */
export const targetLoss = (target: number): StopCondition<StateView & { readonly validation?: ValidationState | undefined }> => (s) => {
  const l = s.validation && s.endOfEpoch ? s.validation.loss : s.loss;
  return l <= target ? `loss ${l.toPrecision(4)} reached the target ${target}` : undefined;
};

/** No validation improvement for `patience` epochs (see validate's minDelta); needs `validate` upstream. */
export const earlyStopping = (patience: number): StopCondition<Validated<StateView>> => (s) =>
  s.validation && s.validation.sinceBest >= patience
    ? `early stopping: no validation improvement for ${patience} epoch${patience === 1 ? '' : 's'} (best at epoch ${s.validation.best.epoch + 1})`
    : undefined;

/** Wall-clock limit measured from `startedAt` by `clock` (milliseconds). */
export const timeLimit =
  (seconds: number, startedAt: number, clock: () => number = () => performance.now()): StopCondition<StateView> =>
  () =>
    clock() - startedAt >= seconds * 1000 ? `time limit of ${seconds} s reached` : undefined;

/** A non-finite value appeared (see trainStep). */
export const diverged: StopCondition<StateView> = (s) => (s.divergence ? `diverged at ${s.divergence.message}` : undefined);
