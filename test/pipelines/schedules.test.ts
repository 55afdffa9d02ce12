/** The schedule example: every step used the rate its schedule gives (formulas written out here), and it learns. */
import { describe, expect, it } from 'vitest';
import { scheduleDefaults, trainWithSchedule, trainWithWarmup, warmupCosine } from '../../pipelines/examples/schedules.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { synthetic } from './synthetic.js';

const train = synthetic({ count: 320, seed: 40 }); // 10 batches of 32 per epoch
const test = synthetic({ count: 300, seed: 41 });
const perEpoch = 10;
const { lr, epochs } = scheduleDefaults;
const total = epochs * perEpoch;

describe('learning-rate schedule example', () => {
  it('step:2,0.5 halves the rate every two epochs', async () => {
    const { last, rates } = await trainWithSchedule(train, { kind: 'step', every: 2, gamma: 0.5 });
    expect(rates).toHaveLength(total);
    rates.forEach((r, k) => expect(r).toBe(lr * 0.5 ** Math.floor(Math.floor(k / perEpoch) / 2)));
    expect(evaluate(last.network, test, { loss: 'cross-entropy' }).accuracy).toBeGreaterThan(0.9);
  });

  it('cosine follows lr (1 + cos(pi t)) / 2 with t the fraction of the run done before the step', async () => {
    const { rates } = await trainWithSchedule(train, { kind: 'cosine' });
    expect(rates).toHaveLength(total);
    rates.forEach((r, k) => expect(r).toBeCloseTo((lr * (1 + Math.cos((Math.PI * k) / total))) / 2, 12));
    expect(rates[0]).toBe(lr);
  });

  it('the custom warm-up rises linearly to the base rate, then decays by cosine, and the run learns', async () => {
    const warmup = 8;
    const { last, rates } = await trainWithWarmup(train, warmup);
    expect(rates).toHaveLength(total);
    for (let k = 0; k < warmup; k++) expect(rates[k]).toBeCloseTo((lr * (k + 1)) / warmup, 12);
    for (let k = warmup; k < total; k++) expect(rates[k]).toBeCloseTo((lr / 2) * (1 + Math.cos((Math.PI * (k - warmup)) / (total - warmup))), 12);
    expect(Math.max(...rates)).toBeCloseTo(lr, 12);
    expect(last.step).toBe(total);
    expect(evaluate(last.network, test, { loss: 'cross-entropy' }).accuracy).toBeGreaterThan(0.9);
  });

  it('warmupCosine is continuous at the end of the warm-up and ends near zero', () => {
    const f = warmupCosine(1, 10, 110);
    expect(f(9)).toBe(1);
    expect(f(10)).toBe(1);
    expect(f(109)).toBeLessThan(1e-3);
  });
});
