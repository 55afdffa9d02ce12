import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { snapshotBatch, type LabeledBatch } from '../../src/stages/batch.js';
import { batchesPerEpoch, epochBatches, resumePoint, type EpochPlan } from '../../src/stages/epochs.js';
import { arbDataset } from '../arb/dataset.js';

/** A batch as plain values, for deep comparisons. */
const plain = (b: LabeledBatch) => ({
  epoch: b.epoch,
  batchInEpoch: b.batchInEpoch,
  lastInEpoch: b.lastInEpoch,
  indices: [...b.indices],
  labels: [...b.labels],
  inputs: [...b.inputs.data],
  targets: [...b.targets.data],
});

const collect = async (plan: EpochPlan): Promise<ReturnType<typeof plain>[]> => {
  const out: ReturnType<typeof plain>[] = [];
  for await (const b of epochBatches(plan)) out.push(plain(b));
  return out;
};

const arbPlan = (opts: { minCount?: number; keepLast?: boolean } = {}): fc.Arbitrary<EpochPlan> =>
  fc.record({
    dataset: arbDataset({ minCount: opts.minCount ?? 0, maxCount: 30 }),
    seed: fc.nat(),
    batchSize: fc.integer({ min: 1, max: 12 }),
    epochs: fc.integer({ min: 1, max: 3 }),
    keepLast: opts.keepLast === undefined ? fc.boolean() : fc.constant(opts.keepLast),
    shuffle: fc.boolean(),
  });

describe('epochBatches', () => {
  test.prop([arbPlan({ keepLast: true })], { numRuns: 100 })('each epoch visits every example exactly once (with keepLast)', async (plan) => {
    const { dataset: ds, batchSize, epochs } = plan;
    const batches = await collect(plan);
    const perEpoch = Math.ceil(ds.count / batchSize);
    expect(batches.length).toBe(epochs * perEpoch);
    for (let e = 0; e < epochs; e++) {
      const mine = batches.filter((b) => b.epoch === e);
      expect(mine.map((b) => b.batchInEpoch)).toEqual(Array.from({ length: perEpoch }, (_, i) => i));
      expect(mine.map((b) => b.lastInEpoch)).toEqual(Array.from({ length: perEpoch }, (_, i) => i === perEpoch - 1));
      expect(mine.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual(Array.from({ length: ds.count }, (_, i) => i));
      // each row is the example its index names: labels, and pixels scaled to [0, 1]
      const size = ds.rows * ds.cols;
      for (const b of mine) {
        expect(b.labels).toEqual(b.indices.map((i) => ds.labels[i]!));
        expect(b.inputs).toEqual(b.indices.flatMap((i) => [...ds.images.subarray(i * size, (i + 1) * size)].map((p) => Math.fround(p / 255))));
      }
    }
  });

  test.prop([arbPlan().chain((plan) => fc.tuple(fc.constant(plan), fc.nat()))], { numRuns: 100 })(
    'same seed, same batches; starting at (epoch e, batch k) yields exactly the suffix of the full stream that begins there',
    async ([plan, pick]) => {
      const full = await collect(plan);
      expect(await collect({ ...plan })).toEqual(full);
      // every batch of the stream, and the end of the stream, as a starting point
      const j = pick % (full.length + 1);
      const start = j < full.length ? { epoch: full[j]!.epoch, batch: full[j]!.batchInEpoch } : { epoch: plan.epochs, batch: 0 };
      expect(await collect({ ...plan, start })).toEqual(full.slice(j));
    },
  );
});

describe('epochBatches with reuseInputs', () => {
  test.prop([arbPlan()], { numRuns: 100 })(
    'with reuseInputs, every batch equals the batch without it until the batch after next is pulled',
    async (plan) => {
      const want = await collect(plan);
      const held: { readonly at: number; readonly batch: LabeledBatch }[] = [];
      const snapshots: ReturnType<typeof plain>[] = [];
      let i = 0;
      for await (const b of epochBatches({ ...plan, reuseInputs: true })) {
        expect(b.buffers).toBe('borrowed');
        expect(plain(b)).toEqual(want[i]); // as it is pulled
        // the one before it is still intact now that this one is pulled
        const previous = held.find((h) => h.at === i - 1);
        if (previous !== undefined) expect(plain(previous.batch)).toEqual(want[i - 1]);
        held.push({ at: i, batch: b });
        snapshots.push(plain(snapshotBatch(b)));
        i++;
      }
      expect(i).toBe(want.length);
      expect(snapshots).toEqual(want);
    },
  );

  test.prop([arbPlan({ minCount: 4 })], { numRuns: 50 })('a snapshot stays equal to its batch after the stream has moved on', async (plan) => {
    const kept: LabeledBatch[] = [];
    for await (const b of epochBatches({ ...plan, reuseInputs: true })) kept.push(snapshotBatch(b));
    expect(kept.map(plain)).toEqual(await collect(plan));
    expect(kept.every((b) => !('buffers' in b))).toBe(true);
  });
});

describe('resumePoint', () => {
  test.prop([arbPlan({ minCount: 1 }).chain((plan) => fc.tuple(fc.constant(plan), fc.nat()))], { numRuns: 100 })(
    'resuming after a state continues with the batch that follows it in the full stream',
    async ([plan, pick]) => {
      const full = await collect(plan);
      fc.pre(full.length > 0);
      const j = pick % full.length;
      // the state after training on batch j records its epoch and the batches of it done (as trainStep does)
      const state = { epoch: full[j]!.epoch, batchInEpoch: full[j]!.batchInEpoch + 1 };
      const start = resumePoint(state, batchesPerEpoch(plan.dataset.count, plan.batchSize, plan.keepLast));
      expect(await collect({ ...plan, start })).toEqual(full.slice(j + 1));
    },
  );
});
