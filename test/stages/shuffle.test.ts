import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { epochOrder, permute, shuffle } from '../../src/stages/shuffle.js';
import { runStage } from '../../src/stages/stage.js';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const arbItems = fc.array(fc.integer(), { maxLength: 60 });
const distinct = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('shuffle', () => {
  test.prop([arbItems, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 70 })], { numRuns: 200 })(
    'the output is a permutation of the input',
    (xs, seed, epoch, buffer) => {
      expect(sorted(runStage(permute<number>(seed, epoch), xs))).toEqual(sorted(xs));
      expect(sorted(runStage(shuffle<number>(buffer, seed, epoch), xs))).toEqual(sorted(xs));
    },
  );

  test.prop([arbItems, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 70 })], { numRuns: 200 })('same seed, same order', (xs, seed, epoch, buffer) => {
    expect(runStage(permute<number>(seed, epoch), xs)).toEqual(runStage(permute<number>(seed, epoch), xs));
    expect(runStage(shuffle<number>(buffer, seed, epoch), xs)).toEqual(runStage(shuffle<number>(buffer, seed, epoch), xs));
  });

  // 12 distinct items have 479,001,600 orders: two epochs agreeing by chance is out of reach.
  test.prop([fc.integer({ min: 12, max: 200 }), fc.nat(), fc.nat({ max: 1000 }), fc.integer({ min: 1, max: 1000 })], { numRuns: 200 })(
    'different epochs give different orders (for more than a handful of items)',
    (n, seed, epoch, gap) => {
      expect([...epochOrder(seed, epoch, n)]).not.toEqual([...epochOrder(seed, epoch + gap, n)]);
      expect(runStage(permute<number>(seed, epoch), distinct(n))).not.toEqual(runStage(permute<number>(seed, epoch + gap), distinct(n)));
      // a buffer as large as the input: a full shuffle, seeded by the epoch too
      expect(runStage(shuffle<number>(n, seed, epoch), distinct(n))).not.toEqual(runStage(shuffle<number>(n, seed, epoch + gap), distinct(n)));
    },
  );

  test.prop([arbItems, fc.nat()], { numRuns: 200 })('a buffer of size 1 is the identity', (xs, seed) => {
    expect(runStage(shuffle<number>(1, seed), xs)).toEqual(xs);
  });

  test.prop([fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 10 }), fc.nat()], { numRuns: 100 })(
    'the bounded shuffle holds at most bufferSize items',
    (n, k, seed) => {
      const s = shuffle<number>(k, seed);
      let st = s.init();
      let emitted = 0;
      for (let i = 0; i < n; i++) {
        const r = s.step(st, i);
        st = r.state;
        emitted += r.out.length;
        expect(i + 1 - emitted).toBeLessThanOrEqual(k);
      }
    },
  );

  test.prop([fc.integer({ min: 2, max: 300 }), fc.nat()], { numRuns: 100 })('epochOrder is an exact permutation of 0..n-1', (n, seed) => {
    expect([...epochOrder(seed, 0, n)].sort((a, b) => a - b)).toEqual(distinct(n));
  });
});
