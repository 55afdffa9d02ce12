/**
 * Seeded initialisers. He (normal, std sqrt(2/fan_in)) suits ReLU; Glorot (uniform, limit
 * sqrt(6/(fan_in+fan_out))) suits sigmoid/tanh; both leave biases at zero. Explicit `uniform` and `normal`
 * draw biases from the same distribution as weights, so the original failing configuration (everything from
 * U(0,1)) can be reproduced exactly.
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';
import { matrix } from '../tensor/matrix.js';
import type { Activation } from './activation.js';
import { createNetwork, type Layer, type Network } from './network.js';
import { normal, rng } from './random.js';

/** An initialiser: fan-in-scaled `he` or `glorot`, or explicit `uniform` and `normal` distributions. */
export type Init =
  | { readonly kind: 'he' }
  | { readonly kind: 'glorot' }
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'normal'; readonly std: number };

/** The shape of a network to build: layer sizes and activations. */
export interface NetworkSpec {
  /** Layer sizes, input first: [784, 1000, 10]. */
  readonly sizes: readonly number[];
  /** Activation of every hidden layer. */
  readonly hidden: Activation;
  /** Activation of the output layer. */
  readonly output: Activation;
}

/** Parses `he`, `glorot`, `uniform:LOW,HIGH` or `normal:STD`. */
export const parseInit = (text: string, where = '--init'): E.Either<GradpipeError, Init> => {
  const hint = 'use he, glorot, uniform:LOW,HIGH (e.g. uniform:-0.05,0.05) or normal:STD (e.g. normal:0.01)';
  if (text === 'he' || text === 'glorot') return E.right({ kind: text });
  const m = /^(uniform|normal):(.*)$/.exec(text);
  if (!m) return E.left(optionError(where, `unknown initialiser '${text}'`, hint));
  const nums = m[2]!.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (m[1] === 'uniform') {
    const [low, high] = nums;
    if (nums.length !== 2 || !Number.isFinite(low) || !Number.isFinite(high) || !(low! < high!)) {
      return E.left(optionError(where, `'${text}' needs two finite numbers LOW < HIGH`, hint));
    }
    return E.right({ kind: 'uniform', low: low!, high: high! });
  }
  const [std] = nums;
  if (nums.length !== 1 || !Number.isFinite(std) || !(std! > 0)) {
    return E.left(optionError(where, `'${text}' needs one finite standard deviation above 0`, hint));
  }
  return E.right({ kind: 'normal', std: std! });
};

/** The text form of an initialiser, as `parseInit` reads it. */
export const formatInit = (init: Init): string =>
  init.kind === 'uniform' ? `uniform:${init.low},${init.high}` : init.kind === 'normal' ? `normal:${init.std}` : init.kind;

/**
 * A new network with seeded parameters; the same seed gives the same bits. Bad sizes are a `Left` naming
 * `spec.sizes` (the CLI says `--layers`), not an exception.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import * as E from 'fp-ts/lib/Either.js';
 * import { initNetwork, networksEqual, orThrow, sizes, type NetworkSpec } from 'gradpipe';
 *
 * const spec: NetworkSpec = { sizes: [784, 100, 10], hidden: 'relu', output: 'softmax' };
 * const net = orThrow(initNetwork(spec, { kind: 'he' }, 42));
 * assert.deepEqual(sizes(net), [784, 100, 10]);
 * assert.ok(networksEqual(net, orThrow(initNetwork(spec, { kind: 'he' }, 42)))); // same seed, same bits
 * assert.ok(E.isLeft(initNetwork({ ...spec, sizes: [784] }, { kind: 'he' }, 42)));
 * ```
 */
export const initNetwork = (spec: NetworkSpec, init: Init, seed: number): E.Either<GradpipeError, Network> => {
  if (spec.sizes.length < 2) {
    return E.left(optionError('spec.sizes', `needs at least two sizes, got ${spec.sizes.length}`, 'write sizes like 784-1000-10'));
  }
  const bad = spec.sizes.findIndex((s) => !Number.isInteger(s) || s < 1);
  if (bad >= 0) {
    return E.left(optionError('spec.sizes', `size ${bad} is ${spec.sizes[bad]}, not a positive whole number`, 'write sizes like 784-1000-10'));
  }
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < spec.sizes.length; i++) {
    const fanIn = spec.sizes[i]!;
    const fanOut = spec.sizes[i + 1]!;
    const r = rng(seed, 'init', i);
    const w = new Float32Array(fanIn * fanOut);
    const b = new Float32Array(fanOut);
    switch (init.kind) {
      case 'he': {
        const n = normal(r);
        const std = Math.sqrt(2 / fanIn);
        for (let k = 0; k < w.length; k++) w[k] = n() * std;
        break;
      }
      case 'glorot': {
        const lim = Math.sqrt(6 / (fanIn + fanOut));
        for (let k = 0; k < w.length; k++) w[k] = (2 * r() - 1) * lim;
        break;
      }
      case 'uniform':
        for (let k = 0; k < w.length; k++) w[k] = init.low + (init.high - init.low) * r();
        for (let k = 0; k < b.length; k++) b[k] = init.low + (init.high - init.low) * r();
        break;
      case 'normal': {
        const n = normal(r);
        for (let k = 0; k < w.length; k++) w[k] = n() * init.std;
        for (let k = 0; k < b.length; k++) b[k] = n() * init.std;
        break;
      }
    }
    const last = i + 2 === spec.sizes.length;
    layers.push({ weight: matrix(fanOut, fanIn, w), bias: b, activation: last ? spec.output : spec.hidden });
  }
  return createNetwork(layers);
};
