/**
 * A custom stage, written once and run by both adapters. `noisyPixels` replaces a seeded fraction of every
 * batch's inputs with noise (a simple augmentation); composed with the training step it is one stage, which
 * `trainRx` runs as an RxJS operator and `trainIx` as an IxJS one. With the same seeds both give the same bits.
 */
import { from, lastValueFrom } from 'rxjs';
import * as g from '../../src/index.js';

/** Replaces each input value of a batch, with probability `p`, by a uniform draw from [0, 1). */
export const noisyPixels = (p: number, seed: number): g.Stage<g.LabeledBatch, g.LabeledBatch, g.Rng> => ({
  // a fresh generator per run, so every run of the stage (by any adapter) draws the same noise
  init: () => g.rng(seed, 'noisy-pixels'),
  step: (r, b) => {
    const x = b.inputs.data.map((v) => (r() < p ? r() : v));
    return g.emit(r, [{ ...b, inputs: g.matrix(b.inputs.rows, b.inputs.cols, x) }]);
  },
  flush: () => [],
});

export interface AugmentedOptions {
  readonly hidden: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly noise: number;
  readonly seed: number;
}

export const augmentedDefaults: AugmentedOptions = { hidden: 32, epochs: 3, batchSize: 32, noise: 0.1, seed: 1 };

/** The batches of a run, and the stage that trains on them: augmentation, then grad and move. */
const plan = (train: g.Dataset, o: AugmentedOptions) => {
  const sizes = [train.rows * train.cols, o.hidden, train.classes];
  const net = g.orThrow(g.initNetwork({ sizes, hidden: 'relu', output: 'softmax' }, { kind: 'he' }, o.seed));
  const opt = g.orThrow(g.optimizer({ kind: 'momentum', lr: 0.05, momentum: 0.9 }));
  return {
    batches: () => g.epochBatches({ dataset: train, seed: o.seed, batchSize: o.batchSize, epochs: o.epochs }),
    stage: g.compose(noisyPixels(o.noise, o.seed), g.trainStep({ loss: 'cross-entropy', optimizer: opt }, g.initialTrainState(net, opt))),
  };
};

/** Trains with the stage as an RxJS operator. */
export const trainRx = async (train: g.Dataset, o: AugmentedOptions = augmentedDefaults): Promise<g.TrainState> => {
  const { batches, stage } = plan(train, o);
  return lastValueFrom(from(batches()).pipe(g.rx(stage)));
};

/** Trains with the same stage as an IxJS operator over the pull-based batch source. */
export const trainIx = async (train: g.Dataset, o: AugmentedOptions = augmentedDefaults): Promise<g.TrainState> => {
  const { batches, stage } = plan(train, o);
  let last: g.TrainState | undefined;
  for await (const s of batches().pipe(g.ix(stage))) last = s;
  if (last === undefined) throw new RangeError('trainIx: the dataset produced no batches');
  return last;
};
