/**
 * The cost of augmentation per 60,000-image epoch on one thread: `distortImage` over every MNIST training
 * image (the TypeScript warp, what `--batch-threads 0` runs), and `batchInputs` over batches of 128 (the
 * wasm kernel and the scaling to network inputs, what a batch worker runs), for the affine part
 * alone, the elastic part alone and both (one resampling), each timed over `--images` images (default all
 * 60,000) and scaled to 60,000; then, side by side in the same process, a
 * training pass of the default network (784-1000-10, batch 128, momentum) over the same images on the
 * fastest backend, so the two can be compared on a machine whose load varies.
 *
 *   npx tsc -p test/bench/tsconfig.json && nice -n 10 node dist/test/bench/augment.js [--images N] [--rounds R]
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../src/data/dataset.js';
import { distortImage, type DistortSpec } from '../../src/data/distort.js';
import { batchInputs, warpKernel } from '../../src/data/warpKernel.js';
import { backprop } from '../../src/nn/grad.js';
import { initialState, move } from '../../src/optim/move.js';
import { defaultOptimizer, type OptimizerConfig } from '../../src/optim/optimizer.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { takeDataset } from '../../src/stages/read.js';
import { setBackend } from '../../src/tensor/registry.js';
import { resolveBackend } from '../../src/tensor/select.js';
import { reusableWorkspace } from '../../src/tensor/workspace.js';
import { initialNetwork, MNIST_DIR } from './common.js';

const { values: opt } = parseArgs({ options: { images: { type: 'string', default: '60000' }, rounds: { type: 'string', default: '2' } }, strict: true });
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
const resolved = await resolveBackend('auto');
if (E.isLeft(resolved)) throw new Error(resolved.left.message);
const backend = resolved.right.backend;
setBackend(backend);
const momentum: OptimizerConfig = { ...defaultOptimizer, kind: 'momentum', lr: 0.1, momentum: 0.9 };

const augmentEpoch = (spec: DistortSpec): number => {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += distortImage(train.images.subarray(i * size, (i + 1) * size), train.rows, train.cols, spec, { seed: 1, epoch: 0, index: i })[size >> 1]!;
  if (sink < 0) throw new Error('unreachable');
  return ((performance.now() - t0) / 1000) * (60000 / n);
};
const workerEpoch = async (spec: DistortSpec): Promise<number> => {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i += 128) {
    const count = Math.min(128, n - i);
    const indices = Uint32Array.from({ length: count }, (_, j) => i + j);
    sink += (await batchInputs({ images: train.images, at: indices, indices, rows: train.rows, cols: train.cols, spec, seed: 1, epoch: 0 }))[size >> 1]!;
  }
  if (sink < 0) throw new Error('unreachable');
  return ((performance.now() - t0) / 1000) * (60000 / n);
};
if ((await warpKernel()) === undefined) throw new Error('dist/wasm/warp.wasm is missing: run npm run build:wasm');
const trainEpoch = async (): Promise<number> => {
  const step = move(momentum, backend);
  const ws = reusableWorkspace(backend.alloc?.bind(backend));
  let net = initialNetwork(1000);
  let state = initialState(momentum, net);
  const t0 = performance.now();
  for await (const b of epochBatches({ dataset: takeDataset(train, 0, n), seed: 1, batchSize: 128, epochs: 1 })) {
    const moved = step(net, backprop('cross-entropy', net, b, backend, ws).gradient, state);
    net = moved.network;
    state = moved.state;
  }
  return ((performance.now() - t0) / 1000) * (60000 / n);
};

console.log(`${n} MNIST training images, seconds scaled to a 60,000-image epoch; distortImage and batchInputs on one thread; training on ${backend.description}`);
for (let round = 1; round <= Number(opt.rounds); round++) {
  const t = await trainEpoch();
  const parts: string[] = [];
  for (const [label, spec] of specs) parts.push(`${label}: distortImage ${augmentEpoch(spec).toFixed(2)} s, batchInputs ${(await workerEpoch(spec)).toFixed(2)} s`);
  console.log(`round ${round}: training epoch (784-1000-10, batch 128) ${t.toFixed(2)} s; ${parts.join('; ')}`);
}
