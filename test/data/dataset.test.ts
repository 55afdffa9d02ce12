import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/data/dataset.js';
import { encodeIdx } from '../../src/data/idx.js';
import { MNIST_FILES } from '../../src/data/mnistFiles.js';
import { streamExamples, type Example } from '../../src/data/streamExamples.js';
import { GradpipeException } from '../../src/errors.js';
import { arbMnistPair, type MnistPair } from '../arb/idx.js';
import { left, right, withTmpDir } from './helpers.js';

const u8 = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

/** Writes a pair as `<stem>-images` and `<stem>-labels`; their paths. */
const writePair = async (dir: string, stem: string, p: MnistPair, gzip = false): Promise<[string, string]> => {
  const files: [string, string] = [join(dir, `${stem}-images`), join(dir, `${stem}-labels`)];
  await writeFile(files[0], encodeIdx({ dims: [p.count, p.rows, p.cols], data: p.images }, { gzip }));
  await writeFile(files[1], encodeIdx({ dims: [p.count], data: p.labels }, { gzip }));
  return files;
};

const pair = (count: number, rows: number, cols: number, labels: number[]): MnistPair => ({
  count,
  rows,
  cols,
  images: Uint8Array.from({ length: count * rows * cols }, (_v, i) => i % 256),
  labels: Uint8Array.from(labels),
});

const collect = async (it: AsyncIterable<Example>): Promise<Example[]> => {
  const out: Example[] = [];
  for await (const ex of it) out.push(ex);
  return out;
};

const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

describe('loadDataset', () => {
  it('loads what was written: images, labels, shape, and classes = largest label + 1 (at least 2)', async () => {
    await withTmpDir(async (dir) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(arbMnistPair(), fc.boolean(), async (p, gzip) => {
          const [fi, fl] = await writePair(dir, `p${n++}`, p, gzip);
          const ds = right(await _.loadDataset(fi, fl));
          expect(ds).toEqual({ count: p.count, rows: p.rows, cols: p.cols, classes: Math.max(2, Math.max(...p.labels) + 1), images: p.images, labels: p.labels });
        }),
        { numRuns: 100 },
      );
    });
  });

  it('enforces classes when given, naming the label and its index', async () => {
    await withTmpDir(async (dir) => {
      const [fi, fl] = await writePair(dir, 'a', pair(4, 2, 2, [0, 3, 9, 1]));
      expect(right(await _.loadDataset(fi, fl, { classes: 10 })).classes).toBe(10);
      const e = left(await _.loadDataset(fi, fl, { classes: 5 }));
      expect(e).toMatchObject({ _tag: 'DataError', where: fl });
      expect(e.message).toMatch(/label 9 at index 2 is outside 0\.\.4/);
    });
  });

  it('reports a count mismatch naming both files', async () => {
    await withTmpDir(async (dir) => {
      const [fi] = await writePair(dir, 'a', pair(3, 2, 2, [0, 1, 2]));
      const [, fl] = await writePair(dir, 'b', pair(4, 2, 2, [0, 1, 2, 3]));
      const e = left(await _.loadDataset(fi, fl));
      expect(e.where).toBe(fi);
      expect(e.message).toBe(`has 3 images but ${fl} has 4 labels`);
    });
  });

  it('reports images that do not fit the network input, naming both sizes', async () => {
    await withTmpDir(async (dir) => {
      const [fi, fl] = await writePair(dir, 'a', pair(2, 3, 4, [0, 1]));
      expect(right(await _.loadDataset(fi, fl, { expectRows: 2, expectCols: 6 })).rows).toBe(3);
      const e = left(await _.loadDataset(fi, fl, { expectRows: 28, expectCols: 28 }));
      expect(e.message).toMatch(/images are 3x4 = 12 pixels but the network input expects 28x28 = 784/);
    });
  });

  it('reports swapped files, empty datasets and bad options', async () => {
    await withTmpDir(async (dir) => {
      const [fi, fl] = await writePair(dir, 'a', pair(2, 1, 1, [0, 1]));
      expect(left(await _.loadDataset(fl, fi)).message).toMatch(/expected images \(3-D IDX/);
      expect(left(await _.loadDataset(fi, fi)).message).toMatch(/expected labels \(1-D IDX/);
      const [ei, el] = await writePair(dir, 'empty', pair(0, 2, 2, []));
      expect(left(await _.loadDataset(ei, el)).message).toMatch(/no examples/);
      expect(left(await _.loadDataset(fi, fl, { classes: 1 }))).toMatchObject({ _tag: 'OptionError', where: 'classes' });
      expect(left(await _.loadDataset(fi, fl, { expectRows: 28 }))).toMatchObject({ _tag: 'OptionError' });
      expect(left(await _.loadDataset(join(dir, 'missing'), fl)).message).toMatch(/not found/);
    });
  });
});

