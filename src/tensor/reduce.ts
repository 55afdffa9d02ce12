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
    if (a > m || a !== a) m = a; // a NaN, once seen, stays
  }
  return m;
};

/**
 * Largest |x| (NaN if any entry is NaN) and smallest nonzero |x| (Infinity when all are zero), in one pass:
 * written into `out` as [max, minNonzero].
 */
export const absRange = (x: Float, out: Float64Array): Float64Array => {
  if (x instanceof Float32Array) return absRange32(x, out);
  let max = 0;
  let min = Infinity;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a > max || a !== a) max = a;
    if (a < min && a !== 0) min = a;
  }
  out[0] = max;
  out[1] = min;
  return out;
};

const one = new Float32Array(1);
const oneBits = new Int32Array(one.buffer);
const INF_BITS = 0x7f800000;

/**
 * absRange of float32 values on their bit patterns, without branches: for non-negative floats the order of
 * the bits (sign cleared) is the order of the values, NaNs sorting above Infinity; `(m - 1) & 0x7fffffff`
 * sends 0 to the largest pattern, so the smallest of it is the smallest nonzero magnitude. About 5x faster
 * than the float loop on ReLU outputs, whose zeros make that loop's branches unpredictable.
 */
const absRange32 = (x: Float32Array, out: Float64Array): Float64Array => {
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  let max = 0;
  let min = 0x7fffffff;
  for (let i = 0; i < bits.length; i++) {
    const m = bits[i]! & 0x7fffffff;
    max = Math.max(max, m);
    min = Math.min(min, (m - 1) & 0x7fffffff);
  }
  return rangeFromBits(max, min, out);
};

/**
 * The range absRange32 writes, from the two bit patterns its scan ends with (the largest |bits|, the smallest
 * (|bits| - 1) & 0x7fffffff): shared by every scan on bit patterns (the wasm kernel's too), so all convert alike.
 */
export const rangeFromBits = (max: number, min: number, out: Float64Array): Float64Array => {
  oneBits[0] = max;
  out[0] = max > INF_BITS ? NaN : one[0]!;
  oneBits[0] = min + 1;
  out[1] = min + 1 >= INF_BITS ? Infinity : one[0]!;
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
