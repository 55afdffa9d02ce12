import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { gradientCheck } from '../../src/diagnostics/gradcheck.js';
import { dropoutMasks } from '../../src/nn/dropout.js';
import { forward } from '../../src/nn/forward.js';
import { backprop, type Batch } from '../../src/nn/grad.js';
import { toFloat64, type Layer, type Network } from '../../src/nn/network.js';
import { keyedRng } from '../../src/nn/random.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { matrix, sliceRows, toFloat64 as m64 } from '../../src/tensor/matrix.js';
import { reusableWorkspace } from '../../src/tensor/workspace.js';
import { arbCase } from '../arb/network.js';
import { randomDataset } from '../arb/dataset.js';
import { initNetwork } from '../../src/nn/init.js';

const to64 = (b: Batch): Batch<Float64Array> => ({ inputs: m64(b.inputs), targets: m64(b.targets) });
const arbRate = fc.double({ min: 0.05, max: 0.9, noNaN: true });

/** Per hidden layer, one mask row (factors 0 or 1/(1-p)) repeated for every example of the batch. */
const sharedMasks = (net: Network<Float64Array>, rows: number, rate: number, seed: number): Float64Array[] => {
  const r = keyedRng(seed, 99);
  return net.layers.slice(0, -1).map((l) => {
    const row = Array.from({ length: l.weight.rows }, () => (r() < 1 - rate ? 1 / (1 - rate) : 0));
    return Float64Array.from({ length: rows * row.length }, (_, i) => row[i % row.length]!);
  });
};

/**
 * The masked network as a plain one: after each hidden layer, a layer with weight diag(mask), bias 0 and
 * the identity activation. Its loss is the masked network's loss, so finite differences of it (gradpipe's
 * gradientCheck, unchanged) are an oracle for the masked backprop.
 */
const withMaskLayers = (net: Network<Float64Array>, masks: readonly Float64Array[]): Network<Float64Array> => ({
  layers: net.layers.flatMap((layer, l): Layer<Float64Array>[] => {
    const m = masks[l];
    if (!m) return [layer];
    const n = layer.weight.rows;
    const diag = new Float64Array(n * n);
    for (let j = 0; j < n; j++) diag[j * n + j] = m[j]!;
    return [layer, { weight: matrix(n, n, diag), bias: new Float64Array(n), activation: 'identity' }];
  }),
});

