/**
 * The any-IDX-dataset example on generated files (never MNIST): 3 classes of 5x7 images and 4 classes of
 * 6x6 gzipped images, both learnt well above chance; mismatched test files are refused before training.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { trainOnIdx, type IdxFiles } from '../../pipelines/examples/idxDataset.js';
import { inputSize, outputSize } from '../../src/nn/network.js';
import { synthetic, writeIdxPair, type SyntheticSpec } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'gradpipe-idx-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, spec: Omit<SyntheticSpec, 'count' | 'seed'>, gzip = false): IdxFiles => {
  const train = writeIdxPair(join(dir, name), 'train', synthetic({ ...spec, count: 400, seed: 60 }), gzip);
  const test = writeIdxPair(join(dir, name), 't10k', synthetic({ ...spec, count: 300, seed: 61 }), gzip);
  return { trainImages: train.images, trainLabels: train.labels, testImages: test.images, testLabels: test.labels };
};

describe('IDX dataset example', () => {
  it('learns 3 classes of 5x7 images far above chance (1/3), with a 35-input, 3-output network', async () => {
    const r = await trainOnIdx(write('a', { classes: 3, rows: 5, cols: 7 }));
    if (E.isLeft(r)) throw new Error(r.left.message);
    const { network, test } = r.right;
    expect([inputSize(network), outputSize(network)]).toEqual([35, 3]);
    expect(test.count).toBe(300);
    expect(test.confusion).toHaveLength(3);
    expect(test.accuracy).toBeGreaterThan(0.9);
  });

  it('learns 4 classes of gzipped 6x6 images far above chance (1/4)', async () => {
    const r = await trainOnIdx(write('b', { classes: 4, rows: 6, cols: 6, protoSeed: 7, flip: 0.2 }, true));
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect([inputSize(r.right.network), outputSize(r.right.network)]).toEqual([36, 4]);
    expect(r.right.test.accuracy).toBeGreaterThan(0.85);
  });

  it('refuses a test set of another image size or with labels outside the training classes, naming the file', async () => {
    const a = write('c', { classes: 3, rows: 5, cols: 7 });
    const other = write('d', { classes: 4, rows: 6, cols: 6 });
    const size = await trainOnIdx({ ...a, testImages: other.testImages, testLabels: other.testLabels });
    expect(E.isLeft(size) && size.left._tag === 'DataError' && size.left.where === other.testImages).toBe(true);
    expect(E.isLeft(size) && size.left.message).toMatch(/6x6 = 36 pixels but the network input expects 5x7 = 35/);
    const labels = await trainOnIdx({ ...a, testLabels: writeIdxPair(join(dir, 'e'), 't10k', synthetic({ classes: 5, rows: 5, cols: 7, count: 300, seed: 61 })).labels });
    expect(E.isLeft(labels) && labels.left._tag === 'DataError' && labels.left.message).toMatch(/outside 0\.\.2 \(3 classes\)/);
  });
});
