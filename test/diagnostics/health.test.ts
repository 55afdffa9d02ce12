import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { healthFindings, healthHints, healthScan, pairingFinding } from '../../src/diagnostics/health.js';
import { initNetwork } from '../../src/nn/init.js';
import { randomMatrix, unwrap } from '../arb/network.js';
import { matrix, toFloat64 } from '../../src/tensor/matrix.js';

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

describe('health findings', () => {
  const original = () => unwrap(initNetwork({ sizes: [784, 1000, 10], hidden: 'sigmoid', output: 'softmax' }, { kind: 'uniform', low: 0, high: 1 }, 1));

  it('names the vanished gradient and the huge logits of the original configuration', () => {
    const findings = healthFindings(healthScan(original(), inputs, { loss: 'mse', targets }));
    const codes = findings.map((f) => `${f.code}/${f.layer}`);
    expect(codes).toContain('saturated/0');
    expect(codes.some((c) => c === 'vanishing-gradients/0' || c === 'zero-gradients/0')).toBe(true);
    expect(codes).toContain('huge-logits/1');
    expect(findings.every((f) => f.severity === 'problem')).toBe(true);
  });

  it('counts a saturated output layer against mse but not against cross-entropy, whose gradient skips the derivative', () => {
    // He-initialised hidden layer, output weights scaled up so the softmax saturates without huge mean logits
    const net = unwrap(initNetwork({ sizes: [784, 64, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 3));
    const w = net.layers[1]!.weight;
    const big = { layers: [net.layers[0]!, { ...net.layers[1]!, weight: matrix(w.rows, w.cols, w.data.map((v) => v * 40)) }] };
    const sat = (loss: 'mse' | 'cross-entropy') => healthFindings(healthScan(big, inputs, { loss, targets })).filter((f) => f.code === 'saturated' && f.layer === 1);
    expect(healthScan(big, inputs).layers[1]!.saturatedFraction).toBeGreaterThan(0.01);
    expect(sat('mse')).toHaveLength(1);
    expect(sat('cross-entropy')).toHaveLength(0);
  });

  it('finds no pairing problem with cross-entropy, a warning for identity with mse', () => {
    expect(pairingFinding('cross-entropy', 'softmax')).toBeUndefined();
    expect(pairingFinding('cross-entropy', 'sigmoid')).toBeUndefined();
    expect(pairingFinding('mse', 'identity')?.severity).toBe('warning');
    expect(pairingFinding('mse', 'softmax')?.severity).toBe('problem');
    expect(pairingFinding('mse', 'sigmoid')?.severity).toBe('problem');
  });

  // Oracle: dL/dz of 1/2 |act(z) - t|^2 per example by central differences in float64, from the definitions
  // of softmax and sigmoid written out here.
  const act = (output: 'softmax' | 'sigmoid', z: number[]): number[] => {
    if (output === 'sigmoid') return z.map((v) => 1 / (1 + Math.exp(-v)));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  const mseOf = (output: 'softmax' | 'sigmoid', z: number[], t: number[]) => act(output, z).reduce((s, a, j) => s + 0.5 * (a - t[j]!) ** 2, 0);
  const fdNorm = (output: 'softmax' | 'sigmoid', z: number[], t: number[]) => {
    const h = 1e-5;
    let sq = 0;
    for (let j = 0; j < z.length; j++) {
      const up = z.map((v, k) => (k === j ? v + h : v));
      const down = z.map((v, k) => (k === j ? v - h : v));
      sq += ((mseOf(output, up, t) - mseOf(output, down, t)) / (2 * h)) ** 2;
    }
    return Math.sqrt(sq);
  };

  test.prop([fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 6 }), fc.double({ min: 0.1, max: 8, noNaN: true }), fc.integer(), fc.constantFrom('softmax' as const, 'sigmoid' as const)], { numRuns: 100 })(
    'measures the gradient at the logits like finite differences of the mse loss, and cross-entropy as |output - target|',
    (rows, cols, scale, seed, output) => {
      const logits = toFloat64(randomMatrix(seed, 'z', rows, cols, -scale, scale));
      const t = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) t[i * cols + (Math.abs(seed + i) % cols)] = 1;
      const f = pairingFinding('mse', output, { logits, targets: matrix(rows, cols, t) });
      let mse = 0, ce = 0, wrong = 0;
      for (let i = 0; i < rows; i++) {
        const z = Array.from(logits.data.subarray(i * cols, (i + 1) * cols));
        const ti = Array.from(t.subarray(i * cols, (i + 1) * cols));
        mse += fdNorm(output, z, ti) / rows;
        const ceAct = output === 'softmax' ? act('softmax', z) : act('sigmoid', z);
        ce += Math.sqrt(ceAct.reduce((s, a, j) => s + (a - ti[j]!) ** 2, 0)) / rows;
        if (ti[z.indexOf(Math.max(...z))] !== 1) wrong++;
      }
      expect(f?.evidence).toBeDefined();
      expect(f!.evidence!.gradient).toBeCloseTo(mse, 6);
      expect(f!.evidence!.crossEntropyGradient).toBeCloseTo(ce, 9);
      expect(f!.evidence!.wrong).toBeCloseTo(wrong / rows, 12);
    },
  );

  it('measures a vanishing mse gradient on saturated, wrong softmax outputs (the original failure)', () => {
    // logits 40 apart, the largest on the wrong class: the loss is near its maximum, the gradient is not
    const logits = matrix(1, 3, Float64Array.from([40, 0, 0]));
    const f = pairingFinding('mse', 'softmax', { logits, targets: matrix(1, 3, Float64Array.from([0, 1, 0])) })!;
    expect(f.evidence!.wrong).toBe(1);
    expect(f.evidence!.gradient).toBeLessThan(1e-15);
    expect(f.evidence!.crossEntropyGradient).toBeCloseTo(Math.SQRT2, 9);
  });
});
