/**
 * Experiments toward `--preset best`: trains an MLP on the first 50,000 MNIST training images with the
 * library's stages (epochBatches with optional augmentation, backprop with optional dropout, move with a
 * schedule) and reports validation accuracy on the last 10,000 training images after every epoch. The
 * test set is evaluated only with --test (for the final choice, never for choosing).
 *
 *   npx tsc -p test/bench/tsconfig.json && nice -n 10 node dist/test/bench/accuracy-preset.js \
 *     --hidden 1000 --epochs 6 [--affine 2,10,0.1,0.2] [--elastic 34,4] [--dropout 0.2] [--lr 0.1] [--test]
 *
 * Prints one line per epoch and a final JSON line with the configuration, the accuracies and the times.
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseArgs } from 'node:util';
import { loadMnist } from '../../src/data/dataset.js';
import type { DistortSpec } from '../../src/data/distort.js';
import { backprop } from '../../src/nn/grad.js';
import { initNetwork } from '../../src/nn/init.js';
import type { Network } from '../../src/nn/network.js';
import { initialState, move } from '../../src/optim/move.js';
import { defaultOptimizer, type OptimizerConfig } from '../../src/optim/optimizer.js';
import { learningRateAt } from '../../src/optim/schedule.js';
import { batchesPerEpoch, epochBatches } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { takeDataset } from '../../src/stages/read.js';
import { resolveBackend, type BackendChoice } from '../../src/tensor/select.js';
import { setBackend } from '../../src/tensor/registry.js';
import { reusableWorkspace } from '../../src/tensor/workspace.js';
import { MNIST_DIR } from './common.js';

const { values: opt } = parseArgs({
  options: {
    hidden: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '6' },
    batch: { type: 'string', default: '128' },
    lr: { type: 'string', default: '0.1' },
    momentum: { type: 'string', default: '0.9' },
    affine: { type: 'string' },
    elastic: { type: 'string' },
    dropout: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
    test: { type: 'boolean', default: false },
  },
  strict: true,
});
const hidden = opt.hidden.split(',').map(Number);
const epochs = Number(opt.epochs);
const batchSize = Number(opt.batch);
const seed = Number(opt.seed);
const rate = Number(opt.dropout);
const nums = (s: string | undefined) => s?.split(',').map(Number);
const af = nums(opt.affine);
const el = nums(opt.elastic);
const spec: DistortSpec | undefined =
  af || el
    ? { ...(af && { affine: { shift: af[0]!, rotation: af[1] ?? 0, scale: af[2] ?? 0, shear: af[3] ?? 0 } }), ...(el && { elastic: { alpha: el[0]!, sigma: el[1]! } }) }
    : undefined;

const data = await loadMnist(MNIST_DIR);
if (E.isLeft(data)) throw new Error(data.left.message);
const resolved = await resolveBackend(opt.backend as BackendChoice);
if (E.isLeft(resolved)) throw new Error(resolved.left.message);
const backend = resolved.right.backend;
setBackend(backend);
const all = data.right.train;
const train = takeDataset(all, 0, all.count - 10_000);
const validation = takeDataset(all, all.count - 10_000, all.count);

const init = initNetwork({ sizes: [784, ...hidden, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, seed);
if (E.isLeft(init)) throw new Error(init.left.message);
const optimizer: OptimizerConfig = { ...defaultOptimizer, kind: 'momentum', lr: Number(opt.lr), momentum: Number(opt.momentum) };
const step = move(optimizer, backend);
const ws = reusableWorkspace(backend.alloc?.bind(backend));
const perEpoch = batchesPerEpoch(train.count, batchSize);
let net: Network = init.right;
let state = initialState(optimizer, net);
let steps = 0;
let trainSeconds = 0;
const history: { epoch: number; seconds: number; validationAccuracy: number }[] = [];
let t0 = performance.now();
for await (const b of epochBatches({ dataset: train, seed, batchSize, epochs, ...(spec && { augment: spec }) })) {
  const lr = learningRateAt({ kind: 'cosine' }, optimizer.lr, b.epoch, b.batchInEpoch / perEpoch, epochs);
  const bp = backprop('cross-entropy', net, b, backend, ws, rate > 0 ? { rate, seed, step: steps } : undefined);
  const moved = step(net, bp.gradient, state, lr);
  net = moved.network;
  state = moved.state;
  steps++;
  if (b.lastInEpoch) {
    trainSeconds += (performance.now() - t0) / 1000;
    const v = evaluate(net, validation, { loss: 'cross-entropy', backend });
    history.push({ epoch: b.epoch + 1, seconds: trainSeconds, validationAccuracy: v.accuracy });
    console.log(`epoch ${b.epoch + 1}: ${trainSeconds.toFixed(1)} s training, validation accuracy ${(100 * v.accuracy).toFixed(2)}%, loss ${v.loss.toFixed(4)}`);
    t0 = performance.now();
  }
}
const test = opt.test ? evaluate(net, data.right.test, { loss: 'cross-entropy', backend }).accuracy : undefined;
console.log(JSON.stringify({ hidden, epochs, batchSize, lr: optimizer.lr, momentum: optimizer.momentum, augment: spec ?? null, dropout: rate, seed, backend: backend.description, trainSeconds, validationAccuracy: history.at(-1)?.validationAccuracy, testAccuracy: test ?? null, loadAverage: (await import('node:os')).loadavg()[0] }));
