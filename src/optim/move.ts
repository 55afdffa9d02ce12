/**
 * `move`: one optimiser step as a pure function (network, gradient, state) -> (network', state'), mirroring
 * the Haskell design's `move`. Inputs are never written; the result holds new buffers, or the buffers the
 * caller passes as `into` (`Params` it owns, see `allocParams`).
 *
 * With g the (clipped, weight-decayed) gradient and lr > 0:
 *   sgd:      w' = w - lr g
 *   momentum: v' = mu v + g;            w' = w - lr v'
 *   nesterov: v' = mu v + g;            w' = w - lr (g + mu v')
 *   adam:     m' = b1 m + (1-b1) g;  s' = b2 s + (1-b2) g^2;  t' = t + 1
 *             w' = w - lr (m'/(1-b1^t')) / (sqrt(s'/(1-b2^t')) + eps)
 *
 * Its laws are stated on `move` below.
 */
import { allocLike, matrix, type Float } from '../tensor/matrix.js';
import { gradientNorm, zeroGradient, type Gradient } from '../nn/gradient.js';
import { adamUpdate, momentumUpdate, sgdUpdate } from './kernels.js';
import type { Backend } from '../tensor/backend.js';
import { getBackend } from '../tensor/registry.js';
import type { Network } from '../nn/network.js';
import type { OptimizerConfig } from './optimizer.js';

/** The optimiser's step count and moments, shaped like the network; a value, like the network. */
export interface OptimizerState<F extends Float = Float32Array> {
  /** Steps taken so far. */
  readonly step: number;
  /** Velocity (momentum, nesterov) or first moment (adam); absent for sgd. */
  readonly first: Gradient<F> | undefined;
  /** Adam's second moment. */
  readonly second: Gradient<F> | undefined;
}

/** The state before the first step. */
export const initialState = <F extends Float>(config: OptimizerConfig, net: Network<F>): OptimizerState<F> => ({
  step: 0,
  first: config.kind === 'sgd' ? undefined : zeroGradient(net),
  second: config.kind === 'adam' ? zeroGradient(net) : undefined,
});

/**
 * Buffers a move writes into: a network and optimiser moments shaped like the ones it moves. Whoever
 * allocates them owns them (a training run allocates two sets and alternates, see trainStep); `move` only
 * writes into them when they are passed as `into`.
 */
export interface Params<F extends Float = Float32Array> {
  readonly network: Network<F>;
  readonly optimizer: OptimizerState<F>;
}

/**
 * New buffers shaped like `net` and the moments `config` keeps (zeroed); float32 ones from `alloc` when given
 * (a backend's `alloc`: buffers its kernels use in place).
 */
export const allocParams = <F extends Float>(config: OptimizerConfig, net: Network<F>, alloc?: (length: number) => Float32Array): Params<F> => {
  const buf = (like: F, n: number): F => (alloc && like instanceof Float32Array ? (alloc(n) as F) : allocLike(like, n));
  const shaped = (): Gradient<F> => ({
    layers: net.layers.map((l) => ({ weight: matrix(l.weight.rows, l.weight.cols, buf(l.weight.data, l.weight.data.length)), bias: buf(l.bias, l.bias.length) })),
  });
  const weights = shaped();
  return {
    network: { layers: net.layers.map((l, i) => ({ weight: weights.layers[i]!.weight, bias: weights.layers[i]!.bias, activation: l.activation })) },
    optimizer: { step: 0, first: config.kind === 'sgd' ? undefined : shaped(), second: config.kind === 'adam' ? shaped() : undefined },
  };
};

/** The result of one `move`: the new network and optimiser state, in new buffers (or `into`'s). */
export interface Moved<F extends Float> {
  readonly network: Network<F>;
  readonly state: OptimizerState<F>;
  /**
   * The squared global norm of the (unclipped) gradient, or NaN when the gradient or any new parameter is
   * not finite: the step's divergence check, computed in the same pass as the update.
   */
  readonly gradientSquaredNorm: number;
}

