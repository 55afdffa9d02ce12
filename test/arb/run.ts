import { fc } from '@fast-check/vitest';
import { initNetwork } from '../../src/nn/init.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { initialTrainState, type StateView } from '../../src/optim/trainState.js';
import { unwrap } from './network.js';

const opt = unwrap(optimizer({ kind: 'sgd', lr: 0.1 }));

/** A run's states for the taps around the step: each with its own network (seeded, 4-3-3), some ending an epoch, one example per step. */
export const arbRun = fc.array(fc.record({ seed: fc.nat({ max: 50 }), endOfEpoch: fc.boolean() }), { minLength: 1, maxLength: 12 }).map((xs) =>
  xs.map(({ seed, endOfEpoch }, i): StateView => ({
    ...initialTrainState(unwrap(initNetwork({ sizes: [4, 3, 3], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, seed)), opt),
    step: i + 1,
    epoch: i,
    endOfEpoch,
    batchSize: 1,
    examplesSeen: i + 1,
  })),
);
