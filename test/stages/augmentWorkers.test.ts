import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { epochBatches } from '../../src/stages/epochs.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { LabeledBatch } from '../../src/stages/batch.js';

// Needs the build (dist/src/data/distort.js, made by `npm run build:ts`, as npm ci does): the workers
// import distortMany from there.

const images = (count: number, seed: number) => Uint8Array.from({ length: count * 28 * 28 }, (_, i) => ((i * 2654435761 + seed) >>> 24) & 0xff);
const collect = async (plan: Parameters<typeof epochBatches>[0]): Promise<LabeledBatch[]> => {
  const out: LabeledBatch[] = [];
  for await (const b of epochBatches(plan)) out.push(b);
  return out;
};
const same = (a: LabeledBatch[], b: LabeledBatch[]) => {
  expect(b.length).toBe(a.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    expect([y.epoch, y.batchInEpoch, y.lastInEpoch]).toEqual([x.epoch, x.batchInEpoch, x.lastInEpoch]);
    expect(Buffer.from(y.inputs.data.buffer, y.inputs.data.byteOffset, y.inputs.data.byteLength).equals(Buffer.from(x.inputs.data.buffer, x.inputs.data.byteOffset, x.inputs.data.byteLength))).toBe(true);
    expect([...y.labels]).toEqual([...x.labels]);
    expect([...y.indices]).toEqual([...x.indices]);
  });
};

describe('augmentation on worker threads', () => {
  it('augmentation determinism: 1 and 2 worker threads give the same bits as this thread, whatever the batch size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), async (count, seed, batchSize, elastic) => {
        const dataset: Dataset = { count, rows: 28, cols: 28, classes: 10, images: images(count, seed), labels: Uint8Array.from({ length: count }, (_, i) => (i * 7 + seed) % 10) };
        const augment = { affine: { shift: 2, rotation: 10, scale: 0.1, shear: 0.2 }, ...(elastic && { elastic: { alpha: 34, sigma: 4 } }) };
        const plan = { dataset, seed, batchSize, epochs: 2, augment };
        const here = await collect(plan);
        same(here, await collect({ ...plan, batchWorkers: 1 }));
        same(here, await collect({ ...plan, batchWorkers: 2, readAhead: 3 }));
        // and the distortion did something (the images are not the plain ones)
        const plain = await collect({ dataset, seed, batchSize, epochs: 2 });
        expect(here.some((b, i) => b.inputs.data.some((v, k) => v !== plain[i]!.inputs.data[k]))).toBe(true);
      }),
      { numRuns: 8 },
    );
  }, 120_000);

  it('without augmentation, batch workers give the bits of this thread (gather and scale only), for uint8 and float32 images', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), async (count, seed, batchSize, float) => {
        const bytes = images(count, seed);
        const dataset: Dataset = { count, rows: 28, cols: 28, classes: 10, images: float ? Float32Array.from(bytes, (v) => v / 255) : bytes, labels: Uint8Array.from({ length: count }, (_, i) => (i * 3 + seed) % 10) };
        const plan = { dataset, seed, batchSize, epochs: 2 };
        const here = await collect(plan);
        same(here, await collect({ ...plan, batchWorkers: 1 }));
        same(here, await collect({ ...plan, batchWorkers: 2, readAhead: 1 }));
      }),
      { numRuns: 6 },
    );
  }, 120_000);

  it('without SharedArrayBuffer (a page that is not cross-origin isolated), the workers get copies and give the same bits', async () => {
    const count = 19;
    const dataset: Dataset = { count, rows: 28, cols: 28, classes: 10, images: images(count, 9), labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
    const plan = { dataset, seed: 4, batchSize: 5, epochs: 2, augment: { affine: { shift: 2, rotation: 10, scale: 0.1, shear: 0.2 } } };
    const here = await collect(plan);
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      expect(typeof SharedArrayBuffer).toBe('undefined');
      same(here, await collect({ ...plan, batchWorkers: 1 }));
    } finally {
      vi.unstubAllGlobals();
    }
    expect(typeof SharedArrayBuffer).toBe('function');
  }, 60_000);

  it('with workers, a run started mid-epoch yields the suffix of the full stream', async () => {
    const count = 23;
    const dataset: Dataset = { count, rows: 28, cols: 28, classes: 10, images: images(count, 3), labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
    const plan = { dataset, seed: 5, batchSize: 4, epochs: 2, augment: { affine: { shift: 2, rotation: 10 } }, batchWorkers: 2 };
    const full = await collect(plan);
    same(full.slice(6 + 2), await collect({ ...plan, start: { epoch: 1, batch: 2 } }));
  }, 60_000);
});
