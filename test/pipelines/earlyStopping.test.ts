/**
 * The early-stopping example on a task built to overfit (few training examples, 40% of their labels random):
 * it stops for lack of improvement, and the network it restores is the one with the best validation loss.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { earlyStoppingDefaults, trainWithEarlyStopping } from '../../pipelines/examples/earlyStopping.js';
import { validate } from '../../src/stages/validate.js';
import { initNetwork } from '../../src/nn/init.js';
import { networksEqual } from '../../src/nn/network.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { rx } from '../../src/stages/stage.js';
import { initialTrainState } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import { unwrap } from '../arb/network.js';
import { synthetic } from './synthetic.js';

const train = synthetic({ count: 60, seed: 50, labelNoise: 0.4 });
const validation = synthetic({ count: 300, seed: 51 });
const test = synthetic({ count: 300, seed: 52 });

describe('early stopping example', () => {
  it('stops after `patience` epochs without improvement and restores the network with the best validation loss', async () => {
    const { last, best, network, stoppedBecause } = await trainWithEarlyStopping({ train, validation });
    const { patience, maxEpochs } = earlyStoppingDefaults;
    expect(stoppedBecause).toMatch(/^early stopping: no validation improvement for 3 epochs/);
    expect(last.epochsCompleted).toBeLessThan(maxEpochs);
    expect(best).toBeDefined();
    expect(best!.epoch).toBe(last.epoch - patience);
    expect(network).toBe(best!.network);
    expect(networksEqual(network, last.network)).toBe(false);
    // the restored network really is the one that scored best.loss, and the last one is worse
    const restored = evaluate(network, validation, { loss: 'cross-entropy', batchSize: 37 });
    expect(restored.loss).toBeCloseTo(best!.loss, 6);
    expect(evaluate(last.network, validation, { loss: 'cross-entropy' }).loss).toBeGreaterThan(restored.loss);
    expect(evaluate(network, test, { loss: 'cross-entropy' }).accuracy).toBeGreaterThan(0.8); // chance is 1/3
  });

  it('the validation record holds the minimum validation loss so far, on every state, mid-epoch ones included', async () => {
    const net = unwrap(initNetwork({ sizes: [35, 64, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
    const opt = unwrap(optimizer({ kind: 'momentum', lr: 0.1, momentum: 0.9 }));
    const states = await lastValueFrom(
      from(epochBatches({ dataset: train, seed: 1, batchSize: 16, epochs: 12 })).pipe(
        rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt))),
        rx(validate(validation, { loss: 'cross-entropy', metric: 'loss' })),
        toArray(),
      ),
    );
    let bestLoss = Infinity;
    let bestEpoch = -1;
    for (const s of states) {
      if (s.endOfEpoch) {
        const loss = evaluate(s.network, validation, { loss: 'cross-entropy', batchSize: 64 }).loss; // independent re-evaluation
        expect(s.validation!.loss).toBeCloseTo(loss, 6);
        if (loss < bestLoss - 1e-6) [bestLoss, bestEpoch] = [loss, s.epoch];
        expect(s.validation!.sinceBest).toBe(s.epoch - bestEpoch);
      }
      if (bestEpoch >= 0) {
        expect(s.validation!.best.epoch).toBe(bestEpoch);
        expect(s.validation!.best.loss).toBeCloseTo(bestLoss, 6);
      } else expect(s.validation).toBeUndefined();
    }
    expect(bestEpoch).toBeLessThan(11); // the run did overfit: the best epoch is not the last
  });
});
