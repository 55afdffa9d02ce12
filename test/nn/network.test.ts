import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseActivation } from '../../src/nn/activation.js';
import { initNetwork, parseInit } from '../../src/nn/init.js';
import { checkLossPairing, parseLoss } from '../../src/nn/loss.js';
import { createNetwork, networksEqual, sizes } from '../../src/nn/network.js';
import { matrix } from '../../src/tensor/matrix.js';

const leftOf = <A>(e: E.Either<{ where: string; message: string }, A>) => (E.isLeft(e) ? e.left : undefined);

describe('network construction', () => {
  it('names the layer and both sizes when shapes do not chain', () => {
    const e = leftOf(
      createNetwork([
        { weight: matrix(3, 4, new Float32Array(12)), bias: new Float32Array(3), activation: 'relu' },
        { weight: matrix(2, 5, new Float32Array(10)), bias: new Float32Array(2), activation: 'softmax' },
      ]),
    );
    expect(e?.where).toBe('layer 1');
    expect(e?.message).toMatch(/5 inputs.*layer 0 gives 3 outputs/);
  });

  it('rejects zero-sized layers, bias length mismatches, softmax in a hidden layer and empty networks', () => {
    expect(leftOf(createNetwork([{ weight: matrix(0, 4, new Float32Array(0)), bias: new Float32Array(0), activation: 'identity' }]))?.message).toMatch(/zero-sized/);
    expect(leftOf(createNetwork([{ weight: matrix(2, 4, new Float32Array(8)), bias: new Float32Array(3), activation: 'identity' }]))?.message).toMatch(/bias has 3/);
    expect(
      leftOf(
        createNetwork([
          { weight: matrix(3, 4, new Float32Array(12)), bias: new Float32Array(3), activation: 'softmax' },
          { weight: matrix(2, 3, new Float32Array(6)), bias: new Float32Array(2), activation: 'softmax' },
        ]),
      )?.message,
    ).toMatch(/not allowed on a hidden layer/);
    expect(leftOf(createNetwork([]))?.message).toMatch(/at least one layer/);
    expect(leftOf(initNetwork({ sizes: [784, 0, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1))?.where).toBe('spec.sizes');
    expect(leftOf(initNetwork({ sizes: [784], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1))?.where).toBe('spec.sizes');
  });

  it('rejects unknown activation, loss and initialiser names, and impossible pairings', () => {
    expect(leftOf(parseActivation('relu6', '--activation'))?.message).toMatch(/unknown activation 'relu6'/);
    expect(leftOf(parseLoss('hinge'))?.where).toBe('--loss');
    expect(leftOf(parseInit('uniform:1,0'))?.where).toBe('--init');
    expect(leftOf(parseInit('normal:-1'))?.where).toBe('--init');
    expect(leftOf(parseInit('xavier'))?.message).toMatch(/unknown initialiser/);
    expect(leftOf(checkLossPairing('cross-entropy', 'identity'))?.message).toMatch(/softmax or sigmoid/);
    expect(E.isRight(parseInit('uniform:0,1'))).toBe(true);
  });

  it('same seed, same bits; another seed, other bits', () => {
    const spec = { sizes: [20, 7, 3], hidden: 'relu' as const, output: 'softmax' as const };
    const a = initNetwork(spec, { kind: 'he' }, 42);
    const b = initNetwork(spec, { kind: 'he' }, 42);
    const c = initNetwork(spec, { kind: 'he' }, 43);
    expect(E.isRight(a) && E.isRight(b) && networksEqual(a.right, b.right)).toBe(true);
    expect(E.isRight(a) && E.isRight(c) && networksEqual(a.right, c.right)).toBe(false);
    expect(E.isRight(a) && sizes(a.right)).toEqual([20, 7, 3]);
  });

  it('He init has the fan-in-scaled standard deviation', () => {
    const net = initNetwork({ sizes: [784, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 3);
    if (E.isLeft(net)) throw new Error('init failed');
    const w = net.right.layers[0]!.weight.data;
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / 784), 3);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
  });
});
