/**
 * Datasets of any numeric data: float feature rows with integer labels, for the same stages as the image
 * datasets (shuffle, batch, train, evaluate). Features are scaled once, here, as `scaling` says; the
 * dataset records the scaling so that `predict` and `saveModel` apply and keep the same.
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { NO_SCALING, PIXELS, scaleRow, scalingWidth, standardizeFor, type InputScaling } from './scaling.js';

export interface FloatDatasetInput {
  /** One row of numbers per example (`Float32Array`s or arrays), all of the same length. */
  readonly features: readonly ArrayLike<number>[];
  /** One label per example, an integer from 0 to classes - 1. */
  readonly labels: ArrayLike<number>;
  /** The class count, 2 to 256 (default: the largest label + 1, at least 2). */
  readonly classes?: number;
  /**
   * `none` (default): features as given; `standardize`: (x - mean) / std per feature over these rows; or
   * a dataset's own `scaling` (a test set scaled like its training set: pass `train.scaling`).
   */
  readonly scaling?: 'none' | 'standardize' | InputScaling;
}

const resolveScaling = (
  s: FloatDatasetInput['scaling'],
  rows: readonly ArrayLike<number>[],
  width: number,
): E.Either<GradpipeError, InputScaling> => {
  if (s === undefined || s === 'none') return E.right(NO_SCALING);
  if (s === 'standardize') return E.right(standardizeFor(rows, width));
  if (typeof s !== 'object' || !['none', 'standardize', 'pixels/255'].includes(s.kind)) {
    return E.left(optionError('scaling', `${JSON.stringify(s)} is not a scaling`, "pass 'none', 'standardize' or another dataset's scaling"));
  }
  const w = scalingWidth(s);
  if (w !== undefined && w !== width) {
    return E.left(optionError('scaling', `was made for ${w} features, the rows have ${width}`, 'pass the scaling of a dataset with the same features'));
  }
  return E.right(s);
};

/**
 * A dataset of `features` rows with `labels`: rows = 1, cols = the row length, images = the scaled
 * features (float32). `Left` naming the field (`features[3]`, `labels[5]`, `classes`, `scaling`) when the
 * rows differ in length, a value is not finite, a label is not a class, or the counts differ.
 */
export const floatDataset = (input: FloatDatasetInput): E.Either<GradpipeError, Dataset> => {
  const { features, labels, classes } = input;
  const count = features.length;
  if (count === 0) return E.left(optionError('features', 'holds no rows', 'give at least one example'));
  if (labels.length !== count) {
    return E.left(optionError('labels', `has ${labels.length} labels for ${count} feature rows`, 'give one label per row of features'));
  }
  if (classes !== undefined && !(Number.isInteger(classes) && classes >= 2 && classes <= 256)) {
    return E.left(optionError('classes', `${classes} is not a class count`, 'pass an integer from 2 to 256'));
  }
  const width = features[0]!.length;
  if (width === 0) return E.left(optionError('features[0]', 'is empty', 'give every row at least one value'));
  const out = new Uint8Array(count);
  let max = 0;
  for (let i = 0; i < count; i++) {
    const l = labels[i]!;
    const limit = classes ?? 256;
    if (!Number.isInteger(l) || l < 0 || l >= limit) {
      return E.left(
        optionError(`labels[${i}]`, `${l} is not a class from 0 to ${limit - 1}`, classes === undefined ? 'use integer labels from 0' : `use labels below ${classes}, or pass classes: ${Number.isInteger(l) && l > 0 ? l + 1 : 'more'}`),
      );
    }
    out[i] = l;
    max = Math.max(max, l);
  }
  const rowsOk = features.findIndex((r) => r.length !== width);
  if (rowsOk >= 0) {
    return E.left(optionError(`features[${rowsOk}]`, `has ${features[rowsOk]!.length} values, features[0] has ${width}`, 'give every row the same number of values'));
  }
  const scaling = resolveScaling(input.scaling, features, width);
  if (E.isLeft(scaling)) return scaling;
  const images = new Float32Array(count * width);
  for (let i = 0; i < count; i++) {
    const r = scaleRow(scaling.right, features[i]!, width, images, i * width, `features[${i}]`);
    if (E.isLeft(r)) return r;
  }
  return E.right({ count, rows: 1, cols: width, classes: classes ?? Math.max(max + 1, 2), images, labels: out, scaling: scaling.right });
};

/** The scaling a dataset's inputs went through: its own, else `pixels/255` for uint8 images, `none` for floats. */
export const scalingOf = (ds: Pick<Dataset, 'images' | 'scaling'>): InputScaling =>
  ds.scaling ?? (ds.images instanceof Uint8Array ? PIXELS : NO_SCALING);
