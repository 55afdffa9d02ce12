/**
 * Custom reporting taps. A tap observes the stream and passes every state on unchanged, so adding or removing
 * one never changes what is trained. `csvReport` writes one CSV line per epoch from `report`'s epoch events;
 * `collectSteps` keeps every k-th step event in an array (for a plot, a test or a log).
 */
import { from, lastValueFrom } from 'rxjs';
import * as g from '../../src/index.js';

export const CSV_HEADER = 'epoch,step,examples,train_loss,train_accuracy,lr';

/** A tap that writes one CSV line per epoch (epochs counted from 1) to `write`. */
export const csvReport = (write: (line: string) => void): g.Stage<g.StateView, g.StateView> =>
  g.report({
    onEpoch: (e) => write([e.epoch + 1, e.step, e.examplesSeen, e.trainLoss.toFixed(6), e.trainAccuracy.toFixed(4), e.lr].join(',')),
  });

/** A tap that pushes every `every`-th step event into `into`. */
export const collectSteps = (into: g.StepEvent[], every: number): g.Stage<g.StateView, g.StateView> =>
  g.report({ onStep: (e) => into.push(e), every });

export interface CsvOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly stepEvery: number;
  readonly seed: number;
}

export const csvDefaults: CsvOptions = { epochs: 4, batchSize: 32, stepEvery: 10, seed: 1 };

/** Trains with both taps: the CSV (header first) goes to `write`; the sampled step events are returned. */
export const trainWithCsv = async (train: g.Dataset, write: (line: string) => void, o: CsvOptions = csvDefaults) => {
  const sizes = [train.rows * train.cols, 32, train.classes];
  const net = g.orThrow(g.initNetwork({ sizes, hidden: 'relu', output: 'softmax' }, { kind: 'he' }, o.seed));
  const opt = g.orThrow(g.optimizer({ kind: 'momentum', lr: 0.05, momentum: 0.9 }));
  const steps: g.StepEvent[] = [];
  write(CSV_HEADER);
  const last = await lastValueFrom(
    from(g.epochBatches({ dataset: train, seed: o.seed, batchSize: o.batchSize, epochs: o.epochs })).pipe(
      g.rx(g.trainStep({ loss: 'cross-entropy', optimizer: opt }, g.initialTrainState(net, opt))),
      g.rx(csvReport(write)),
      g.rx(collectSteps(steps, o.stepEvery)),
    ),
  );
  return { last, steps };
};
