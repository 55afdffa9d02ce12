import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { StateView } from '../../src/optim/trainState.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { heldOut } from '../../src/stages/heldOut.js';
import { report, type EpochEvent } from '../../src/stages/report.js';
import { runStage } from '../../src/stages/stage.js';
import { validate } from '../../src/stages/validate.js';
import { randomDataset } from '../arb/dataset.js';
import { outputs } from '../laws/harness.js';
import { arbRun } from '../arb/run.js';

const ds = randomDataset(7, 30, 2, 2, 3);


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
