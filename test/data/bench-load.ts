/**
 * Benchmark of the data layer on the real MNIST files (a script, not a test): time to load the 60k
 * training set into memory, both sets, a zlib one-shot baseline, and streaming the training set with
 * its peak memory. Medians of 5 runs.
 *
 * Run: npx tsc -p tsconfig.json; node --expose-gc dist/test/data/bench-load.js
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { loadDataset, loadMnist } from '../../src/data/dataset.js';
import { streamExamples } from '../../src/data/streamExamples.js';
import { formatError } from '../../src/errors.js';

// dist/test/data/ or test/data/: the shared folder sits beside the repository root.
const here = fileURLToPath(new URL('.', import.meta.url));
const root = here.includes(`${join('dist', 'test')}`) ? join(here, '../../..') : join(here, '../..');
const dir = join(root, '../shared/datasets/mnist');
const file = (n: string): string => join(dir, `${n}.gz`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = async (f: () => Promise<unknown> | unknown, runs = 5): Promise<number> => {
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
};

const must = <T>(e: E.Either<import('../../src/errors.js').GradpipeError, T>): T => {
  if (E.isLeft(e)) {
    console.error(formatError(e.left));
    process.exit(1);
  }
  return e.right;
};

// Streaming first, so no loaded set lingers in the memory baseline.
let peak = 0;
(globalThis as { gc?: () => void }).gc?.();
const base = process.memoryUsage();
const streamMs = await time(async () => {
  let n = 0;
  for await (const ex of streamExamples(file('train-images-idx3-ubyte'), file('train-labels-idx1-ubyte'))) {
    n += ex.label >= 0 ? 1 : 0;
    if (n % 1000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - base.arrayBuffers);
  }
  if (n !== 60_000) throw new Error(`streamed ${n} examples`);
}, 3);

const trainMs = await time(async () => must(await loadDataset(file('train-images-idx3-ubyte'), file('train-labels-idx1-ubyte'))));
const bothMs = await time(async () => must(await loadMnist(dir)));
const zlibMs = await time(() => gunzipSync(readFileSync(file('train-images-idx3-ubyte'))));

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
console.log(`loadDataset(train, 60k x 28x28, gzip): ${trainMs.toFixed(0)} ms (median of 5)`);
console.log(`loadMnist(train + test):                ${bothMs.toFixed(0)} ms`);
console.log(`baseline zlib.gunzipSync(train images):  ${zlibMs.toFixed(0)} ms`);
console.log(`streamExamples(train), 60k examples:     ${streamMs.toFixed(0)} ms (${((60_000 / streamMs) * 1000).toFixed(0)} examples/s), ArrayBuffer growth peak ${mb(peak)} (whole set: ${mb(47_040_000)})`);
