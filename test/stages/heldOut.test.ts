import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { initNetwork } from '../../src/nn/init.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { initialTrainState, type StateView } from '../../src/optim/trainState.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { heldOut } from '../../src/stages/heldOut.js';
import { report, type EpochEvent } from '../../src/stages/report.js';
import { runStage } from '../../src/stages/stage.js';
import { validate } from '../../src/stages/validate.js';
import { randomDataset } from '../arb/dataset.js';
import { unwrap } from '../arb/network.js';
import { outputs } from '../laws/harness.js';

const ds = randomDataset(7, 30, 2, 2, 3);
const opt = unwrap(optimizer({ kind: 'sgd', lr: 0.1 }));

/** A run's states: each with its own network (seeded), some ending an epoch. */
const arbRun = fc.array(fc.record({ seed: fc.nat({ max: 50 }), endOfEpoch: fc.boolean() }), { minLength: 1, maxLength: 12 }).map((xs) =>
  xs.map(({ seed, endOfEpoch }, i): StateView => ({
    ...initialTrainState(unwrap(initNetwork({ sizes: [4, 3, 3], hidden: 'tanh', output: 'softmax' }, { kind: 'glorot' }, seed)), opt),
    step: i + 1,
    epoch: i,
    endOfEpoch,
    batchSize: 1,
    examplesSeen: i + 1,
  })),
);

describe('heldOut', () => {
  test.prop([arbRun], { numRuns: 100 })('heldOut changes nothing but the record: every state comes out with the same fields, in order', async (states) => {
    for (const out of await outputs(heldOut<StateView>(ds, 'test', { loss: 'cross-entropy' }), states)) {
      expect(out.length).toBe(states.length);
      out.forEach((v, i) => {
        const { heldOut: _, ...rest } = v;
        expect(rest).toEqual(states[i]);
        expect(rest.network).toBe(states[i]!.network);
      });
    }
  });

  test.prop([arbRun, fc.constantFrom('validation' as const, 'test' as const)], { numRuns: 100 })(
    'the record of an epoch end equals evaluate of its network on the held-out set',
    (states, set) => {
      const out = runStage(heldOut<StateView>(ds, set, { loss: 'cross-entropy' }), states);
      let last: { epoch: number; loss: number; accuracy: number } | undefined;
      states.forEach((s, i) => {
        if (s.endOfEpoch) {
          const e = evaluate(s.network, ds, { loss: 'cross-entropy' }); // the oracle: each epoch end on its own
          last = { epoch: s.epoch, loss: e.loss, accuracy: e.accuracy };
        }
        expect(out[i]!.heldOut).toEqual(last && { ...last, set });
      });
    },
  );

  test.prop([arbRun], { numRuns: 50 })('report puts the held-out figures in the epoch events: the validation record when there is one, else the held-out one', (states) => {
    const withTest: EpochEvent[] = [];
    runStage(report({ onEpoch: (e) => withTest.push(e) }), runStage(heldOut<StateView>(ds, 'test', { loss: 'cross-entropy' }), states));
    const ends = states.filter((s) => s.endOfEpoch);
    expect(withTest.map((e) => [e.heldOutSet, e.heldOutAccuracy, e.heldOutLoss])).toEqual(
      ends.map((s) => {
        const e = evaluate(s.network, ds, { loss: 'cross-entropy' });
        return ['test', e.accuracy, e.loss];
      }),
    );
    const withValidation: EpochEvent[] = [];
    runStage(report({ onEpoch: (e) => withValidation.push(e) }), runStage(validate<StateView>(ds, { loss: 'cross-entropy' }), states));
    for (const e of withValidation) expect([e.heldOutSet, e.heldOutAccuracy, e.heldOutLoss]).toEqual(['validation', e.validationAccuracy, e.validationLoss]);
    expect(withValidation).toHaveLength(ends.length);
  });
});
