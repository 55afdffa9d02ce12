import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { lossFromLogits } from '../../src/nn/loss.js';
import { matrix } from '../../src/tensor/matrix.js';

/** float64 reference: -log softmax(z)[c] = log(sum exp(z - max)) + max - z_c, computed on the float32 logits. */
const reference = (z: Float32Array, c: number): number => {
  const max = Math.max(...z);
  return Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0)) + max - z[c]!;
};

describe('softmax cross-entropy on logits', () => {
  test.prop(
    [fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 2, maxLength: 12 }), fc.nat()],
    { numRuns: 300 },
  )('stays finite for logits up to +-1e4 and equals a float64 reference within 1e-5', (values, pick) => {
    const z = Float32Array.from(values);
    const c = pick % z.length;
    const t = new Float32Array(z.length);
    t[c] = 1;
    const r = lossFromLogits('cross-entropy', 'softmax', matrix(1, z.length, z), matrix(1, z.length, t));
    expect(Number.isFinite(r.loss)).toBe(true);
    for (const d of r.delta.data) expect(Number.isFinite(d)).toBe(true);
    const ref = reference(z, c);
    expect(Math.abs(r.loss - ref)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref)));
    // the fused gradient softmax - onehot sums to zero over the row
    expect(Math.abs(r.delta.data.reduce((s, v) => s + v, 0))).toBeLessThan(1e-5);
  });

  it('extreme logits: loss is the logit gap, not Infinity or NaN', () => {
    const z = Float32Array.from([1e4, -1e4, 0]);
    const r = lossFromLogits('cross-entropy', 'softmax', matrix(1, 3, z), matrix(1, 3, Float32Array.from([0, 1, 0])));
    expect(r.loss).toBeCloseTo(2e4, 6);
    expect([...r.delta.data]).toEqual([1, -1, 0].map((x) => expect.closeTo(x, 9)));
  });

  test.prop([fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 8 })], { numRuns: 200 })(
    'sigmoid binary cross-entropy from logits stays finite for logits up to +-1e4',
    (values) => {
      const z = Float32Array.from(values);
      const t = z.map((_, i) => i % 2);
      const r = lossFromLogits('cross-entropy', 'sigmoid', matrix(1, z.length, z), matrix(1, z.length, t));
      expect(Number.isFinite(r.loss)).toBe(true);
      const ref = values.reduce((s, v, i) => s + (Math.max(v, 0) - v * (i % 2) + Math.log1p(Math.exp(-Math.abs(v)))), 0);
      expect(Math.abs(r.loss - ref)).toBeLessThanOrEqual(1e-9 * Math.max(1, ref));
    },
  );
});
