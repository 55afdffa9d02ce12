/**
 * Reductions over whole buffers, written as plain indexed loops (the JIT turns them into tight machine
 * code; `for...of` over typed arrays is several times slower). NaN propagates: a non-finite entry makes
 * `sumSquares` and `maxAbs` non-finite, which is how one pass doubles as a finiteness check.
 */
import type { Float } from './matrix.js';

export const sumSquares = (x: Float): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    s += v * v;
  }
  return s;
};

/** Largest |x| (NaN if any entry is NaN). */
export const maxAbs = (x: Float): number => {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (!(a <= m)) m = a;
  }
  return m;
};

/**
 * Largest |x| (NaN if any entry is NaN) and smallest nonzero |x| (Infinity when all are zero), in one pass:
 * written into `out` as [max, minNonzero].
 */
export const absRange = (x: Float, out: Float64Array): Float64Array => {
  let max = 0;
  let min = Infinity;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (!(a <= max)) max = a;
    if (a < min && a !== 0) min = a;
  }
  out[0] = max;
  out[1] = min;
  return out;
};

/** Smallest nonzero |x| (Infinity when all are zero). */
export const minAbsNonzero = (x: Float): number => {
  let m = Infinity;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a !== 0 && a < m) m = a;
  }
  return m;
};
