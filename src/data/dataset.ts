/**
 * Labelled image datasets in the MNIST layout: a 3-D uint8 IDX file of images (count, rows, cols) and a
 * 1-D uint8 IDX file of labels (count). The headers of both files are checked against each other and
 * against the caller's expectations before either body is read.
 */
import type { InputScaling } from './scaling.js';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, optionError, type GradpipeError } from '../errors.js';
import { openIdx, readBody, type IdxStream } from './idx.js';
import { findMnistFile, MNIST_FILES, mnistCandidates } from './mnistFiles.js';

/**
 * A labelled dataset in memory: uint8 images in the MNIST layout (row-major pixels, scaled by 1/255 when
 * batched), or float features (rows = 1, cols = features, already scaled; see `floatDataset`).
 */
/** What a dataset's examples hold: uint8 pixels or float32 features. */
export type Inputs = Uint8Array | Float32Array;

export interface Dataset<I extends Inputs = Inputs> {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** Labels lie in 0..classes-1. */
  readonly classes: number;
  /** count*rows*cols values, row-major per example: uint8 pixels, or float32 features already scaled. */
  readonly images: I;
  /**
   * How raw inputs were turned into the network's (for `predict` and saved models); absent means
   * `pixels/255` (uint8 images). See `scalingOf`.
   */
  readonly scaling?: InputScaling;
  /** count labels. */
  readonly labels: Uint8Array;
}

/** What `loadDataset` checks beyond the files' agreement with each other. */
export interface DatasetOptions {
  /** Enforced when given (2..256); otherwise the largest label + 1, at least 2. */
  readonly classes?: number;
  /** The network input the images must fit: expectRows*expectCols pixels. */
  readonly expectRows?: number;
  readonly expectCols?: number;
}

export interface Layout {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

const checkOptions = (opts: DatasetOptions): E.Either<GradpipeError, DatasetOptions> => {
  const { classes, expectRows, expectCols } = opts;
  if (classes !== undefined && !(Number.isInteger(classes) && classes >= 2 && classes <= 256)) {
    return E.left(optionError('classes', `${classes} is not a class count (uint8 labels allow 2 to 256)`, 'pass an integer from 2 to 256'));
  }
  for (const [name, v] of [['expectRows', expectRows], ['expectCols', expectCols]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) return E.left(optionError(name, `${v} is not a positive integer`, 'pass the image size the network expects'));
  }
  if ((expectRows === undefined) !== (expectCols === undefined)) {
    return E.left(optionError('expectRows', 'expectRows and expectCols must be given together', 'pass both, or neither'));
  }
  return E.right(opts);
};

/** Checks an images/labels header pair: 3-D images, 1-D labels, same non-zero count, fitting images. */
export const checkLayout = (
  images: { readonly where: string; readonly dims: readonly number[] },
  labels: { readonly where: string; readonly dims: readonly number[] },
  opts: DatasetOptions = {},
): E.Either<GradpipeError, Layout> => {
  const swap = 'pass the images file (…-images-idx3-ubyte) first and the labels file (…-labels-idx1-ubyte) second';
  const [count, rows, cols] = images.dims;
  if (images.dims.length !== 3 || count === undefined || rows === undefined || cols === undefined) {
    return E.left(dataError(images.where, `expected images (3-D IDX: count, rows, cols), found ${images.dims.length}-D data of ${images.dims.join('x')}`, swap));
  }
  const [labelCount] = labels.dims;
  if (labels.dims.length !== 1 || labelCount === undefined) {
    return E.left(dataError(labels.where, `expected labels (1-D IDX: count), found ${labels.dims.length}-D data of ${labels.dims.join('x')}`, swap));
  }
  if (count !== labelCount) {
    return E.left(dataError(images.where, `has ${count} images but ${labels.where} has ${labelCount} labels`, 'pair each images file with its own labels file (train with train, t10k with t10k)'));
  }
  if (count === 0) return E.left(dataError(images.where, 'holds no examples', 'use a non-empty dataset'));
  if (rows * cols === 0) return E.left(dataError(images.where, `images of ${rows}x${cols} pixels are empty`, 'use images with at least one pixel'));
  const { expectRows, expectCols } = opts;
  if (expectRows !== undefined && expectCols !== undefined && rows * cols !== expectRows * expectCols) {
    return E.left(
      dataError(images.where, `images are ${rows}x${cols} = ${rows * cols} pixels but the network input expects ${expectRows}x${expectCols} = ${expectRows * expectCols}`, 'use data of the size the network was built for, or build the network for this size'),
    );
  }
  return E.right({ count, rows, cols });
};

/** The class count for `labels`: `classes` enforced if given, else the largest label + 1 (at least 2). */
export const checkLabels = (labels: Uint8Array, where: string, classes: number | undefined): E.Either<GradpipeError, number> => {
  let max = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (classes !== undefined && v >= classes) {
      return E.left(dataError(where, `label ${v} at index ${i} is outside 0..${classes - 1} (${classes} classes)`, `fix the labels file, or give the network ${v + 1} or more outputs (the last size of --layers)`));
    }
    if (v > max) max = v;
  }
  return E.right(classes ?? Math.max(max + 1, 2));
};

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
  const [a, b] = [train.right, test.right];
  if (a.rows !== b.rows || a.cols !== b.cols) {
    return E.left(dataError(testImages, `test images are ${b.rows}x${b.cols} but training images (${trainImages}) are ${a.rows}x${a.cols}`, 'use train and test files from the same dataset'));
  }
  const classes = Math.max(a.classes, b.classes);
  return E.right({ train: { ...a, classes }, test: { ...b, classes } });
};
