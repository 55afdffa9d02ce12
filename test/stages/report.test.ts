import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { StepFinding } from '../../src/diagnostics/monitor.js';
import { initNetwork } from '../../src/nn/init.js';
import { optimizer } from '../../src/optim/optimizer.js';
import { initialTrainState, type StateView } from '../../src/optim/trainState.js';
import { report, tap, warnings, type EpochEvent, type StepEvent } from '../../src/stages/report.js';
import { compose, map } from '../../src/stages/stage.js';
import { unwrap } from '../arb/network.js';
import { outputs } from '../laws/harness.js';

const net = unwrap(initNetwork({ sizes: [2, 3, 2], hidden: 'relu', output: 'softmax' }, { kind: 'he' }, 1));
const opt = unwrap(optimizer({ kind: 'sgd', lr: 0.1 }));
const base = initialTrainState(net, opt);

const finding = fc.record({ layer: fc.nat({ max: 2 }), kind: fc.constantFrom('huge-values' as const, 'tiny-values' as const), step: fc.nat(), epoch: fc.nat(), value: fc.double() });

/** Training-like state sequences: growing counters, epoch ends, findings that accumulate. */
const arbStates: fc.Arbitrary<StateView[]> = fc
  .array(fc.record({ endOfEpoch: fc.boolean(), loss: fc.double({ min: 0, max: 5, noNaN: true }), batchSize: fc.integer({ min: 0, max: 8 }), newFindings: fc.array(finding, { maxLength: 2 }) }), { maxLength: 25 })
  .map((xs) => {
    let findings: readonly StepFinding[] = [];
    let epoch = 0;
    return xs.map((x, i) => {
      findings = [...findings, ...x.newFindings];
      const s: StateView = { ...base, step: i + 1, epoch, endOfEpoch: x.endOfEpoch, loss: x.loss, batchSize: x.batchSize, correct: Math.floor(x.batchSize / 2), examplesSeen: 8 * (i + 1), findings };
      if (x.endOfEpoch) epoch++;
      return s;
    });
  });

describe('taps', () => {
  test.prop([arbStates, fc.integer({ min: -3, max: 3 })], { numRuns: 100 })(
    'a tap is the identity on the stream: compose(tap(f), p) emits what p emits',
    async (states, k) => {
      const p = map((s: StateView) => s.step * k);
      const seen: StateView[] = [];
      expect(await outputs(compose(tap((s: StateView) => void seen.push(s)), p), states)).toEqual(await outputs(p, states));
      expect(seen.length).toBe(4 * states.length); // f ran on every item, in every adapter
    },
  );

  test.prop([arbStates, fc.integer({ min: 1, max: 4 })], { numRuns: 100 })(
    'report is the identity on the stream: it emits every state it receives, unchanged and in order',
    async (states, every) => {
      const steps: StepEvent[] = [];
      const epochs: EpochEvent[] = [];
      let t = 0;
      const stage = report<StateView>({ onStep: (e) => void steps.push(e), onEpoch: (e) => void epochs.push(e), every, clock: () => (t += 10) });
      for (const out of await outputs(stage, states)) {
        expect(out.length).toBe(states.length);
        out.forEach((s, i) => expect(s).toBe(states[i]));
      }
      // and what it reports: one epoch event per epoch end with a batch, step events every `every` steps
      const reported = states.filter((s) => s.batchSize > 0);
      expect(epochs.length).toBe(4 * reported.filter((s) => s.endOfEpoch).length);
      expect(steps.length).toBe(4 * reported.filter((s) => s.step % every === 0).length);
    },
  );

  test.prop([arbStates], { numRuns: 100 })('warnings is the identity on the stream: it emits every state it receives, unchanged and in order', async (states) => {
    const told: StepFinding[] = [];
    for (const out of await outputs(warnings<StateView>((f) => void told.push(f)), states)) {
      out.forEach((s, i) => expect(s).toBe(states[i]));
    }
    // each finding told once per run, in the order they appeared
    expect(told).toEqual([0, 1, 2, 3].flatMap(() => states.at(-1)?.findings ?? []));
  });

  it('report gives the epoch mean of the batch losses and accuracies', () => {
    const epochs: EpochEvent[] = [];
    const stage = report<StateView>({ onEpoch: (e) => void epochs.push(e), clock: () => 0 });
    let st = stage.init();
    for (const [loss, size, endOfEpoch] of [[1, 4, false], [3, 2, false], [0.5, 2, true]] as const) {
      st = stage.step(st, { ...base, loss, batchSize: size, correct: size / 2, endOfEpoch }).state;
    }
    expect(epochs).toHaveLength(1);
    expect(epochs[0]!.trainLoss).toBeCloseTo((1 * 4 + 3 * 2 + 0.5 * 2) / 8, 12);
    expect(epochs[0]!.trainAccuracy).toBe(0.5);
  });
});
