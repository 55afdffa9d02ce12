/** The custom stopping-condition example: it stops for its own reason, at the first state that satisfies it. */
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { smoothedLossBelow, stopDefaults, stopRule, trainUntilLossLow } from '../../pipelines/examples/stopCondition.js';
import { initNetwork } from '../../src/nn/init.js';
import { networksEqual } from '../../src/nn/network.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { epochBatches } from '../../src/stages/epochs.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { rx } from '../../src/stages/stage.js';
import { maxSteps, stopWhen } from '../../src/stages/stopWhen.js';
import { initialTrainState, snapshot, type TrainState } from '../../src/optim/trainState.js';
import { trainStep } from '../../src/stages/trainStep.js';
import { unwrap } from '../arb/network.js';
import { synthetic } from './synthetic.js';

const train = synthetic({ count: 600, seed: 20 });
const test = synthetic({ count: 300, seed: 21 });

/** The same seeded run as the example, without its stop condition, for `steps` steps: every state. */
const everyState = async (steps: number): Promise<TrainState[]> => {
  const net = unwrap(initNetwork({ sizes: [35, 32, 3], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, stopDefaults.seed));
  const opt = unwrap(optimizer({ kind: 'adam', lr: 0.005 }));
  return lastValueFrom(
    from(epochBatches({ dataset: train, seed: stopDefaults.seed, batchSize: 32, epochs: stopDefaults.maxEpochs })).pipe(
      rx(trainStep({ loss: 'cross-entropy', optimizer: opt }, initialTrainState(net, opt))),
      rx(stopWhen(maxSteps(steps))),
      map((o) => snapshot(o.state)),
      toArray(),
    ),
  );
};

/** The smoothed loss recomputed from the emitted states' own batch losses (not from `recent`). */
const meanOfLast = (states: readonly TrainState[], i: number, window: number): number =>
  i + 1 < window ? Infinity : states.slice(i + 1 - window, i + 1).reduce((a, s) => a + s.loss, 0) / window;

describe('custom stop condition example', () => {
  it('stops because the smoothed loss fell below the target, after the minimum epochs, at the first such state', async () => {
    const { last, stoppedBecause } = await trainUntilLossLow(train);
    expect(stoppedBecause).toMatch(/^reached 1 epoch and mean loss of the last 5 steps [\d.]+ is at most 0\.05$/);
    expect(last.epochsCompleted).toBeGreaterThanOrEqual(stopDefaults.minEpochs);
    expect(last.epochsCompleted).toBeLessThan(stopDefaults.maxEpochs);

    const states = await everyState(last.step);
    expect(states).toHaveLength(last.step);
    expect(networksEqual(states.at(-1)!.network, last.network)).toBe(true);
    const satisfied = states.map((s, i) => s.epochsCompleted >= stopDefaults.minEpochs && meanOfLast(states, i, 5) <= stopDefaults.target);
    expect(satisfied.indexOf(true)).toBe(states.length - 1);
    expect(evaluate(last.network, test, { loss: 'cross-entropy' }).accuracy).toBeGreaterThan(0.9);
  });

  it('the condition waits for a full window and compares the window mean with the target', () => {
    const at = (losses: number[]) => ({ recent: losses.map((loss, i) => ({ step: i + 1, activations: [], gradientNorm: 1, loss })) }) as unknown as TrainState;
    const p = smoothedLossBelow(0.1, 3);
    expect(p(at([0.01, 0.01]))).toBeUndefined();
    expect(p(at([9, 0.05, 0.1, 0.1]))).toMatch(/at most 0\.1$/);
    expect(p(at([0.1, 0.1, 0.13]))).toBeUndefined();
    expect(stopRule({ ...stopDefaults, maxEpochs: 2 })({ ...at([1]), epochsCompleted: 2, divergence: undefined } as TrainState)).toBe('reached 2 epochs');
  });
});
