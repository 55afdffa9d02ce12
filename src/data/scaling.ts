/**
 * How a dataset's raw inputs become the network's inputs, recorded so that `predict` and a saved model
 * apply the same: `pixels/255` (uint8 images, the MNIST layout), `none` (features used as given), or
 * `standardize` ((x - mean) / std per feature, with the mean and std of the training data).
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';

export type InputScaling =
  | { readonly kind: 'pixels/255' }
  | { readonly kind: 'none' }
  | { readonly kind: 'standardize'; readonly mean: Float32Array; readonly std: Float32Array };

export const PIXELS: InputScaling = { kind: 'pixels/255' };
export const NO_SCALING: InputScaling = { kind: 'none' };

/** Features a scaling was made for (undefined: any). */
export const scalingWidth = (s: InputScaling): number | undefined => (s.kind === 'standardize' ? s.mean.length : undefined);

/**
 * `raw` scaled into `out` at `offset`; `where` names the caller's field in the error (e.g. `inputs[2]`).
 * Left when the row has another length than the scaling (or `width`) expects, or holds a non-finite value.
 */
export const scaleRow = (
  s: InputScaling,
  raw: ArrayLike<number>,
  width: number,
  out: Float32Array,
  offset: number,
  where: string,
): E.Either<GradpipeError, void> => {
  if (raw.length !== width) {
    return E.left(optionError(where, `has ${raw.length} values, expected ${width}`, `give every row ${width} values (the network's input size)`));
  }
  for (let j = 0; j < width; j++) {
    const v = raw[j]!;
    if (!Number.isFinite(v)) return E.left(optionError(`${where}[${j}]`, `${v} is not a finite number`, 'remove or impute the value'));
    out[offset + j] =
      s.kind === 'pixels/255' ? v / 255 : s.kind === 'none' ? v : (v - s.mean[j]!) / s.std[j]!;
  }
  return E.right(undefined);
};

const MIN_NORMAL_F32 = 2 ** -126;

/**
 * The scaling that standardises `rows` (each `width` values): per feature, the mean and the standard
 * deviation (population, in float64); a constant feature (std below float32's smallest normal) gets std 1, so it maps to about 0, never NaN.
 */
export const standardizeFor = (rows: readonly ArrayLike<number>[], width: number): InputScaling => {
  const mean = new Float64Array(width);
  const sq = new Float64Array(width);
  for (const r of rows) for (let j = 0; j < width; j++) mean[j]! += r[j]!;
  for (let j = 0; j < width; j++) mean[j] = mean[j]! / Math.max(rows.length, 1);
  for (const r of rows) for (let j = 0; j < width; j++) sq[j]! += (r[j]! - mean[j]!) ** 2;
  const std = sq.map((s) => Math.sqrt(s / Math.max(rows.length, 1)));
  return { kind: 'standardize', mean: Float32Array.from(mean), std: Float32Array.from(std, (s) => (s >= MIN_NORMAL_F32 ? s : 1)) };
};
