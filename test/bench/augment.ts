/**
 * The cost of augmentation per 60,000-image epoch on one thread: `distortImage` over every MNIST training
 * image, for the affine part alone, the elastic part alone and both (one resampling), each timed over
 * `--images` images (default all 60,000) and scaled to 60,000.
 *
 *   npx tsc -p test/bench/tsconfig.json && nice -n 10 node dist/test/bench/augment.js [--images N]
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../src/data/dataset.js';
import { distortImage, type DistortSpec } from '../../src/data/distort.js';
import { MNIST_DIR } from './common.js';

const { values: opt } = parseArgs({ options: { images: { type: 'string', default: '60000' } }, strict: true });
const data = await loadMnist(MNIST_DIR);
if (E.isLeft(data)) throw new Error(data.left.message);
const train = data.right.train;
const n = Math.min(Number(opt.images), train.count);
const size = train.rows * train.cols;

const specs: readonly (readonly [string, DistortSpec])[] = [
  ['affine (shift 2, rotation 10, scale 0.1, shear 0.2)', { affine: { shift: 2, rotation: 10, scale: 0.1, shear: 0.2 } }],
  ['elastic (alpha 34, sigma 4)', { elastic: { alpha: 34, sigma: 4 } }],
  ['affine + elastic, one resampling', { affine: { shift: 2, rotation: 10, scale: 0.1, shear: 0.2 }, elastic: { alpha: 34, sigma: 4 } }],
];
console.log(`distortImage over ${n} MNIST training images, one thread (seconds scaled to 60,000 images)`);
for (const [label, spec] of specs) {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += distortImage(train.images.subarray(i * size, (i + 1) * size), train.rows, train.cols, spec, { seed: 1, epoch: 0, index: i })[size >> 1]!;
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${((s * 60000) / n).toFixed(2)} s per epoch (${((1e6 * s) / n).toFixed(1)} us per image; checksum ${sink})`);
}
