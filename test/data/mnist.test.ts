/**
 * The real MNIST files in ../shared/datasets/mnist (beside the repository; never committed here).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentsSha256, defaultChecksumsFile, parseChecksums, readChecksums } from '../../src/data/checksums.js';
import { loadMnist, type Dataset } from '../../src/data/dataset.js';
import { encodeIdx } from '../../src/data/idx.js';
import { findMnistFile, MNIST_FILES, MNIST_NAMES } from '../../src/data/mnistFiles.js';
import { streamExamples } from '../../src/data/streamExamples.js';
import { right } from './helpers.js';

const dir = fileURLToPath(new URL('../../../shared/datasets/mnist/', import.meta.url));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** "Training-set class counts: 0:5923 1:6742 ..." from the dataset's README. */
const readmeCounts = async (): Promise<number[]> => {
  const readme = await readFile(join(dir, 'README.md'), 'utf8');
  const line = /Training-set class counts:(.*)/.exec(readme)?.[1] ?? '';
  return [...line.matchAll(/(\d+):(\d+)/g)].map((m) => Number(m[2]));
};

const counts = (ds: Dataset): number[] => {
  const c = new Array<number>(ds.classes).fill(0);
  for (const l of ds.labels) c[l]!++;
  return c;
};

describe('real MNIST', () => {
  it('loads 60,000 + 10,000 28x28 examples whose class counts match the README and bytes match SHA256SUMS', async () => {
    const { train, test } = right(await loadMnist(dir));
    expect([train.count, train.rows, train.cols, train.classes]).toEqual([60_000, 28, 28, 10]);
    expect([test.count, test.rows, test.cols, test.classes]).toEqual([10_000, 28, 28, 10]);
    const readme = await readmeCounts();
    expect(readme).toHaveLength(10);
    expect(counts(train)).toEqual(readme);
    expect(counts(test).reduce((a, b) => a + b, 0)).toBe(10_000);
    // Re-encoding what was loaded must give the exact decompressed files the checksums describe.
    const sums = right(await readChecksums(join(dir, 'SHA256SUMS')));
    expect(sha(encodeIdx({ dims: [train.count, 28, 28], data: train.images }))).toBe(sums.get(MNIST_FILES.trainImages));
    expect(sha(encodeIdx({ dims: [train.count], data: train.labels }))).toBe(sums.get(MNIST_FILES.trainLabels));
    expect(sha(encodeIdx({ dims: [test.count, 28, 28], data: test.images }))).toBe(sums.get(MNIST_FILES.testImages));
    expect(sha(encodeIdx({ dims: [test.count], data: test.labels }))).toBe(sums.get(MNIST_FILES.testLabels));

    // streamExamples reads the same test set, example by example.
    let i = 0;
    for await (const ex of streamExamples(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'))) {
      if (ex.label !== test.labels[i] || sha(ex.image) !== sha(test.images.subarray(i * 784, (i + 1) * 784))) expect.fail(`example ${i} differs`);
      i++;
    }
    expect(i).toBe(10_000);
  });

  it('the committed data/mnist.sha256 agrees with SHA256SUMS and with the files', async () => {
    const shared = right(parseChecksums(await readFile(join(dir, 'SHA256SUMS'), 'utf8'), 'SHA256SUMS'));
    const committed = right(await readChecksums(defaultChecksumsFile()));
    expect(committed).toEqual(shared);
    for (const name of MNIST_NAMES) {
      const file = findMnistFile(dir, name);
      expect(file).toBeDefined();
      expect(right(await contentsSha256(file!))).toBe(committed.get(name));
    }
  });
});
