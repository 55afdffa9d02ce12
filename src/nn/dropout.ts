/**
 * Inverted dropout on hidden layers (Srivastava et al. 2014): in training, each hidden unit of each example
 * is kept with probability 1 - p and then scaled by 1 / (1 - p), so the expected input of the next layer is
 * unchanged and evaluation uses the whole network as it is. A mask is a buffer of per-(example, unit)
 * factors, 0 or 1 / (1 - p); the masks of a step are drawn from (seed, step) alone, so a run draws the same
 * masks whatever its thread count, and a resumed run the same as an uninterrupted one.
 *
 * Laws:
 * - p = 0 is the identity
 * - evaluation ignores it
 * - expectation preserved: each mask factor has mean 1
 */
import type { Float } from '../tensor/matrix.js';
import { freshWorkspace, type Workspace } from '../tensor/workspace.js';
import type { Network } from './network.js';
import { keyedRng } from './random.js';

/** Dropout as a training option: the rate p in [0, 1) on every hidden layer, and the seed of its masks. */
export interface Dropout {
  readonly rate: number;
  readonly seed: number;
}

/** The dropout of one training step: the masks are drawn from (seed, step). */
export interface DropoutStep extends Dropout {
  readonly step: number;
}

/** One mask per layer: masks[l] scales the outputs of hidden layer l (rows x units); undefined where none. */
export type DropoutMasks<F extends Float> = readonly (F | undefined)[];

/**
 * The masks of step `d.step` for a batch of `rows` examples through `net`: per hidden layer a rows x units
 * buffer of factors 0 (dropped, probability p) or 1 / (1 - p); none at all when p = 0.
 *
 * (The module's laws hold: a rate of 0 draws no masks; each factor has mean 1.)
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { dropoutMasks, initNetwork, orThrow } from 'gradpipe';
 *
 * const net = orThrow(initNetwork({ sizes: [4, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
 * const [mask] = dropoutMasks(new Float32Array(0), net, 2, { rate: 0.2, seed: 1, step: 0 });
 * assert.equal(mask!.length, 2 * 1000);
 * assert.ok(mask!.every((f) => f === 0 || f === Math.fround(1 / 0.8)));
 * const mean = mask!.reduce((s, f) => s + f, 0) / mask!.length;
 * assert.ok(Math.abs(mean - 1) < 0.1); // expectation preserved
 * assert.deepEqual(dropoutMasks(new Float32Array(0), net, 2, { rate: 0, seed: 1, step: 0 }), []); // p = 0: no masks
 * ```
 */
export const dropoutMasks = <F extends Float>(like: F, net: Network<Float>, rows: number, d: DropoutStep, ws: Workspace = freshWorkspace): DropoutMasks<F> => {
  if (!(d.rate >= 0 && d.rate < 1)) throw new RangeError(`dropout: the rate must lie in [0, 1), got ${d.rate}`);
  if (d.rate === 0) return [];
  const keep = 1 - d.rate;
  const scale = 1 / keep;
  const r = keyedRng(d.seed, d.step);
  return net.layers.slice(0, -1).map((layer, l) => {
    const m = ws.get(`mask${l}`, like, rows * layer.weight.rows);
    for (let i = 0; i < m.length; i++) m[i] = r() < keep ? scale : 0;
    return m;
  });
};
