/**
 * Early stopping with the best network restored. At every epoch end the network is evaluated on a validation
 * split (never the test set) and the best one so far is recorded in the validated state; `earlyStopping(patience)`
 * (which accepts only validated states) stops once the validation metric has not improved for `patience`
 * epochs; `chosenNetwork` then gives the best network, not the last one.
 */
import { from, lastValueFrom } from 'rxjs';
import * as g from '../../src/index.js';

export interface EarlyStoppingOptions {
  readonly hidden: number;
  readonly patience: number;
  readonly maxEpochs: number;
  readonly lr: number;
  readonly batchSize: number;
  readonly seed: number;
}

export const earlyStoppingDefaults: EarlyStoppingOptions = { hidden: 64, patience: 3, maxEpochs: 100, lr: 0.1, batchSize: 16, seed: 1 };

/** Trains on `train` until the validation loss stops improving; returns the best network and the last state. */
export const trainWithEarlyStopping = async (data: { readonly train: g.Dataset; readonly validation: g.Dataset }, o: EarlyStoppingOptions = earlyStoppingDefaults) => {
  const { train, validation } = data;
  const sizes = [train.rows * train.cols, o.hidden, train.classes];
  const net = g.orThrow(g.initNetwork({ sizes, hidden: 'relu', output: 'softmax' }, { kind: 'he' }, o.seed));
  const opt = g.orThrow(g.optimizer({ kind: 'momentum', lr: o.lr, momentum: 0.9 }));
  const stop = g.anyOf(g.diverged, g.earlyStopping(o.patience), g.maxEpochs(o.maxEpochs));
  const { state: last, reason } = await lastValueFrom(
    from(g.epochBatches({ dataset: train, seed: o.seed, batchSize: o.batchSize, epochs: o.maxEpochs })).pipe(
      g.rx(g.trainStep({ loss: 'cross-entropy', optimizer: opt }, g.initialTrainState(net, opt))),
      g.rx(g.validate(validation, { loss: 'cross-entropy', metric: 'loss' })),
      g.rx(g.stopWhen(stop)),
    ),
  );
  return { last, best: last.validation?.best, network: g.chosenNetwork(last, true), stoppedBecause: reason ?? 'the data ran out' };
};
