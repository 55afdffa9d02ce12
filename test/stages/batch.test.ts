import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { batch, toBatch } from '../../src/stages/batch.js';
import { readDataset } from '../../src/stages/read.js';
import { runStage } from '../../src/stages/stage.js';
import { randomDataset } from '../arb/dataset.js';

const arbItems = fc.array(fc.integer(), { maxLength: 80 });
const arbN = fc.integer({ min: 1, max: 12 });

describe('batch', () => {
  test.prop([arbItems, arbN], { numRuns: 200 })('flatten after batch is the identity (keeping the last batch)', (xs, n) => {
    expect(runStage(batch<number>(n), xs).flat()).toEqual(xs);
  });

  test.prop([arbItems, arbN, fc.boolean()], { numRuns: 200 })('every batch has n rows except possibly the last', (xs, n, keepLast) => {
    const bs = runStage(batch<number>(n, { keepLast }), xs);
    bs.slice(0, -1).forEach((b) => expect(b.length).toBe(n));
    if (bs.length > 0) {
      expect(bs.at(-1)!.length).toBeGreaterThan(0);
      expect(bs.at(-1)!.length).toBeLessThanOrEqual(n);
      if (!keepLast) expect(bs.at(-1)!.length).toBe(n);
    }
    expect(bs.length).toBe(keepLast ? Math.ceil(xs.length / n) : Math.floor(xs.length / n));
  });

  test.prop([arbN, fc.integer({ min: 0, max: 6 }), fc.array(fc.integer(), { maxLength: 80 }), fc.array(fc.integer(), { maxLength: 40 })], { numRuns: 200 })(
    'batch(n)(xs ++ ys) = batch(n)(xs) ++ batch(n)(ys) when n divides |xs|',
    (n, k, pool, ys) => {
      // k whole batches' worth of items: the law's premise, always met
      const xs = Array.from({ length: k * n }, (_, i) => pool[i % Math.max(1, pool.length)] ?? i);
      expect(runStage(batch<number>(n), [...xs, ...ys])).toEqual([...runStage(batch<number>(n), xs), ...runStage(batch<number>(n), ys)]);
    },
  );

  it('toBatch scales pixels to [0,1] and one-hot encodes labels', () => {
    const ds = randomDataset(3, 5, 2, 3, 4);
    const b = toBatch([...readDataset(ds)], 4);
    expect(b.inputs.rows).toBe(5);
    expect(b.inputs.cols).toBe(6);
    b.inputs.data.forEach((v, i) => expect(v).toBeCloseTo(ds.images[i]! / 255, 6));
    for (let i = 0; i < 5; i++) {
      const row = [...b.targets.data.subarray(i * 4, i * 4 + 4)];
      expect(row).toEqual([0, 1, 2, 3].map((c) => (c === ds.labels[i] ? 1 : 0)));
    }
    expect([...b.labels]).toEqual([...ds.labels]);
  });

  it('rejects a batch size that is not a positive whole number', () => {
    expect(() => batch(0)).toThrow(/whole number >= 1/);
    expect(() => batch(1.5)).toThrow(/whole number >= 1/);
  });
});
