import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { gradientMonoid, linearCombination, scaleGradient, type Gradient } from '../../src/nn/gradient.js';
import { toFloat64 } from '../../src/nn/network.js';
import { arbCase, arbGradientOf } from '../arb/network.js';

// Numbers compared as numbers: -0 and +0 are the same gradient entry.
const flat = (g: Gradient<Float64Array>): number[] => g.layers.flatMap((l) => [...l.weight.data, ...l.bias]).map((x) => x + 0);

/** A network and three independent random gradients shaped like it. */
const arbTriple = arbCase({ maxBatch: 1 }).chain(({ net }) => {
  const n = toFloat64(net);
  return fc.tuple(arbGradientOf(n), arbGradientOf(n), arbGradientOf(n)).map(([f, g, h]) => ({ n, f, g, h }));
});

/** The sum computed here, entry by entry, as the oracle for concat. */
const sum = (...gs: Gradient<Float64Array>[]): number[] => gs.map(flat).reduce((a, b) => a.map((v, i) => v + b[i]!));

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
    // the gradients are not scalings of one another, so this would catch a concat that is not addition
    expect(flat(M.concat(f, g))).toEqual(sum(f, g));
  });

  test.prop([arbTriple, fc.double({ min: -4, max: 4, noNaN: true })], { numRuns: 100 })('scaling distributes over concat', ({ n, f, g }, s) => {
    const M = gradientMonoid(n);
    const a = flat(scaleGradient(s, M.concat(f, g)));
    const b = flat(linearCombination(s, f, s, g));
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 10));
  });
});
