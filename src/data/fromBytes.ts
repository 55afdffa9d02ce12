/**
 * Labelled datasets from IDX bytes already in memory (decompressed), for where there are no files: a page
 * fetches the four MNIST files (see fetchMnist.ts) and gets the same datasets, checked the same way, as
 * `loadMnist` reads from a folder. Touches no file, so it runs in a browser too.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { dataError, type GradpipeError } from '../errors.js';
import type { Dataset } from './layout.js';
import type { Idx } from './idx.js';
import { checkPlausible, DAMAGED, parseIdxHeader } from './idxHeader.js';
import { checkLabels, checkLayout, checkOptions, pairTrainTest, type DatasetOptions } from './layout.js';

/** An IDX file's (decompressed) bytes, and where they came from (for messages). */
export interface NamedBytes {
  readonly where: string;
  readonly bytes: Uint8Array;
}

/** The array in raw IDX bytes, its header checked against their length (the body is copied out). */
export const idxFromBytes = ({ where, bytes }: NamedBytes): E.Either<GradpipeError, Idx> => {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return E.left(dataError(where, 'is gzipped; these bytes must be decompressed first', DAMAGED));
  return pipe(
    parseIdxHeader(bytes, where),
    E.flatMap((h) => checkPlausible(h, { where, size: bytes.length, gzip: false, isize: undefined })),
    E.map((h) => ({ dims: h.dims, data: bytes.slice(h.headerBytes) })),
  );
};

/** An images/labels pair as a dataset, checked as `loadDataset` checks a pair of files. */
export const datasetFromBytes = (images: NamedBytes, labels: NamedBytes, opts: DatasetOptions = {}): E.Either<GradpipeError, Dataset<Uint8Array>> => {
  const checked = checkOptions(opts);
  if (E.isLeft(checked)) return checked;
  const im = idxFromBytes(images);
  if (E.isLeft(im)) return im;
  const lb = idxFromBytes(labels);
  if (E.isLeft(lb)) return lb;
  const layout = checkLayout({ where: images.where, dims: im.right.dims }, { where: labels.where, dims: lb.right.dims }, opts);
  if (E.isLeft(layout)) return layout;
  return E.map((classes: number) => ({ ...layout.right, classes, images: im.right.data, labels: lb.right.data }))(
    checkLabels(lb.right.data, labels.where, opts.classes),
  );
};

/** The four MNIST files' bytes, by role (the keys of `MNIST_FILES`). */
export interface MnistBytes {
  readonly trainImages: NamedBytes;
  readonly trainLabels: NamedBytes;
  readonly testImages: NamedBytes;
  readonly testLabels: NamedBytes;
}

/** The MNIST train and test sets from their files' bytes: what `loadMnist` gives for a folder of the same files. */
export const mnistFromBytes = (files: MnistBytes, opts: DatasetOptions = {}): E.Either<GradpipeError, { train: Dataset<Uint8Array>; test: Dataset<Uint8Array> }> => {
  const train = datasetFromBytes(files.trainImages, files.trainLabels, opts);
  if (E.isLeft(train)) return train;
  const test = datasetFromBytes(files.testImages, files.testLabels, opts);
  if (E.isLeft(test)) return test;
  return pairTrainTest(train.right, test.right, files.trainImages.where, files.testImages.where);
};
