import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { gradientMonoid, linearCombination, scaleGradient, type Gradient } from '../../src/nn/gradient.js';
import { toFloat64 } from '../../src/nn/network.js';
import { grad } from '../../src/nn/grad.js';
import { toFloat64 as m64 } from '../../src/tensor/matrix.js';
import { arbCase } from '../arb/network.js';

// Numbers compared as numbers: -0 and +0 are the same gradient entry.
const flat = (g: Gradient<Float64Array>): number[] => g.layers.flatMap((l) => [...l.weight.data, ...l.bias]).map((x) => x + 0);

/** Three gradients of one network (from three seeds' worth of targets on the same shapes). */
const arbTriple = arbCase({ maxBatch: 4 }).map(({ net, loss, batch }) => {
  const n = toFloat64(net);
  const g = grad(loss)(n, { inputs: m64(batch.inputs), targets: m64(batch.targets) }).gradient;
  return { n, f: g, g: scaleGradient(-0.5, g), h: scaleGradient(3, g) };
});

describe('Gradient Monoid', () => {
  test.prop([arbTriple], { numRuns: 100 })('concat(empty, g) = g = concat(g, empty)', ({ n, g }) => {
    const M = gradientMonoid(n);
    expect(flat(M.concat(M.empty, g))).toEqual(flat(g));
    expect(flat(M.concat(g, M.empty))).toEqual(flat(g));
  });

  test.prop([arbTriple], { numRuns: 100 })('concat(concat(f, g), h) = concat(f, concat(g, h))', ({ n, f, g, h }) => {
    const M = gradientMonoid(n);
    const left = flat(M.concat(M.concat(f, g), h));
    const right = flat(M.concat(f, M.concat(g, h)));
    left.forEach((v, i) => expect(right[i]).toBeCloseTo(v, 12));
  });

  test.prop([arbTriple, fc.double({ min: -4, max: 4, noNaN: true })], { numRuns: 100 })('scaling distributes over concat', ({ n, f, g }, s) => {
    const M = gradientMonoid(n);
    const a = flat(scaleGradient(s, M.concat(f, g)));
    const b = flat(linearCombination(s, f, s, g));
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 10));
  });
});
