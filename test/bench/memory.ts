/**
 * Peak memory of one shuffled, batched pass over the 60,000 MNIST training images, with no training
 * (a script, not a test). Prints the peak resident set size.
 *
 * Run: npx tsc -p tsconfig.json && node dist/test/bench/memory.js [batchSize]
 */
import * as E from 'fp-ts/lib/Either.js';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../src/data/dataset.js';
import { MNIST_FILES } from '../../src/data/mnistFiles.js';
import { epochBatches } from '../../src/stages/epochs.js';

const dir = fileURLToPath(new URL('../../../../shared/datasets/mnist/', import.meta.url));
const batchSize = Number(process.argv[2] ?? 128);
const mb = (n: number) => (n / 2 ** 20).toFixed(1);

const before = process.memoryUsage().rss;
const data = await loadDataset(`${dir}${MNIST_FILES.trainImages}.gz`, `${dir}${MNIST_FILES.trainLabels}.gz`);
if (E.isLeft(data)) throw new Error(data.left.message);
const loaded = process.memoryUsage().rss;
let peak = loaded;
let rows = 0;
let checksum = 0;
const t0 = performance.now();
for await (const b of epochBatches({ dataset: data.right, seed: 1, batchSize, epochs: 1 })) {
  rows += b.inputs.rows;
  checksum += b.labels[0]!;
  peak = Math.max(peak, process.memoryUsage().rss);
}
const seconds = (performance.now() - t0) / 1000;
console.log(`rows ${rows} (label checksum ${checksum}), batch ${batchSize}, ${seconds.toFixed(2)} s`);
console.log(`RSS: start ${mb(before)} MB, after loading the training set ${mb(loaded)} MB, peak during the pass ${mb(peak)} MB`);
console.log(`process peak RSS (getrusage maxRSS): ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
