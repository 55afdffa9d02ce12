/**
 * The optimisers' element-wise updates, one loop per rule so each stays a tight, monomorphic loop. Each
 * writes new parameters (and moments) into buffers the caller just allocated; inputs are never written.
 * g_i is read as clip * g[i] + decay * w[i].
 */
import type { Float } from '../tensor/matrix.js';

export const sgdUpdate = (w: Float, g: Float, clip: number, decay: number, lr: number, w2: Float): void => {
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    w2[i] = wi - lr * (clip * g[i]! + decay * wi);
  }
};

export const momentumUpdate = (w: Float, g: Float, v: Float, clip: number, decay: number, lr: number, mu: number, nesterov: boolean, w2: Float, v2: Float): void => {
  if (nesterov) {
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = clip * g[i]! + decay * wi;
      const vi = mu * v[i]! + gi;
      v2[i] = vi;
      w2[i] = wi - lr * (gi + mu * vi);
    }
  } else {
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const vi = mu * v[i]! + clip * g[i]! + decay * wi;
      v2[i] = vi;
      w2[i] = wi - lr * vi;
    }
  }
};

export const adamUpdate = (
  w: Float, g: Float, m: Float, s: Float, clip: number, decay: number, lr: number,
  b1: number, b2: number, c1: number, c2: number, eps: number, w2: Float, m2: Float, s2: Float,
): void => {
  for (let i = 0; i < w.length; i++) {
    const wi = w[i]!;
    const gi = clip * g[i]! + decay * wi;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const si = b2 * s[i]! + (1 - b2) * gi * gi;
    m2[i] = mi;
    s2[i] = si;
    w2[i] = wi - (lr * (mi / c1)) / (Math.sqrt(si / c2) + eps);
  }
};
