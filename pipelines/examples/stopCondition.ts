/**
 * A custom stopping condition. A condition is a pure function of one training state that returns a reason
 * to stop, or undefined to go on; anything it needs to remember must already be in the state. Here the state's
 * `recent` magnitudes (the last five steps) give a smoothed training loss, and `allOf` / `anyOf` combine the
 * new condition with the built-in ones.
 */
import { from, lastValueFrom } from 'rxjs';
import * as g from '../../src/index.js';

/** Stops once the mean loss of the last `window` steps (at most five, as the state keeps) is at most `target`. */
export const smoothedLossBelow =
  (target: number, window = 5): g.StopCondition<g.StateView> =>
  (s) => {
    if (s.recent.length < window) return undefined;
    const mean = s.recent.slice(-window).reduce((sum, m) => sum + m.loss, 0) / window;
    return mean <= target ? `mean loss of the last ${window} steps ${mean.toFixed(4)} is at most ${target}` : undefined;
  };

export interface StopOptions {
  readonly target: number;
  /** Epochs to train at least, and at most. */
  readonly minEpochs: number;
  readonly maxEpochs: number;
  readonly seed: number;
}

export const stopDefaults: StopOptions = { target: 0.05, minEpochs: 1, maxEpochs: 30, seed: 1 };

/** The condition this example stops on: never before `minEpochs`, then as soon as the loss is low enough. */
export const stopRule = (o: StopOptions): g.StopCondition<g.StateView> =>
  g.anyOf(g.diverged, g.allOf(g.maxEpochs(o.minEpochs), smoothedLossBelow(o.target)), g.maxEpochs(o.maxEpochs));

/** Trains until `stopRule` holds; returns the last state and why it stopped. */
export const trainUntilLossLow = async (train: g.Dataset, o: StopOptions = stopDefaults) => {
  const sizes = [train.rows * train.cols, 32, train.classes];
  const net = g.orThrow(g.initNetwork({ sizes, hidden: 'relu', output: 'softmax' }, { kind: 'he' }, o.seed));
  const opt = g.orThrow(g.optimizer({ kind: 'adam', lr: 0.005 }));
  const { state: last, reason } = await lastValueFrom(
    from(g.epochBatches({ dataset: train, seed: o.seed, batchSize: 32, epochs: o.maxEpochs })).pipe(
      g.rx(g.trainStep({ loss: 'cross-entropy', optimizer: opt }, g.initialTrainState(net, opt))),
      g.rx(g.stopWhen(stopRule(o))),
    ),
  );
  return { last, stoppedBecause: reason ?? 'the data ran out' };
};
