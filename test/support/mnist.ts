/** The real MNIST files beside the repository (../shared/datasets/mnist), loaded once per test file. */
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { loadMnist, type Dataset } from '../../src/data/dataset.js';

export const MNIST_DIR = fileURLToPath(new URL('../../../shared/datasets/mnist/', import.meta.url));

let cached: Promise<{ train: Dataset; test: Dataset }> | undefined;

export const mnist = (): Promise<{ train: Dataset; test: Dataset }> =>
  (cached ??= loadMnist(MNIST_DIR).then((r) => {
    if (E.isLeft(r)) throw new Error(`MNIST not readable: ${r.left.message}`);
    return r.right;
  }));