/**
 * One step. `lr` overrides `config.lr` (for schedules). The gradient's global norm is clipped to
 * `config.clipNorm` first, then weight decay is added to weight gradients. The inputs are never written.
 * The results go to new buffers, or into `into` (buffers the caller owns, shaped by `allocParams`; they must
 * not be the inputs' buffers): the returned network and moments are then `into`'s own arrays.
 *
 * Laws:
 * - move with a zero gradient (SGD) is the identity
 * - SGD additivity: two steps with g1 then g2 equal one step with g1+g2 (up to float rounding)
 * - move at a zero learning rate leaves the network unchanged
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { initialState, initNetwork, move, networksEqual, optimizer, orThrow, scaleGradient, zeroGradient, type Gradient } from 'gradpipe';
 *
 * const net = orThrow(initNetwork({ sizes: [2, 3, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
 * const sgd = orThrow(optimizer({ kind: 'sgd', lr: 0.1 }));
 * const step = move(sgd);
 * const zero = zeroGradient(net);
 * assert.ok(networksEqual(step(net, zero, initialState(sgd, net)).network, net)); // a zero gradient changes nothing
 * // w' = w - lr g: with g = 1 everywhere, every parameter goes down by lr
 * const ones: Gradient = { layers: zero.layers.map((l) => ({ weight: { ...l.weight, data: l.weight.data.map(() => 1) }, bias: l.bias.map(() => 1) })) };
 * const moved = step(net, ones, initialState(sgd, net)).network;
 * assert.ok(Math.abs(moved.layers[0]!.weight.data[0]! - (net.layers[0]!.weight.data[0]! - 0.1)) < 1e-6);
 * assert.ok(networksEqual(step(net, scaleGradient(3, ones), initialState(sgd, net), 0).network, net)); // lr 0
 * ```
 */
export const move =
  (config: OptimizerConfig, backend?: Backend) =>
  <F extends Float>(net: Network<F>, gradient: Gradient<F>, state: OptimizerState<F>, lr: number = config.lr, into?: Params<F>): Moved<F> => {
    const out = into ?? allocParams(config, net);
    const norm = config.clipNorm === undefined ? 0 : gradientNorm(gradient);
    const clip = config.clipNorm !== undefined && norm > config.clipNorm ? config.clipNorm / norm : 1;
    const t = state.step + 1;
    const mu = config.momentum;
    const { beta1: b1, beta2: b2, epsilon: eps } = config;
    const c1 = 1 - Math.pow(b1, t);
    const c2 = 1 - Math.pow(b2, t);
    const first = state.first ?? (config.kind === 'sgd' ? undefined : zeroGradient(net));
    const second = state.second ?? (config.kind === 'adam' ? zeroGradient(net) : undefined);

    let check = 0;
    // float32 parameters use the backend's fused loops when it has them (same bits as the TypeScript ones)
    const fused = net.layers[0]?.weight.data instanceof Float32Array ? (backend ?? getBackend()).optimizerUpdates : undefined;
    const k = (fused ?? { sgd: sgdUpdate, momentum: momentumUpdate, adam: adamUpdate }) as {
      sgd: typeof sgdUpdate;
      momentum: typeof momentumUpdate;
      adam: typeof adamUpdate;
    };
    /** Updates one parameter tensor into `w2` (and the moments into `v2`, `s2`). */
    const update = <T extends Float>(w: T, g: T, v: T | undefined, s: T | undefined, decay: number, w2: T, v2: T | undefined, s2: T | undefined): void => {
      if (config.kind === 'sgd') check += k.sgd(w, g, clip, decay, lr, w2);
      else if (config.kind === 'adam') check += k.adam(w, g, v!, s!, clip, decay, lr, b1, b2, c1, c2, eps, w2, v2!, s2!);
      else check += k.momentum(w, g, v!, clip, decay, lr, mu, config.kind === 'nesterov', w2, v2!);
    };
    const o1 = out.optimizer.first?.layers;
    const o2 = out.optimizer.second?.layers;
    net.layers.forEach((layer, l) => {
      const g = gradient.layers[l]!;
      const to = out.network.layers[l]!;
      update(layer.weight.data, g.weight.data, first?.layers[l]!.weight.data, second?.layers[l]!.weight.data, config.weightDecay, to.weight.data, o1?.[l]!.weight.data, o2?.[l]!.weight.data);
      update(layer.bias, g.bias, first?.layers[l]!.bias, second?.layers[l]!.bias, 0, to.bias, o1?.[l]!.bias, o2?.[l]!.bias);
    });
    return {
      network: out.network,
      state: { step: t, first: out.optimizer.first, second: out.optimizer.second },
      gradientSquaredNorm: check,
    };
  };
