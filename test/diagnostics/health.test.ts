import { describe, expect, it } from 'vitest';
import { healthHints, healthScan } from '../../src/diagnostics/health.js';
import { initNetwork } from '../../src/nn/init.js';
import { randomMatrix, unwrap } from '../arb/network.js';
import { matrix } from '../../src/tensor/matrix.js';

// MNIST-like inputs: 784 pixels in [0,1], about 19% of them lit (as in MNIST), made from a seed.
const inputs = (() => {
  const m = randomMatrix(5, 'pixels', 16, 784, 0, 1);
  const d = m.data.map((v, i) => (((i * 2654435761) >>> 0) % 100 < 19 ? v : 0));
  return matrix(16, 784, d);
})();
const targets = (() => {
  const d = new Float32Array(16 * 10);
  for (let i = 0; i < 16; i++) d[i * 10 + (i % 10)] = 1;
  return matrix(16, 10, d);
})();

describe('health scan', () => {
  it('reports saturation in the hidden layer of the original configuration (784-1000-10, sigmoid, U(0,1), MSE)', () => {
    const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'sigmoid', output: 'softmax' }, { kind: 'uniform', low: 0, high: 1 }, 1));
    const report = healthScan(net, inputs, { loss: 'mse', targets });
    const hidden = report.layers[0]!;
    expect(hidden.saturatedFraction).toBeGreaterThan(0.99);
    expect(healthHints(report).some((h) => h.startsWith('layer 0') && h.includes('saturated'))).toBe(true);
    // every hidden unit outputs ~1, so the logits are huge (U(0,1) weights over 1000 inputs)
    expect(report.layers[1]!.preActivations.maxAbs).toBeGreaterThan(100);
  });

  it('reports no saturation for the same net with He init and ReLU', () => {
    const net = unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    const report = healthScan(net, inputs, { loss: 'cross-entropy', targets });
    expect(report.layers[0]!.saturatedFraction).toBe(0);
    expect(report.layers[0]!.deadFraction).toBeLessThan(0.1);
    expect(healthHints(report)).toEqual([]);
  });

  it('counts non-finite values and says what to do', () => {
    const net = unwrap(initNetwork({ sizes: [4, 3, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    const w = net.layers[0]!.weight.data.slice();
    w[0] = NaN;
    const broken = { layers: [{ ...net.layers[0]!, weight: matrix(3, 4, w) }, net.layers[1]!] };
    const report = healthScan(broken, randomMatrix(1, 'x', 2, 4, 0.1, 1));
    expect(report.layers[0]!.weights.nonFinite).toBe(1);
    expect(healthHints(report)[0]).toMatch(/layer 0.*non-finite.*learning rate/);
  });
});
