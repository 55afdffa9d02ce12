/**
 * Whole pipelines on real MNIST: the determinism law, resume, and learning. One training run costs seconds,
 * so these are example-based rather than 100-run properties.
 */
import { from, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { initNetwork } from '../../src/nn/init.js';
import { networksEqual } from '../../src/nn/network.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { toCheckpoint, fromCheckpoint } from '../../src/stages/checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/io/checkpoint.js';
import { epochBatches, resumePoint } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { takeDataset } from '../../src/stages/read.js';
import { rx } from '../../src/stages/stage.js';
import { anyOf, diverged, maxEpochs, maxSteps, stopWhen } from '../../src/stages/stopWhen.js';
import { initialTrainState, snapshot, type TrainState } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import type { Dataset } from '../../src/data/dataset.js';
import { unwrap } from '../arb/network.js';
import { mnist } from '../support/mnist.js';

const run = async (train: Dataset, seed: number, epochs: number, start?: TrainState, steps?: number) => {
  const net = unwrap(initNetwork({ sizes: [784, 32, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, seed));
  const opt = unwrap(optimizer({ kind: 'adam', lr: 0.002 }));
  const s0 = start ?? initialTrainState(net, opt);
  const perEpoch = Math.ceil(train.count / 50);
  const last = await lastValueFrom(
    from(epochBatches({ dataset: train, seed, batchSize: 50, epochs, classes: 10, start: resumePoint(s0, perEpoch) })).pipe(
      rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, s0)),
      rx(stopWhen(anyOf(diverged, maxEpochs(epochs), ...(steps === undefined ? [] : [maxSteps(steps)])))),
    ),
  );
  return snapshot(last.state);
};

describe('pipelines on MNIST', () => {
  it('Determinism: the whole pipeline with the same seed yields bit-identical networks twice in a row', async () => {
    const { train } = await mnist();
    const small = takeDataset(train, 0, 1500);
    const a = await run(small, 7, 2);
    const b = await run(small, 7, 2);
    expect(networksEqual(a.network, b.network)).toBe(true);
    const c = await run(small, 8, 2);
    expect(networksEqual(a.network, c.network)).toBe(false);
  });

  it('resuming from a checkpoint taken mid-epoch gives a bit-identical network', async () => {
    const { train } = await mnist();
    const small = takeDataset(train, 0, 1500);
    const full = await run(small, 3, 2);
    const partial = await run(small, 3, 2, undefined, 41); // stop mid-way through epoch 1 (30 batches per epoch)
    expect(partial.epoch).toBe(1);
    const bytes = encodeCheckpoint(toCheckpoint(partial, { note: 'test' }));
    const restored = unwrap(fromCheckpoint(unwrap(decodeCheckpoint(bytes, 'mem')), 'mem')).state;
    expect(networksEqual(restored.network, partial.network)).toBe(true);
    const resumed = await run(small, 3, 2, restored);
    expect(resumed.step).toBe(full.step);
    expect(networksEqual(resumed.network, full.network)).toBe(true);
  });

  it('a 784-100-10 network trained by composing the stages on the first 10,000 training images, 2 epochs, reaches at least 90% on the 10,000 test images', async () => {
    const { train, test } = await mnist();
    const first = takeDataset(train, 0, 10_000);
    const net = unwrap(initNetwork({ sizes: [784, 100, 10], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    const opt = unwrap(optimizer({ kind: 'momentum', lr: 0.05, momentum: 0.9 }));
    const { state: final } = await lastValueFrom(
      from(epochBatches({ dataset: first, seed: 1, batchSize: 32, epochs: 2 })).pipe(
        rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt))),
        rx(stopWhen(anyOf(diverged, maxEpochs(2)))),
      ),
    );
    expect(final.epochsCompleted).toBe(2);
    const e = evaluate(final.network, test, { loss: 'cross-entropy' });
    expect(e.count).toBe(10_000);
    expect(e.accuracy).toBeGreaterThanOrEqual(0.9);
  });
});
