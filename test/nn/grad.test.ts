import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { gradientCheck } from '../../src/diagnostics/gradcheck.js';
import { backprop, grad, type Batch } from '../../src/nn/grad.js';
import type { Network } from '../../src/nn/network.js';
import { gemmTs } from '../../src/tensor/ts.js';
import { batchGradMonoid } from '../../src/nn/gradient.js';
import { toFloat64 } from '../../src/nn/network.js';
import { toFloat64 as m64, sliceRows, matrix } from '../../src/tensor/matrix.js';
import { arbCase, HIDDEN, PAIRINGS } from '../arb/network.js';

const to64 = (b: Batch): Batch<Float64Array> => ({ inputs: m64(b.inputs), targets: m64(b.targets) });

describe('grad (backprop)', () => {
  test.prop([arbCase()], { numRuns: 150 })(
    'backprop matches central differences (relative error below 1e-6 in float64, ReLU kinks skipped)',
    ({ net, loss, batch }) => {
      const report = gradientCheck(loss, net, batch);
      expect(report.worst).toBeLessThan(1e-6);
      const checked = report.layers.reduce((s, l) => s + l.weight.checked + l.bias.checked, 0);
      expect(checked).toBeGreaterThan(0);
    },
  );

  // Every activation x (output, loss) pairing at least once, deterministically, on top of the random sample.
  for (const hidden of HIDDEN) {
    for (const { output, loss } of PAIRINGS) {
      it(`backprop matches central differences for ${hidden} hidden, ${output} output, ${loss}`, () => {
        fc.assert(
          fc.property(arbCase({ hidden: [hidden] }).filter((c) => c.loss === loss && c.net.layers.at(-1)!.activation === output), ({ net, batch }) => {
            expect(gradientCheck(loss, net, batch).worst).toBeLessThan(1e-6);
          }),
          { numRuns: 3 },
        );
      });
    }
  }

  it('reports a large error for the original stubbed output derivative (the check can fail)', () => {
    const cases = fc.sample(arbCase().filter((c) => c.loss === 'mse' && c.net.layers.at(-1)!.activation !== 'identity'), { numRuns: 20, seed: 11 });
    for (const { net, loss, batch } of cases) {
      // The original project's bug: the output delta ignored the output activation's derivative
      // (softmax derivative stubbed to 1): delta = (a - t) / B instead of J^T (a - t) / B.
      const stubbed = (n: Network<Float64Array>, b: Batch<Float64Array>) => {
        const bp = backprop(loss, n, b);
        const out = bp.lossResult.output;
        const rows = out.rows;
        const delta = out.data.map((a, i) => (a - b.targets.data[i]!) / rows);
        const L = n.layers.length;
        const prev = L > 1 ? bp.forward.outputs[L - 2]! : b.inputs;
        const dW = new Float64Array(n.layers[L - 1]!.weight.data.length);
        gemmTs(true, false, out.cols, prev.cols, rows, 1, delta, prev.data, 0, dW);
        return { layers: bp.gradient.layers.map((g, i) => (i === L - 1 ? { ...g, weight: matrix(out.cols, prev.cols, dW) } : g)) };
      };
      expect(gradientCheck(loss, net, batch, { analytic: stubbed }).layers.at(-1)!.weight.worst).toBeGreaterThan(1e-3);
    }
  });

  test.prop([arbCase(), fc.integer({ min: 0, max: 16 })], { numRuns: 150 })(
    'grad of (b1 ++ b2) = (|b1|*grad(b1) + |b2|*grad(b2)) / (|b1|+|b2|), which is batchGradMonoid(net).concat',
    ({ net, loss, batch }, cut) => {
      const n = batch.inputs.rows;
      const k = Math.min(cut, n);
      const net64 = toFloat64(net);
      const b = to64(batch);
      const part = (s: number, e: number): Batch<Float64Array> => ({ inputs: sliceRows(b.inputs, s, e), targets: sliceRows(b.targets, s, e) });
      const whole = grad(loss)(net64, b);
      const combined = batchGradMonoid(net64).concat(grad(loss)(net64, part(0, k)), grad(loss)(net64, part(k, n)));
      expect(combined.count).toBe(whole.count);
      expect(combined.loss).toBeCloseTo(whole.loss, 10);
      whole.gradient.layers.forEach((l, i) => {
        const c = combined.gradient.layers[i]!;
        l.weight.data.forEach((v, j) => expect(c.weight.data[j]).toBeCloseTo(v, 10));
        l.bias.forEach((v, j) => expect(c.bias[j]).toBeCloseTo(v, 10));
      });
    },
  );

  it('float32 backprop on the default backend agrees with float64', () => {
    const [c] = fc.sample(arbCase({ maxBatch: 8 }), { numRuns: 1, seed: 3 });
    const g32 = grad(c!.loss)(c!.net, c!.batch);
    const g64 = grad(c!.loss)(toFloat64(c!.net), to64(c!.batch));
    expect(g32.loss).toBeCloseTo(g64.loss, 4);
    g64.gradient.layers.forEach((l, i) => l.weight.data.forEach((v, j) => expect(g32.gradient.layers[i]!.weight.data[j]).toBeCloseTo(v, 4)));
  });
});
