/**
 * The optimisers' element-wise updates, one loop per rule so each stays a tight, monomorphic loop. Each
 * writes new parameters (and moments) into buffers the caller just allocated; inputs are never written.
 * g_i is read as clip * g[i] + decay * w[i].
 *
 * Each returns the update's check: NaN when some new parameter, as stored (in float32, so an update that
 * overflows float32 counts), is not finite; otherwise `sumSquares(g)` of the raw gradient. One pass thus
 * updates, measures the gradient norm and checks for divergence.
 */
import type { Float } from '../tensor/matrix.js';

/** Elements per block of the check's sum (`sumSquares`): a multiple of `CHECK_LANES`. */
export const CHECK_BLOCK = 16384;
/** Independent running sums per block of the check. */
export const CHECK_LANES = 8;

/**
 * sum(g[i]^2) in float64, in an order fixed by the length alone, so that a backend can share the blocks out
 * among any number of threads and vectorise each, and still give these bits: the tensor is cut into blocks of
 * CHECK_BLOCK elements; in a block, lane j (0-7) adds the squares of the elements at offsets j, j + 8, j + 16,
 * ... one after the other; the block's sum is ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)); the blocks'
 * sums are added in block order, from 0.
 */
export const sumSquares = (g: Float): number => {
  let total = 0;
  const lanes = new Float64Array(CHECK_LANES);
  for (let start = 0; start < g.length; start += CHECK_BLOCK) {
    const end = Math.min(g.length, start + CHECK_BLOCK);
    lanes.fill(0);
    for (let i = start; i < end; i++) {
      const gi = g[i]!;
      const j = (i - start) & 7;
      lanes[j] = lanes[j]! + gi * gi;
    }
    total += ((lanes[0]! + lanes[4]!) + (lanes[2]! + lanes[6]!)) + ((lanes[1]! + lanes[5]!) + (lanes[3]! + lanes[7]!));
  }
  return total;
};

/** w' = w - lr g into w2; returns the check (see above). */
export const sgdUpdate = (w: Float, g: Float, clip: number, decay: number, lr: number, w2: Float): number => {
  let finite = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    const gi = g[i]!;
    const n = wi - lr * (clip * gi + decay * wi);
    w2[i] = n;
    finite += Math.fround(n) * 0;
  }
  return finite === 0 ? sumSquares(g) : NaN;
};

/** v' = mu v + g, then w' = w - lr v' (or w - lr (g + mu v') with Nesterov) into w2 and v2; returns the check. */
export const momentumUpdate = (w: Float, g: Float, v: Float, clip: number, decay: number, lr: number, mu: number, nesterov: boolean, w2: Float, v2: Float): number => {
  let finite = 0;
  if (nesterov) {
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const raw = g[i]!;
      const gi = clip * raw + decay * wi;
      const vi = mu * v[i]! + gi;
      v2[i] = vi;
      const n = wi - lr * (gi + mu * vi);
      w2[i] = n;
      finite += Math.fround(n) * 0;
    }
  } else {
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const raw = g[i]!;
      const vi = mu * v[i]! + clip * raw + decay * wi;
      v2[i] = vi;
      const n = wi - lr * vi;
      w2[i] = n;
      finite += Math.fround(n) * 0;
    }
  }
  return finite === 0 ? sumSquares(g) : NaN;
};

/** Adam's moments into m2 and s2 and w' = w - lr m^ / (sqrt(s^) + eps) into w2, with c1, c2 the bias corrections; returns the check. */
export const adamUpdate = (
  w: Float, g: Float, m: Float, s: Float, clip: number, decay: number, lr: number,
  b1: number, b2: number, c1: number, c2: number, eps: number, w2: Float, m2: Float, s2: Float,
): number => {
  let finite = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    const raw = g[i]!;
    const gi = clip * raw + decay * wi;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const si = b2 * s[i]! + (1 - b2) * gi * gi;
    m2[i] = mi;
    s2[i] = si;
    const n = wi - (lr * (mi / c1)) / (Math.sqrt(si / c2) + eps);
    w2[i] = n;
    finite += Math.fround(n) * 0;
  }
  return finite === 0 ? sumSquares(g) : NaN;
};
