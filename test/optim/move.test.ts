import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { addGradients, zeroGradient, type Gradient } from '../../src/nn/gradient.js';
import { grad } from '../../src/nn/grad.js';
import { networksEqual, toFloat64, type Network } from '../../src/nn/network.js';
import { initialState, move } from '../../src/optim/move.js';
import { optimizer, OPTIMIZERS, type OptimizerConfig } from '../../src/optim/optimizer.js';
import { matrix, toFloat64 as m64 } from '../../src/tensor/matrix.js';
import { arbCase, arbGradientOf, unwrap } from '../arb/network.js';

const gradOf = arbCase({ maxBatch: 4 }).map(({ net, loss, batch }) => {
  const n = toFloat64(net);
  return { n, g: grad(loss)(n, { inputs: m64(batch.inputs), targets: m64(batch.targets) }).gradient };
});
const params = (n: Network<Float64Array>) => n.layers.flatMap((l) => [...l.weight.data, ...l.bias]);
const cfg = (c: Partial<OptimizerConfig>): OptimizerConfig => unwrap(optimizer(c));

describe('move', () => {
  test.prop([gradOf, fc.double({ min: 0.001, max: 1, noNaN: true })], { numRuns: 100 })(
    'move with a zero gradient (SGD) is the identity',
    ({ n }, lr) => {
      const c = cfg({ kind: 'sgd', lr });
      const out = move(c)(n, zeroGradient(n), initialState(c, n));
      expect(networksEqual(out.network, n)).toBe(true);
    },
  );

  test.prop([gradOf, fc.constantFrom(...OPTIMIZERS)], { numRuns: 100 })(
    'move at a zero learning rate leaves the network unchanged',
    ({ n, g }, kind) => {
      const c = cfg({ kind, lr: 0 });
      expect(networksEqual(move(c)(n, g, initialState(c, n)).network, n)).toBe(true);
    },
  );

  test.prop([gradOf.chain(({ n, g }) => arbGradientOf(n).map((g2) => ({ n, g, g2 }))), fc.double({ min: 0.001, max: 1, noNaN: true })], { numRuns: 100 })(
    'SGD additivity: two steps with g1 then g2 equal one step with g1+g2 (up to float rounding)',
    ({ n, g, g2 }, lr) => {
      const c = cfg({ kind: 'sgd', lr });
      const st = initialState(c, n);
      const twice = move(c)(move(c)(n, g, st).network, g2, st).network;
      const once = move(c)(n, addGradients(g, g2), st).network;
      const a = params(twice);
      params(once).forEach((v, i) => expect(a[i]).toBeCloseTo(v, 10));
    },
  );

  test.prop([gradOf, fc.constantFrom(...OPTIMIZERS)], { numRuns: 100 })('move never writes into its inputs', ({ n, g }, kind) => {
    const before = params(n);
    const gBefore = g.layers.flatMap((l) => [...l.weight.data]);
    const c = cfg({ kind, lr: 0.1, weightDecay: 0.01, clipNorm: 1 });
    move(c)(n, g, initialState(c, n));
    expect(params(n)).toEqual(before);
    expect(g.layers.flatMap((l) => [...l.weight.data])).toEqual(gBefore);
  });

  it('Adam matches a hand-derived two-step case', () => {
    // One weight w = 1, bias b = 0; gradients gw = 0.5 then -0.25, gb = 0.
    // Step 1: m = 0.05, v = 0.00025 -> m^ = 0.5, v^ = 0.25 -> w = 1 - 0.1 * 0.5 / (0.5 + 1e-8)
    // Step 2: m = 0.9*0.05 + 0.1*(-0.25) = 0.02, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
    //         m^ = 0.02/0.19, v^ = 0.00031225/0.001999 -> w -= 0.1 * m^ / (sqrt(v^) + 1e-8)
    const c = cfg({ kind: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const net: Network<Float64Array> = { layers: [{ weight: matrix(1, 1, new Float64Array([1])), bias: new Float64Array([0]), activation: 'identity' }] };
    const g = (x: number): Gradient<Float64Array> => ({ layers: [{ weight: matrix(1, 1, new Float64Array([x])), bias: new Float64Array([0]) }] });
    const s1 = move(c)(net, g(0.5), initialState(c, net));
    const w1 = 1 - (0.1 * 0.5) / (0.5 + 1e-8);
    expect(s1.network.layers[0]!.weight.data[0]).toBeCloseTo(w1, 12);
    const s2 = move(c)(s1.network, g(-0.25), s1.state);
    const mh = 0.02 / (1 - 0.9 ** 2);
    const vh = 0.00031225 / (1 - 0.999 ** 2);
    expect(s2.network.layers[0]!.weight.data[0]).toBeCloseTo(w1 - (0.1 * mh) / (Math.sqrt(vh) + 1e-8), 12);
    expect(s2.state.step).toBe(2);
  });

  it('momentum and nesterov follow their update rules on a scalar', () => {
    const net: Network<Float64Array> = { layers: [{ weight: matrix(1, 1, new Float64Array([1])), bias: new Float64Array([0]), activation: 'identity' }] };
    const g: Gradient<Float64Array> = { layers: [{ weight: matrix(1, 1, new Float64Array([1])), bias: new Float64Array([0]) }] };
    const m = cfg({ kind: 'momentum', lr: 0.1, momentum: 0.9 });
    const a1 = move(m)(net, g, initialState(m, net));
    const a2 = move(m)(a1.network, g, a1.state);
    expect(a2.network.layers[0]!.weight.data[0]).toBeCloseTo(1 - 0.1 * 1 - 0.1 * 1.9, 12);
    const nv = cfg({ kind: 'nesterov', lr: 0.1, momentum: 0.9 });
    const b1 = move(nv)(net, g, initialState(nv, net));
    expect(b1.network.layers[0]!.weight.data[0]).toBeCloseTo(1 - 0.1 * (1 + 0.9 * 1), 12);
  });

  it('clips the global gradient norm and adds weight decay', () => {
    const net: Network<Float64Array> = { layers: [{ weight: matrix(1, 2, new Float64Array([1, 2])), bias: new Float64Array([0]), activation: 'identity' }] };
    const g: Gradient<Float64Array> = { layers: [{ weight: matrix(1, 2, new Float64Array([3, 0])), bias: new Float64Array([4]) }] };
    const c = cfg({ kind: 'sgd', lr: 1, clipNorm: 1, weightDecay: 0.5 });
    const out = move(c)(net, g, initialState(c, net)).network.layers[0]!;
    expect([...out.weight.data]).toEqual([1 - (0.6 + 0.5), 2 - (0 + 1)].map((x) => expect.closeTo(x, 12)));
    expect(out.bias[0]).toBeCloseTo(-0.8, 12);
  });

  it('an update that overflows float32 is reported non-finite, not stored as Infinity silently', () => {
    // 3e38 - 10 * (-1e38) is finite in double but beyond float32's range (3.4e38)
    const net: Network = { layers: [{ weight: matrix(1, 1, new Float32Array([3e38])), bias: new Float32Array([0]), activation: 'identity' }] };
    const g: Gradient = { layers: [{ weight: matrix(1, 1, new Float32Array([-1e38])), bias: new Float32Array([0]) }] };
    for (const kind of ['sgd', 'momentum', 'nesterov'] as const) {
      const c = cfg({ kind, lr: 10 });
      const moved = move(c)(net, g, initialState(c, net));
      expect(moved.network.layers[0]!.weight.data[0]).toBe(Infinity);
      expect(Number.isFinite(moved.gradientSquaredNorm)).toBe(false);
    }
  });

  it('rejects non-finite and out-of-range hyperparameters naming the field it was given (optimizer.lr)', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ lr: NaN }, 'optimizer.lr'],
      [{ lr: -1 }, 'optimizer.lr'],
      [{ lr: Infinity }, 'optimizer.lr'],
      [{ momentum: 1 }, 'optimizer.momentum'],
      [{ beta2: -0.1 }, 'optimizer.beta2'],
      [{ epsilon: 0 }, 'optimizer.epsilon'],
      [{ weightDecay: -1 }, 'optimizer.weightDecay'],
      [{ clipNorm: 0 }, 'optimizer.clipNorm'],
      [{ kind: 'rmsprop' }, 'optimizer.kind'],
    ];
    for (const [c, where] of bad) {
      const r = optimizer(c as Partial<OptimizerConfig>);
      expect(E.isLeft(r) && r.left.where).toBe(where);
    }
  });
});
