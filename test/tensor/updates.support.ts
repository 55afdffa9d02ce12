/** One optimiser-update case, and applying it with a backend's fused updates: shared by the native and wasm tests. */
import type { OptimizerUpdates } from '../../src/tensor/backend.js';

export interface UpdateCase {
  readonly rule: 'sgd' | 'momentum' | 'nesterov' | 'adam';
  readonly w: Float32Array;
  readonly g: Float32Array;
  readonly v: Float32Array;
  readonly s: Float32Array;
  readonly clip: number;
  readonly decay: number;
  readonly lr: number;
  readonly mu: number;
  readonly b1: number;
  readonly b2: number;
  readonly t: number;
  readonly eps: number;
}

/** Applies the case's rule with `k` to fresh output buffers; returns the check and the new values. */
export const applyUpdate = (k: OptimizerUpdates, c: UpdateCase) => {
  const n = c.w.length;
  const [w2, v2, s2] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const check =
    c.rule === 'sgd'
      ? k.sgd(c.w, c.g, c.clip, c.decay, c.lr, w2)
      : c.rule === 'adam'
        ? k.adam(c.w, c.g, c.v, c.s, c.clip, c.decay, c.lr, c.b1, c.b2, 1 - c.b1 ** c.t, 1 - c.b2 ** c.t, c.eps, w2, v2, s2)
        : k.momentum(c.w, c.g, c.v, c.clip, c.decay, c.lr, c.mu, c.rule === 'nesterov', w2, v2);
  return { check, w2, v2, s2 };
};
