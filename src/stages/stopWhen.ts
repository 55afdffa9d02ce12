/**
 * Stopping. A stop condition looks at one state and says why to stop (a reason) or nothing, like the
 * Haskell design's `StopWhen`; conditions combine with `anyOf`/`allOf`. `stopWhen(p)` passes states through
 * and ends the stream right after the first state that satisfies p.
 *
 * Laws:
 * - the output is a prefix of the input
 * - a never-true condition is the identity
 * - stop(p) then stop(q) = stop(p or q)
 * - the state that satisfied the condition is emitted last
 */
import { emit, type Stage } from './stage.js';
import type { TrainState } from './trainStep.js';

/** A reason to stop, or undefined to go on. */
export type StopCondition<S> = (s: S) => string | undefined;

/**
 * Passes states through and ends the stream right after the first one for which `p` gives a reason.
 *
 * Laws:
 * - the output is a prefix of the input
 * - a never-true condition is the identity
 * - stop(p) then stop(q) = stop(p or q), with `anyOf(p, q)` as p or q
 * - the state that satisfied the condition is emitted last
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { anyOf, runStage, stopWhen, type StopCondition } from 'gradpipe';
 *
 * const above = (limit: number): StopCondition<number> => (n) => (n > limit ? `${n} is above ${limit}` : undefined);
 * assert.deepEqual(runStage(stopWhen(above(10)), [3, 7, 12, 5, 20]), [3, 7, 12]);
 * assert.equal(anyOf(above(10), above(4))(7), '7 is above 4'); // the reason of the first condition that holds
 * ```
 */
export const stopWhen = <S>(p: StopCondition<S>): Stage<S, S, undefined> => ({
  init: () => undefined,
  step: (st, s) => ({ state: st, out: [s], done: p(s) !== undefined }),
  flush: () => [],
});

/** The condition that never holds: `stopWhen(never())` is the identity. */
export const never = <S>(): StopCondition<S> => () => undefined;

/** The reason of the first condition that holds. Law: stop(p) then stop(q) = stop(anyOf(p, q)). */
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
export const maxEpochs = (n: number): StopCondition<TrainState> => (s) =>
  s.epochsCompleted >= n ? `reached ${n} epoch${n === 1 ? '' : 's'}` : undefined;

/** Holds once `n` steps have been applied. */
export const maxSteps = (n: number): StopCondition<TrainState> => (s) => (s.step >= n ? `reached ${n} steps` : undefined);

/** Validation accuracy at or above `target` (checked when a validation result exists for this epoch). */
export const targetAccuracy = (target: number): StopCondition<TrainState> => (s) =>
  s.endOfEpoch && s.validation && s.validation.accuracy >= target
    ? `validation accuracy ${(100 * s.validation.accuracy).toFixed(2)}% reached the target ${(100 * target).toFixed(2)}%`
    : undefined;

/** Validation loss (or, without validation, the last batch loss) at or below `target`. */
export const targetLoss = (target: number): StopCondition<TrainState> => (s) => {
  const l = s.validation && s.endOfEpoch ? s.validation.loss : s.loss;
  return l <= target ? `loss ${l.toPrecision(4)} reached the target ${target}` : undefined;
};

/** No validation improvement for `patience` epochs (see validate's minDelta). */
export const earlyStopping = (patience: number): StopCondition<TrainState> => (s) =>
  s.validation && s.validation.sinceBest >= patience
    ? `early stopping: no validation improvement for ${patience} epoch${patience === 1 ? '' : 's'} (best at epoch ${s.validation.best.epoch + 1})`
    : undefined;

/** Wall-clock limit measured from `startedAt` by `clock` (milliseconds). */
export const timeLimit =
  (seconds: number, startedAt: number, clock: () => number = () => performance.now()): StopCondition<TrainState> =>
  () =>
    clock() - startedAt >= seconds * 1000 ? `time limit of ${seconds} s reached` : undefined;

/** A non-finite value appeared (see trainStep). */
export const diverged: StopCondition<TrainState> = (s) => (s.divergence ? `diverged at ${s.divergence.message}` : undefined);
