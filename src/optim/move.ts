/**
 * `move`: one optimiser step as a pure function (network, gradient, state) -> (network', state'), mirroring
 * the Haskell design's `move`. Inputs are never written; the result holds new buffers.
 *
 * With g the (clipped, weight-decayed) gradient and lr > 0:
 *   sgd:      w' = w - lr g
 *   momentum: v' = mu v + g;            w' = w - lr v'
 *   nesterov: v' = mu v + g;            w' = w - lr (g + mu v')
 *   adam:     m' = b1 m + (1-b1) g;  s' = b2 s + (1-b2) g^2;  t' = t + 1
 *             w' = w - lr (m'/(1-b1^t')) / (sqrt(s'/(1-b2^t')) + eps)
 *
 * Laws:
 * - a zero gradient leaves the network unchanged under sgd (and under every optimiser from a fresh state).
 * - sgd is additive: move(g2) after move(g1) = move(g1 + g2) (exact in real arithmetic).
 * - a zero learning rate leaves the network unchanged.
 */
import { matrix, type Float } from '../tensor/matrix.js';
import { gradientNorm, zeroGradient, type Gradient } from '../nn/gradient.js';
import { adamUpdate, momentumUpdate, sgdUpdate } from './kernels.js';
import type { Backend } from '../tensor/backend.js';
import { getBackend } from '../tensor/registry.js';
import type { Network } from '../nn/network.js';
import { freshWorkspace, type Workspace } from '../tensor/workspace.js';
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

/** The result of one `move`: the new network and optimiser state, in new buffers (or `out`'s). */
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
 * The results go to new buffers, or to buffers from `out` (a reusable workspace lets a training loop
 * alternate between buffers it owns; they must not be the inputs' buffers).
 *
 * Laws:
 * - move with a zero gradient (SGD) is the identity
 * - SGD additivity: two steps with g1 then g2 equal one step with g1+g2 (up to float rounding)
 * - a zero learning rate leaves the network unchanged
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
  <F extends Float>(net: Network<F>, gradient: Gradient<F>, state: OptimizerState<F>, lr: number = config.lr, out: Workspace = freshWorkspace): Moved<F> => {
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
    /** Updates one parameter tensor into buffers from `out`; returns [w', first', second']. */
    const update = <T extends Float>(slot: string, w: T, g: T, v: T | undefined, s: T | undefined, decay: number): [T, T | undefined, T | undefined] => {
      const n = w.length;
      const w2 = out.get(slot, w, n);
      if (config.kind === 'sgd') {
        check += k.sgd(w, g, clip, decay, lr, w2);
        return [w2, undefined, undefined];
      }
      const v2 = out.get(`first.${slot}`, w, n);
      if (config.kind === 'adam') {
        const s2 = out.get(`second.${slot}`, w, n);
        check += k.adam(w, g, v!, s!, clip, decay, lr, b1, b2, c1, c2, eps, w2, v2, s2);
        return [w2, v2, s2];
      }
      check += k.momentum(w, g, v!, clip, decay, lr, mu, config.kind === 'nesterov', w2, v2);
      return [w2, v2, undefined];
    };

    const layers = net.layers.map((layer, l) => {
      const g = gradient.layers[l]!;
      const [w, vw, sw] = update(`w${l}`, layer.weight.data, g.weight.data, first?.layers[l]!.weight.data, second?.layers[l]!.weight.data, config.weightDecay);
      const [b, vb, sb] = update(`b${l}`, layer.bias, g.bias, first?.layers[l]!.bias, second?.layers[l]!.bias, 0);
      const shape = (d: F) => matrix(layer.weight.rows, layer.weight.cols, d);
      return {
        layer: { weight: shape(w), bias: b, activation: layer.activation },
        first: vw && vb ? { weight: shape(vw), bias: vb } : undefined,
        second: sw && sb ? { weight: shape(sw), bias: sb } : undefined,
      };
    });
    return {
      network: { layers: layers.map((x) => x.layer) },
      state: {
        step: t,
        first: first ? { layers: layers.map((x) => x.first!) } : undefined,
        second: second ? { layers: layers.map((x) => x.second!) } : undefined,
      },
      gradientSquaredNorm: check,
    };
  };
