import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { initNetwork } from '../../src/nn/init.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { arbDataset } from '../arb/dataset.js';
import { unwrap } from '../arb/network.js';

describe('evaluate', () => {
  test.prop([arbDataset({ minCount: 1 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 }), fc.nat()], { numRuns: 100 })(
    'invariant to evaluation batch size: evaluate(net, ds, b1) = evaluate(net, ds, b2) (loss up to float tolerance, accuracy and confusion exactly)',
    (ds, b1, b2, seed) => {
      const net = unwrap(initNetwork({ sizes: [ds.rows * ds.cols, 5, ds.classes], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, seed));
      const e1 = evaluate(net, ds, { loss: 'cross-entropy', batchSize: b1 });
      const e2 = evaluate(net, ds, { loss: 'cross-entropy', batchSize: b2 });
      expect(e1.count).toBe(ds.count);
      expect(e2.correct).toBe(e1.correct);
      expect(e2.confusion).toEqual(e1.confusion);
      expect(e2.loss).toBeCloseTo(e1.loss, 5);
      // the confusion matrix accounts for every example, and its diagonal is the number right
      expect(e1.confusion.flat().reduce((s, v) => s + v, 0)).toBe(ds.count);
      expect(e1.confusion.reduce((s, row, i) => s + row[i]!, 0)).toBe(e1.correct);
    },
  );
});
