/**
 * Labelled image datasets in the MNIST layout: a 3-D uint8 IDX file of images (count, rows, cols) and a
 * 1-D uint8 IDX file of labels (count). The headers of both files are checked against each other and
 * against the caller's expectations before either body is read.
 */
import * as E from 'fp-ts/lib/Either.js';
import { dataError, type GradpipeError } from '../errors.js';
import { openIdx, readBody, type IdxStream } from './idx.js';
import { checkLabels, checkLayout, checkOptions, pairTrainTest, type Dataset, type DatasetOptions, type Layout } from './layout.js';
import { findMnistFile, MNIST_FILES, mnistCandidates } from './mnistFiles.js';

// the type and its checks are in layout.ts, which runs in a browser too (this file reads files)
export { checkLabels, checkLayout, pairTrainTest, type Dataset, type DatasetOptions, type Inputs, type Layout } from './layout.js';

/** Both files opened, their headers checked against each other; the caller reads or closes the bodies. */
export interface OpenPair {
  readonly images: IdxStream;
  readonly labels: IdxStream;
  readonly layout: Layout;
}

/** Opens an images/labels pair and checks the headers (`checkLayout`) before any body is read. */
export const openPair = async (imagesFile: string, labelsFile: string, opts: DatasetOptions = {}): Promise<E.Either<GradpipeError, OpenPair>> => {
  const checked = checkOptions(opts);
  if (E.isLeft(checked)) return checked;
  const [images, labels] = await Promise.all([openIdx(imagesFile), openIdx(labelsFile)]);
  const closeAll = async (): Promise<void> => {
    if (E.isRight(images)) await images.right.close();
    if (E.isRight(labels)) await labels.right.close();
  };
  if (E.isLeft(images) || E.isLeft(labels)) {
    await closeAll();
    return E.isLeft(images) ? images : (labels as E.Left<GradpipeError>);
  }
  const layout = checkLayout({ where: imagesFile, dims: images.right.header.dims }, { where: labelsFile, dims: labels.right.header.dims }, opts);
  if (E.isLeft(layout)) {
    await closeAll();
    return layout;
  }
  return E.right({ images: images.right, labels: labels.right, layout: layout.right });
};

/**
 * Loads an images file and a labels file (each gzipped or raw) into memory, checking that the counts
 * match, that the labels lie in 0..classes-1 and that the images fit `expectRows`x`expectCols`.
 */
export const loadDataset = async (imagesFile: string, labelsFile: string, opts: DatasetOptions = {}): Promise<E.Either<GradpipeError, Dataset<Uint8Array>>> => {
  const pair = await openPair(imagesFile, labelsFile, opts);
  if (E.isLeft(pair)) return pair;
  const { images, labels, layout } = pair.right;
  const [imageBytes, labelBytes] = await Promise.all([readBody(images), readBody(labels)]);
  if (E.isLeft(imageBytes)) return imageBytes;
  if (E.isLeft(labelBytes)) return labelBytes;
  return E.map((classes: number) => ({ ...layout, classes, images: imageBytes.right, labels: labelBytes.right }))(
    checkLabels(labelBytes.right, labelsFile, opts.classes),
  );
};

/**
 * Loads the MNIST layout in `dir` (the four standard files, each `.gz` or raw): train and test sets of
 * the same image size, sharing one class count (`opts.classes`, else the larger of the two derived).
 */
export const loadMnist = async (dir: string, opts: DatasetOptions = {}): Promise<E.Either<GradpipeError, { train: Dataset<Uint8Array>; test: Dataset<Uint8Array> }>> => {
  const files: string[] = [];
  for (const name of Object.values(MNIST_FILES)) {
    const found = findMnistFile(dir, name);
    if (found === undefined) {
      return E.left(dataError(mnistCandidates(dir, name).join(' or '), 'not found', `fetch MNIST with gradpipe download, or pass --data DIR for a folder holding the four IDX files`));
    }
    files.push(found);
  }
  const [trainImages, trainLabels, testImages, testLabels] = files as [string, string, string, string];
  const [train, test] = await Promise.all([loadDataset(trainImages, trainLabels, opts), loadDataset(testImages, testLabels, opts)]);
  if (E.isLeft(train)) return train;
  if (E.isLeft(test)) return test;
  return pairTrainTest(train.right, test.right, trainImages, testImages);
};
