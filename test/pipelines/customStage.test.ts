/** The custom-stage example: one stage, two adapters, the same network; and the stage does what it says. */
import { describe, expect, it } from 'vitest';
import { augmentedDefaults, noisyPixels, trainIx, trainRx } from '../../pipelines/examples/customStage.js';
import { networksEqual } from '../../src/nn/network.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { runStage } from '../../src/stages/stage.js';
import { synthetic } from './synthetic.js';

const train = synthetic({ count: 600, seed: 10 });
const test = synthetic({ count: 300, seed: 11 });

const batchesOf = async (n: number) => {
  const out = [];
  for await (const b of epochBatches({ dataset: train, seed: 3, batchSize: 25, epochs: 1 })) out.push(b);
  return out.slice(0, n);
};

describe('custom stage example', () => {
  it('the RxJS and IxJS runs of the same stage train bit-identical networks, and they learn', async () => {
    const a = await trainRx(train);
    const b = await trainIx(train);
    expect(a.step).toBe(augmentedDefaults.epochs * Math.ceil(train.count / augmentedDefaults.batchSize));
    expect(networksEqual(a.network, b.network)).toBe(true);
    const acc = evaluate(a.network, test, { loss: 'cross-entropy' }).accuracy;
    expect(acc).toBeGreaterThan(0.9); // chance is 1/3
  });

  it('noisyPixels replaces about a fraction p of the inputs, keeps shapes and targets, and repeats with its seed', async () => {
    const batches = await batchesOf(8);
    const p = 0.25;
    const out = runStage(noisyPixels(p, 5), batches);
    expect(out).toHaveLength(batches.length);
    let changed = 0;
    let total = 0;
    out.forEach((o, i) => {
      const b = batches[i]!;
      expect([o.inputs.rows, o.inputs.cols]).toEqual([b.inputs.rows, b.inputs.cols]);
      expect(o.targets).toBe(b.targets);
      expect(o.labels).toBe(b.labels);
      for (let j = 0; j < b.inputs.data.length; j++) if (o.inputs.data[j] !== b.inputs.data[j]) changed++;
      total += b.inputs.data.length;
    });
    // a replaced value equals the old one with probability ~0, so changed ~ Binomial(total, p): 6 sigma band
    const sigma = Math.sqrt(total * p * (1 - p));
    expect(Math.abs(changed - total * p)).toBeLessThan(6 * sigma);
    const again = runStage(noisyPixels(p, 5), batches);
    expect(again.map((o) => Array.from(o.inputs.data))).toEqual(out.map((o) => Array.from(o.inputs.data)));
    const other = runStage(noisyPixels(p, 6), batches);
    expect(other.map((o) => Array.from(o.inputs.data))).not.toEqual(out.map((o) => Array.from(o.inputs.data)));
  });

  it('noisyPixels with p = 0 leaves every input unchanged', async () => {
    const batches = await batchesOf(4);
    const out = runStage(noisyPixels(0, 5), batches);
    expect(out.map((o) => Array.from(o.inputs.data))).toEqual(batches.map((b) => Array.from(b.inputs.data)));
  });
});
