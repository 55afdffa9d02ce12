/**
 * Bad data (issue 6, point 1): every defect of IDX/MNIST input ends `gradpipe train` with exit 1 and one
 * line `gradpipe: <file>: <what is wrong>; <what to do>`, no stack trace, quickly. Each case damages one
 * file of a valid small MNIST folder. In-process for speed, one case also through the real process.
 */
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, idxBytes, readMnistSlice, rmTmp, runCli, runMain, tmp, writeMnistSlice } from './helpers.js';

const TRAIN = 200;
const TEST = 100;
let root: string;
let n = 0;

/** A fresh valid folder, then `damage` applied to it. */
const damaged = (damage: (dir: string) => void): string => {
  const dir = join(root, `case${n++}`);
  mkdirSync(dir);
  writeMnistSlice(dir, TRAIN, TEST);
  damage(dir);
  return dir;
};

const TRAIN_IMAGES = 'train-images-idx3-ubyte.gz';
const TEST_IMAGES = 't10k-images-idx3-ubyte';
const TEST_LABELS = 't10k-labels-idx1-ubyte';

const patch = (file: string, at: number, bytes: readonly number[]): void => {
  const b = readFileSync(file);
  bytes.forEach((x, i) => (b[at + i] = x));
  writeFileSync(file, b);
};

/** [defect, how to make it, the file the one line must name, words the message must contain]. */
const CASES: readonly (readonly [string, (dir: string) => void, string, RegExp])[] = [
  ['missing file', (d) => rmSync(join(d, TEST_LABELS)), 'data', /missing t10k-labels-idx1-ubyte/],
  ['empty file', (d) => truncateSync(join(d, TEST_IMAGES), 0), TEST_IMAGES, /is empty/],
  ['wrong magic', (d) => patch(join(d, TEST_IMAGES), 0, [0x1f]), TEST_IMAGES, /not an IDX file \(magic 0x1f000803/],
  ['unsupported dtype', (d) => patch(join(d, TEST_IMAGES), 2, [0x0d]), TEST_IMAGES, /unsupported dtype 0x0d/],
  ['truncated body', (d) => truncateSync(join(d, TEST_IMAGES), 16 + 50 * 784), TEST_IMAGES, /only 39200 follow the header: the file is truncated/],
  [
    'corrupt gzip stream',
    (d) => {
      const f = join(d, TRAIN_IMAGES);
      const b = readFileSync(f);
      for (let i = 40; i < b.length - 20; i += 97) b[i] = b[i]! ^ 0xff;
      writeFileSync(f, b);
    },
    TRAIN_IMAGES,
    /corrupt gzip data/,
  ],
  [
    'counts that disagree',
    (d) => writeFileSync(join(d, TEST_LABELS), idxBytes([TEST - 1], readMnistSlice('t10k', TEST - 1).labels)),
    TEST_IMAGES,
    /100 images but .* 99 labels/,
  ],
  ['a claimed count far larger than the file', (d) => patch(join(d, TEST_IMAGES), 4, [0x3b, 0x9a, 0xca, 0x00]), TEST_IMAGES, /claims 1000000000x28x28 = 784000000000 bytes/],
  [
    'labels outside the class range',
    (d) => {
      const labels = readMnistSlice('t10k', TEST).labels;
      labels[7] = 12;
      writeFileSync(join(d, TEST_LABELS), idxBytes([TEST], labels));
    },
    TEST_LABELS,
    /label 12 at index 7/,
  ],
  [
    'images that do not fit the network input',
    (d) => writeFileSync(join(d, TEST_IMAGES), idxBytes([TEST, 20, 20], new Uint8Array(TEST * 400))),
    TEST_IMAGES,
    /20x20 = 400 pixels but the network input expects 28x28 = 784/,
  ],
];

beforeAll(() => {
  root = tmp();
});
afterAll(() => rmTmp(root));

const train = (dir: string): string[] => ['train', '--data', dir, '--layers', '784-16-10', '--epochs', '1', '--out', join(dir, 'out')];

describe('gradpipe train: bad data', () => {
  it.each(CASES)('%s: exit 1, one line naming the file, no stack trace', async (_name, damage, file, words) => {
    const dir = damaged(damage);
    const t0 = performance.now();
    const r = await runMain(train(dir));
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatch(/^gradpipe: .+: .+; .+$/);
    expect(line.slice(0, line.indexOf(': ', 'gradpipe: '.length))).toContain(file === 'data' ? '--data' : file);
    expect(line).toMatch(words);
    expect(line).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('through the real process: one line on stderr, exit 1, no stack trace', async () => {
    ensureBuilt();
    const dir = damaged((d) => truncateSync(join(d, TEST_IMAGES), 16 + 50 * 784));
    const r = await runCli(train(dir));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^gradpipe: [^ ]*${TEST_IMAGES}: `));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
