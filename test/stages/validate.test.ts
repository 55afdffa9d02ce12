import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { networksEqual } from '../../src/nn/network.js';
import type { StateView } from '../../src/optim/trainState.js';
import { evaluate } from '../../src/stages/evaluate.js';
import { runStage } from '../../src/stages/stage.js';
import { chosenNetwork, validate, type Metric } from '../../src/stages/validate.js';
import { randomDataset } from '../arb/dataset.js';
import { outputs } from '../laws/harness.js';
import { arbRun } from '../arb/run.js';

const ds = randomDataset(5, 30, 2, 2, 3);


describe('validate', () => {
  test.prop([arbRun], { numRuns: 100 })('states pass unchanged except for their validation record', async (states) => {
    for (const out of await outputs(validate<StateView>(ds, { loss: 'cross-entropy' }), states)) {
      expect(out.length).toBe(states.length);
      out.forEach((v, i) => {
        const { validation, ...rest } = v;
        expect(rest).toEqual(states[i]);
        expect(rest.network).toBe(states[i]!.network);
        if (validation) expect(validation.best.network).not.toBe(states[i]!.network); // the best is kept as a copy
      });
    }
  });

  test.prop([arbRun, fc.constantFrom<Metric>('accuracy', 'loss'), fc.constantFrom(0, 0.01, 0.1)], { numRuns: 100 })(
    'best.metric is the best validation metric seen so far (monotone), and sinceBest counts the epochs since it last improved by more than minDelta',
    (states, metric, minDelta) => {
      const out = runStage(validate<StateView>(ds, { loss: 'cross-entropy', metric, minDelta }), states);
      // the oracle: evaluate each epoch end independently and keep the best by hand
      let best: { value: number; index: number } | undefined;
      let since = 0;
      states.forEach((s, i) => {
        if (s.endOfEpoch) {
          const e = evaluate(s.network, ds, { loss: 'cross-entropy' });
          const value = metric === 'accuracy' ? e.accuracy : -e.loss;
          if (best === undefined || value > best.value + minDelta) {
            best = { value, index: i };
            since = 0;
          } else since++;
        }
        const r = out[i]!.validation;
        if (best === undefined) expect(r).toBeUndefined();
        else {
          expect(r!.sinceBest).toBe(since);
          expect(networksEqual(r!.best.network, states[best.index]!.network)).toBe(true);
          expect(metric === 'accuracy' ? r!.best.accuracy : -r!.best.loss).toBeCloseTo(best.value, 12);
        }
      });
      const last = out.at(-1)!;
      expect(chosenNetwork(last, false)).toBe(last.network);
      if (best !== undefined) expect(networksEqual(chosenNetwork(last, true), states[best.index]!.network)).toBe(true);
    },
  );
});