describe('dropout', () => {
  test.prop([arbCase(), fc.nat(), fc.nat()], { numRuns: 100 })('p = 0 is the identity', ({ net, loss, batch }, seed, step) => {
    const plain = backprop(loss, net, batch);
    const none = backprop(loss, net, batch, undefined, undefined, { rate: 0, seed, step });
    expect(none.loss).toBe(plain.loss);
    expect(none.gradient).toEqual(plain.gradient);
    expect(dropoutMasks(batch.inputs.data, net, batch.inputs.rows, { rate: 0, seed, step })).toEqual([]);
  });

  test.prop([arbCase({ hidden: ['relu', 'tanh', 'sigmoid'] }), arbRate, fc.nat(), fc.nat()], { numRuns: 100 })(
    'evaluation ignores it: forward without masks, and evaluate, give the whole network\'s outputs after any dropout step',
    ({ net, loss, batch }, rate, seed, step) => {
      const before = forward(net, batch.inputs).outputs.map((o) => o.data.slice());
      const ws = reusableWorkspace();
      const trained = backprop(loss, net, batch, undefined, ws, { rate, seed, step });
      // the dropout pass saw masked inputs (when some unit was dropped)...
      if (net.layers.length > 1) expect(trained.forward.dropped[0]).toBeDefined();
      // ...but a forward pass without masks, even from the same workspace, sees the whole network
      expect(forward(net, batch.inputs, undefined, ws).outputs.map((o) => o.data.slice())).toEqual(before);
      expect(forward(net, batch.inputs).outputs.map((o) => o.data.slice())).toEqual(before);
    },
  );

  it('evaluation ignores it (fixed case: evaluate before and after a dropout step agree)', () => {
    const net = (initNetwork({ sizes: [9, 20, 4], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 3) as { right: Network }).right;
    const ds = randomDataset(5, 50, 3, 3, 4);
    const before = evaluate(net, ds, { loss: 'cross-entropy' });
    const inputs = matrix(50, 9, Float32Array.from(ds.images, (v) => v / 255));
    backprop('cross-entropy', net, { inputs, targets: matrix(50, 4, new Float32Array(200).fill(0.25)) }, undefined, undefined, { rate: 0.5, seed: 1, step: 0 });
    expect(evaluate(net, ds, { loss: 'cross-entropy' })).toEqual(before);
  });

  test.prop([arbRate, fc.nat(), fc.nat()], { numRuns: 50 })('expectation preserved: each mask factor has mean 1', (rate, seed, step) => {
    const net = (initNetwork({ sizes: [2, 500, 300, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1) as { right: Network }).right;
    const masks = dropoutMasks(new Float64Array(0), net, 40, { rate, seed, step });
    expect(masks).toHaveLength(2);
    for (const m of masks) {
      const n = m!.length;
      let sum = 0;
      let other = 0;
      for (const f of m!) {
        if (f !== 0 && f !== 1 / (1 - rate)) other++;
        sum += f;
      }
      expect(other).toBe(0); // every factor is 0 or 1 / (1 - p)
      // a factor has mean 1 and variance p / (1 - p): the sample mean lies within 6 standard errors of 1
      expect(Math.abs(sum / n - 1)).toBeLessThan(6 * Math.sqrt(rate / (1 - rate) / n));
    }
  });

  test.prop([fc.nat(), fc.nat({ max: 1e6 }), arbRate])('same seed and step, same masks; another step, other masks', (seed, step, rate) => {
    const net = (initNetwork({ sizes: [2, 64, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1) as { right: Network }).right;
    const a = dropoutMasks(new Float32Array(0), net, 8, { rate, seed, step })[0]!;
    expect(dropoutMasks(new Float32Array(0), net, 8, { rate, seed, step })[0]).toEqual(a);
    expect(dropoutMasks(new Float32Array(0), net, 8, { rate, seed, step: step + 1 })[0]).not.toEqual(a);
  });

  // rates up to 0.5 (factors up to 2). The central differences' rounding is about 18 eps |L| / (12 h):
  // 3e-10 for a loss near 100, which the mask factors and three layers reach; against the default floor
  // of the relative error's denominator (1e-4) that alone is 3e-6 (fast-check seed -606896178, an
  // identity network with MSE, whose loss is exactly quadratic in each weight). So near-zero gradients are
  // compared against a floor of 1e-3 here.
  test.prop([arbCase(), fc.double({ min: 0.05, max: 0.5, noNaN: true })], { numRuns: 100 })(
    'backprop with a fixed mask matches central differences of the masked network (gradientCheck with the mask as diagonal layers)',
    ({ net, loss, batch, seed }, rate) => {
      const n64 = toFloat64(net);
      const b64 = to64(batch);
      const masks = sharedMasks(n64, b64.inputs.rows, rate, seed);
      const expanded = withMaskLayers(n64, masks);
      const report = gradientCheck(loss, expanded, b64, {
        floor: 1e-3,
        analytic: (e, b) => {
          // gradients of the original layers from the masked backprop; those of the diagonal layers from plain backprop of `e`
          const masked = backprop(loss, n64, b, undefined, undefined, { masks }).gradient.layers;
          const plain = backprop(loss, e, b).gradient.layers;
          // every hidden layer l has a mask, so its diagonal layer sits at 2l + 1 in `e`
          return { layers: n64.layers.flatMap((_, l) => (masks[l] ? [masked[l]!, plain[2 * l + 1]!] : [masked[l]!])) };
        },
      });
      expect(report.worst).toBeLessThan(1e-6);
    },
  );

  test.prop([arbCase({ maxBatch: 6 }), arbRate, fc.nat()], { numRuns: 100 })(
    'with a mask per example, the batch gradient is the mean of the examples\' gradients under their own masks',
    ({ net, loss, batch }, rate, seed) => {
      const n64 = toFloat64(net);
      const b64 = to64(batch);
      const m = b64.inputs.rows;
      const masks = dropoutMasks(b64.inputs.data, n64, m, { rate, seed, step: 0 });
      const whole = backprop(loss, n64, b64, undefined, undefined, { masks }).gradient.layers;
      const rows = Array.from({ length: m }, (_, i) => {
        const one = { inputs: sliceRows(b64.inputs, i, i + 1), targets: sliceRows(b64.targets, i, i + 1) };
        const own = masks.map((mk, l) => mk && mk.slice(i * n64.layers[l]!.weight.rows, (i + 1) * n64.layers[l]!.weight.rows));
        return backprop(loss, n64, one, undefined, undefined, { masks: own }).gradient.layers;
      });
      whole.forEach((g, l) => {
        g.weight.data.forEach((v, k) => expect(v).toBeCloseTo(rows.reduce((s, r) => s + r[l]!.weight.data[k]!, 0) / m, 10));
        g.bias.forEach((v, k) => expect(v).toBeCloseTo(rows.reduce((s, r) => s + r[l]!.bias[k]!, 0) / m, 10));
      });
    },
  );
});