describe('loadMnist', () => {
  const writeMnist = async (dir: string, train: MnistPair, test: MnistPair): Promise<void> => {
    // Mixed storage on purpose: gzipped train files, raw test files.
    await writeFile(join(dir, `${MNIST_FILES.trainImages}.gz`), encodeIdx({ dims: [train.count, train.rows, train.cols], data: train.images }, { gzip: true }));
    await writeFile(join(dir, `${MNIST_FILES.trainLabels}.gz`), encodeIdx({ dims: [train.count], data: train.labels }, { gzip: true }));
    await writeFile(join(dir, MNIST_FILES.testImages), encodeIdx({ dims: [test.count, test.rows, test.cols], data: test.images }));
    await writeFile(join(dir, MNIST_FILES.testLabels), encodeIdx({ dims: [test.count], data: test.labels }));
  };

  it('finds the four files, .gz or raw, and shares one class count', async () => {
    await withTmpDir(async (dir) => {
      await writeMnist(dir, pair(5, 2, 3, [0, 1, 2, 3, 4]), pair(3, 2, 3, [7, 0, 1]));
      const { train, test } = right(await _.loadMnist(dir));
      expect([train.count, test.count, train.classes, test.classes]).toEqual([5, 3, 8, 8]);
      expect(test.labels).toEqual(u8(7, 0, 1));
    });
  });

  it('reports a missing file by the names it looked for, and train/test size mismatches', async () => {
    await withTmpDir(async (dir) => {
      await writeMnist(dir, pair(2, 2, 3, [0, 1]), pair(2, 3, 2, [0, 1]));
      expect(left(await _.loadMnist(dir)).message).toMatch(/test images are 3x2 but training images .* are 2x3/);
      await rm(join(dir, MNIST_FILES.testLabels));
      const e = left(await _.loadMnist(dir));
      expect(e.where).toBe(`${join(dir, MNIST_FILES.testLabels)}.gz or ${join(dir, MNIST_FILES.testLabels)}`);
      expect(e.hint).toMatch(/gradpipe download/);
    });
  });
});

describe('streamExamples', () => {
  it('yields the examples loadDataset loads, in order', async () => {
    await withTmpDir(async (dir) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(arbMnistPair({ maxCount: 20 }), fc.boolean(), async (p, gzip) => {
          const [fi, fl] = await writePair(dir, `p${n++}`, p, gzip);
          const ds = right(await _.loadDataset(fi, fl));
          const size = ds.rows * ds.cols;
          const expected = Array.from({ length: ds.count }, (_v, index) => ({
            image: ds.images.slice(index * size, (index + 1) * size),
            label: ds.labels[index],
            index,
          }));
          expect(await collect(streamExamples(fi, fl))).toEqual(expected);
        }),
        { numRuns: 100 },
      );
    });
  });

  it('checks both headers before the first example', async () => {
    await withTmpDir(async (dir) => {
      const [fi] = await writePair(dir, 'a', pair(3, 2, 2, [0, 1, 2]));
      const [, fl] = await writePair(dir, 'b', pair(4, 2, 2, [0, 1, 2, 3]));
      const seen: Example[] = [];
      const err = await (async () => {
        try {
          for await (const ex of streamExamples(fi, fl)) seen.push(ex);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(GradpipeException);
      expect((err as GradpipeException).error.message).toMatch(/has 3 images but .* has 4 labels/);
      expect(seen).toEqual([]);
    });
  });

  it('throws a GradpipeException for a label outside the given classes', async () => {
    await withTmpDir(async (dir) => {
      const [fi, fl] = await writePair(dir, 'a', pair(3, 1, 1, [0, 1, 5]));
      await expect(collect(streamExamples(fi, fl, { classes: 3 }))).rejects.toThrow(/label 5 at index 2 is outside 0\.\.2/);
    });
  });

  it('closes both files when the consumer stops early', async () => {
    await withTmpDir(async (dir) => {
      const big = pair(20_000, 8, 8, Array.from({ length: 20_000 }, (_v, i) => i % 10));
      const [fi, fl] = await writePair(dir, 'a', big); // raw and > 1 MB: many reads, so the files stay open mid-stream
      const before = await openFds();
      let taken = 0;
      for await (const ex of streamExamples(fi, fl)) {
        if (ex.index === 10) break;
        taken++;
      }
      // Closing file streams finishes on a later tick.
      await new Promise((r) => setTimeout(r, 50));
      expect(taken).toBe(10);
      expect(await openFds()).toBe(before);
    });
  });
});
