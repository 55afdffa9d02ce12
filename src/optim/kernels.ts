/**
 * The optimisers' element-wise updates, one loop per rule so each stays a tight, monomorphic loop. Each
 * writes new parameters (and moments) into buffers the caller just allocated; inputs are never written.
 * g_i is read as clip * g[i] + decay * w[i].
 *
 * Each returns sum(g[i]^2) over the raw gradient, plus 0 * w'[i] for every new parameter as stored (in float32,
 * so an update that overflows float32 counts as non-finite): finite exactly
 * when the gradient and the new parameters are all finite. One pass thus updates, measures the gradient
 * norm and checks for divergence.
 */
import type { Float } from '../tensor/matrix.js';

/** w' = w - lr g into w2; returns the divergence check (see above). */
export const sgdUpdate = (w: Float, g: Float, clip: number, decay: number, lr: number, w2: Float): number => {
  let check = 0;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    const gi = g[i]!;
    const n = wi - lr * (clip * gi + decay * wi);
    w2[i] = n;
    check += gi * gi + Math.fround(n) * 0;
  }
  return check;
};

/** v' = mu v + g, then w' = w - lr v' (or w - lr (g + mu v') with Nesterov) into w2 and v2; returns the check. */
export const momentumUpdate = (w: Float, g: Float, v: Float, clip: number, decay: number, lr: number, mu: number, nesterov: boolean, w2: Float, v2: Float): number => {
  let check = 0;
  if (nesterov) {
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const raw = g[i]!;
      const gi = clip * raw + decay * wi;
      const vi = mu * v[i]! + gi;
      v2[i] = vi;
      const n = wi - lr * (gi + mu * vi);
      w2[i] = n;
      check += raw * raw + Math.fround(n) * 0;
    }
  } else {
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const raw = g[i]!;
      const vi = mu * v[i]! + clip * raw + decay * wi;
      v2[i] = vi;
      const n = wi - lr * vi;
      w2[i] = n;
      check += raw * raw + Math.fround(n) * 0;
    }
  }
  return check;
};

/** Adam's moments into m2 and s2 and w' = w - lr m^ / (sqrt(s^) + eps) into w2, with c1, c2 the bias corrections; returns the check. */
export const adamUpdate = (
  w: Float, g: Float, m: Float, s: Float, clip: number, decay: number, lr: number,
  b1: number, b2: number, c1: number, c2: number, eps: number, w2: Float, m2: Float, s2: Float,
): number => {
  let check = 0;
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
    check += raw * raw + Math.fround(n) * 0;
  }
  return check;
};
