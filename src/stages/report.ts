/**
 * Reporting taps: observe the stream without changing it. `tap(f)` calls f on every item; `report` turns
 * training states into per-step and per-epoch metric events for a CLI, a progress bar, a metrics file or a
 * test. Their laws are stated on `tap`, `report` and `warnings` below.
 */
import { emit, type Stage } from './stage.js';
import type { StepFinding } from '../diagnostics/monitor.js';
import type { StateView } from '../optim/trainState.js';
import type { ValidationState } from './validate.js';
import type { HeldOut, HeldOutSet } from './heldOut.js';

/**
 * Calls `f` on every item and passes it on unchanged.
 *
 * Law: a tap is the identity on the stream: compose(tap(f), p) emits what p emits
 */
export const tap = <A>(f: (a: A) => void): Stage<A, A, undefined> => ({
  init: () => undefined,
  step: (s, a) => {
    f(a);
    return emit(s, [a]);
  },
  flush: () => [],
});

/** A per-step metric event, every `ReportOptions.every` steps. */
export interface StepEvent {
  readonly kind: 'step';
  readonly step: number;
  readonly epoch: number;
  readonly batchInEpoch: number;
  readonly loss: number;
  readonly lr: number;
  readonly examplesSeen: number;
  /** Examples per second since the previous step event. */
  readonly samplesPerSecond: number;
}

/** A per-epoch metric event, at the last batch of every epoch. */
export interface EpochEvent {
  readonly kind: 'epoch';
  readonly epoch: number;
  readonly step: number;
  readonly examplesSeen: number;
  /** Mean training loss and accuracy over the batches of this epoch seen in this run. */
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
  /**
   * The held-out figures of this epoch: the validation split's when there is one, else (from `heldOut`) the
   * test set's, for display only; `heldOutSet` says which.
   */
  readonly heldOutSet?: HeldOutSet;
  readonly heldOutLoss?: number;
  readonly heldOutAccuracy?: number;
  readonly lr: number;
  /** Seconds this epoch took, and its examples per second. */
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

/** Where `report` sends its events, and how often. */
export interface ReportOptions {
  /** Called with the event of every `every`-th step. */
  readonly onStep?: (e: StepEvent) => void;
  /** Called with the event of every epoch, at its last batch. */
  readonly onEpoch?: (e: EpochEvent) => void;
  /** Emit a step event every this many steps (default 1). */
  readonly every?: number;
  /** Milliseconds clock (default performance.now). */
  readonly clock?: () => number;
}

interface Acc {
  lossSum: number;
  correct: number;
  count: number;
  epochStart: number;
  lastTime: number;
  lastSeen: number;
}

/** The epoch event's held-out fields of `s`: its validation result, else its `heldOut` record, of this epoch. */
const heldOutFields = (s: StateView & { readonly validation?: ValidationState | undefined; readonly heldOut?: HeldOut | undefined }): Partial<EpochEvent> =>
  s.validation && s.validation.epoch === s.epoch
    ? { heldOutSet: 'validation', heldOutLoss: s.validation.loss, heldOutAccuracy: s.validation.accuracy }
    : s.heldOut && s.heldOut.epoch === s.epoch
      ? { heldOutSet: s.heldOut.set, heldOutLoss: s.heldOut.loss, heldOutAccuracy: s.heldOut.accuracy }
      : {};

/**
 * The reporting tap: turns training states into step events (every `opts.every` steps) and epoch events
 * (mean training loss and accuracy over the epoch's batches, and the epoch's validation result when there is
 * one), and passes every state on unchanged.
 *
 * Law: report is the identity on the stream: it emits every state it receives, unchanged and in order
 */
export const report = <S extends StateView & { readonly validation?: ValidationState | undefined; readonly heldOut?: HeldOut | undefined }>(opts: ReportOptions): Stage<S, S, Acc> => {
  const clock = opts.clock ?? (() => performance.now());
  const every = opts.every ?? 1;
  return {
    init: () => {
      const t = clock();
      return { lossSum: 0, correct: 0, count: 0, epochStart: t, lastTime: t, lastSeen: -1 };
    },
    step: (acc, s) => {
      if (s.divergence || s.batchSize === 0) return emit(acc, [s]);
      const now = clock();
      if (acc.lastSeen < 0) acc.lastSeen = s.examplesSeen - s.batchSize;
      acc.lossSum += s.loss * s.batchSize;
      acc.correct += s.correct;
      acc.count += s.batchSize;
      if (opts.onStep && s.step % every === 0) {
        const dt = (now - acc.lastTime) / 1000;
        opts.onStep({ kind: 'step', step: s.step, epoch: s.epoch, batchInEpoch: s.batchInEpoch, loss: s.loss, lr: s.lr, examplesSeen: s.examplesSeen, samplesPerSecond: dt > 0 ? (s.examplesSeen - acc.lastSeen) / dt : 0 });
        acc.lastTime = now;
        acc.lastSeen = s.examplesSeen;
      }
      if (s.endOfEpoch) {
        const seconds = (now - acc.epochStart) / 1000;
        opts.onEpoch?.({
          kind: 'epoch',
          epoch: s.epoch,
          step: s.step,
          examplesSeen: s.examplesSeen,
          trainLoss: acc.lossSum / acc.count,
          trainAccuracy: acc.correct / acc.count,
          ...(s.validation && s.validation.epoch === s.epoch ? { validationLoss: s.validation.loss, validationAccuracy: s.validation.accuracy } : {}),
          ...heldOutFields(s),
          lr: s.lr,
          seconds,
          samplesPerSecond: seconds > 0 ? acc.count / seconds : 0,
        });
        acc.lossSum = 0;
        acc.correct = 0;
        acc.count = 0;
        acc.epochStart = now;
      }
      return emit(acc, [s]);
    },
    flush: () => [],
  };
};

/**
 * Calls `onFinding` once for each finding of the training monitor (overflow or underflow on the way, see
 * diagnostics/monitor), when it first appears, so a command line can print it while training goes on.
 *
 * Law: warnings is the identity on the stream: it emits every state it receives, unchanged and in order
 */
export const warnings = <S extends StateView>(onFinding: (f: StepFinding) => void): Stage<S, S, { seen: number }> => ({
  init: () => ({ seen: 0 }),
  step: (acc, s) => {
    for (; acc.seen < s.findings.length; acc.seen++) onFinding(s.findings[acc.seen]!);
    return emit(acc, [s]);
  },
  flush: () => [],
});
