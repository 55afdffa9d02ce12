/**
 * Training on any dataset in the MNIST layout: a 3-D IDX file of uint8 images (count, rows, cols) and a 1-D
 * IDX file of labels, raw or gzipped. Nothing here assumes 28x28 images or ten classes: the network's input
 * is rows * cols and its output the number of classes the training labels use. The test set is checked
 * against the training set (same image size, labels within its classes) before training starts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { from, lastValueFrom } from 'rxjs';
import * as g from '../../src/index.js';

export interface IdxFiles {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages: string;
  readonly testLabels: string;
}

export interface IdxOptions {
  readonly hidden: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
}

export const idxDefaults: IdxOptions = { hidden: 32, epochs: 5, batchSize: 16, seed: 1 };

/** Loads the two IDX pairs, trains a one-hidden-layer network and evaluates it on the test pair. */
export const trainOnIdx = async (files: IdxFiles, o: IdxOptions = idxDefaults): Promise<E.Either<g.GradpipeError, { network: g.Network; test: g.Evaluation }>> => {
  const train = await g.loadDataset(files.trainImages, files.trainLabels);
  if (E.isLeft(train)) return train;
  const { rows, cols, classes } = train.right;
  const test = await g.loadDataset(files.testImages, files.testLabels, { classes, expectRows: rows, expectCols: cols });
  if (E.isLeft(test)) return test;

  const net = g.initNetwork({ sizes: [rows * cols, o.hidden, classes], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, o.seed);
  if (E.isLeft(net)) return net;
  const opt = g.orThrow(g.optimizer({ kind: 'adam', lr: 0.01 }));
  const { state: last } = await lastValueFrom(
    from(g.epochBatches({ dataset: train.right, seed: o.seed, batchSize: o.batchSize, epochs: o.epochs })).pipe(
      g.rx(g.trainStep({ loss: 'cross-entropy', optimizer: opt }, g.initialTrainState(net.right, opt))),
      g.rx(g.stopWhen(g.anyOf(g.diverged, g.maxEpochs(o.epochs)))),
    ),
  );
  return E.right({ network: last.network, test: g.evaluate(last.network, test.right, { loss: 'cross-entropy' }) });
};
